package pgp

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// Fingerprint is a key's primary fingerprint as upper-case hex without
// spaces (40 digits for v4 keys).
type Fingerprint string

// ParseFingerprint accepts a fingerprint with or without spaces, in either
// case, optionally prefixed with "0x".
func ParseFingerprint(s string) (Fingerprint, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if len(s) != 40 && len(s) != 64 {
		return "", fmt.Errorf("pgp: %q is not a fingerprint (40 or 64 hex digits)", s)
	}
	if _, err := hex.DecodeString(s); err != nil {
		return "", fmt.Errorf("pgp: %q is not a fingerprint (40 or 64 hex digits)", s)
	}
	return Fingerprint(s), nil
}

func fingerprintOf(b []byte) Fingerprint {
	return Fingerprint(strings.ToUpper(hex.EncodeToString(b)))
}

// String returns the plain hex form.
func (f Fingerprint) String() string { return string(f) }

// Grouped returns the fingerprint in blocks of four digits with an extra
// space in the middle, as GnuPG prints it:
// "ABCD 1234 ABCD 1234 ABCD  1234 ABCD 1234 ABCD 1234".
func (f Fingerprint) Grouped() string {
	var b strings.Builder
	s := string(f)
	groups := (len(s) + 3) / 4
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
			if i/4 == groups/2 {
				b.WriteByte(' ')
			}
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}
