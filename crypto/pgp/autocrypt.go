package pgp

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
)

// maxAutocrypt bounds the Autocrypt header value that is parsed.
const maxAutocrypt = 64 << 10

// AutocryptHeader returns the value of an Autocrypt header field (Autocrypt
// Level 1) carrying the public key for addr, folded into CRLF + space
// continuation lines. It lets a recipient who has never seen the key check
// the signature and, after comparing the fingerprint, pin the key.
func (k *PublicKey) AutocryptHeader(addr string) (string, error) {
	var raw bytes.Buffer
	if err := k.entity.Serialize(&raw); err != nil {
		return "", fmt.Errorf("pgp: autocrypt: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString(raw.Bytes())
	var b strings.Builder
	fmt.Fprintf(&b, "addr=%s; keydata=", normalizeAddress(addr))
	for i := 0; i < len(enc); i += 76 {
		b.WriteString("\r\n ")
		b.WriteString(enc[i:min(i+76, len(enc))])
	}
	return b.String(), nil
}

// ParseAutocrypt reads an Autocrypt header value: it returns the address
// and the key, which must carry that address in a user ID. Unknown
// critical attributes (names not starting with "_") make it invalid, as
// the specification requires.
func ParseAutocrypt(value string) (addr string, key *PublicKey, err error) {
	if len(value) > maxAutocrypt {
		return "", nil, fmt.Errorf("pgp: autocrypt header too large: %w", ErrBadKey)
	}
	var keydata string
	for _, attr := range strings.Split(value, ";") {
		name, val, _ := strings.Cut(strings.TrimSpace(attr), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "addr":
			addr = normalizeAddress(strings.TrimSpace(val))
		case "keydata":
			keydata = strings.Join(strings.Fields(val), "")
		case "prefer-encrypt", "":
		default:
			if !strings.HasPrefix(name, "_") {
				return "", nil, fmt.Errorf("pgp: autocrypt: unknown attribute %q: %w", name, ErrBadKey)
			}
		}
	}
	if addr == "" || keydata == "" {
		return "", nil, fmt.Errorf("pgp: autocrypt: missing addr or keydata: %w", ErrBadKey)
	}
	raw, err := base64.StdEncoding.DecodeString(keydata)
	if err != nil {
		return "", nil, fmt.Errorf("pgp: autocrypt: keydata: %w", ErrBadKey)
	}
	k, err := ReadPublicKey(bytes.NewReader(raw))
	if err != nil {
		return "", nil, err
	}
	if !k.HasEmail(addr) {
		return "", nil, fmt.Errorf("pgp: autocrypt key for %s: %w", addr, ErrAddressNotInKey)
	}
	return addr, k, nil
}
