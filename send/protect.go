package send

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgpmime"
)

// PlaceholderSubject is the outer Subject of an encrypted message: "[...]",
// as RFC 9788's baseline header confidentiality policy (hcp_baseline)
// obscures it; the real one travels inside the encrypted part.
const PlaceholderSubject = "[...]"

// Protection says how ComposeProtected protects a message.
type Protection struct {
	// Signer is the sender's unlocked key. Nil sends the message plain
	// (neither signed nor encrypted).
	Signer *pgp.Key
	// Recipients are the keys to encrypt to, one per To/Cc address.
	Recipients []*pgp.PublicKey
	// Encrypt selects multipart/encrypted (signed and encrypted) instead
	// of multipart/signed. It needs Signer and Recipients.
	Encrypt bool
}

// EncryptMode is the --encrypt policy of securesend send.
type EncryptMode string

const (
	// EncryptAlways refuses to send unless every recipient has a usable
	// key (and the sender has a key to sign with): nothing leaves.
	EncryptAlways EncryptMode = "always"
	// EncryptAuto encrypts when every recipient has a usable key, and only
	// signs otherwise.
	EncryptAuto EncryptMode = "auto"
	// EncryptNever only signs.
	EncryptNever EncryptMode = "never"
)

// ParseEncryptMode parses "always", "auto" or "never".
func ParseEncryptMode(s string) (EncryptMode, error) {
	switch m := EncryptMode(strings.ToLower(strings.TrimSpace(s))); m {
	case EncryptAlways, EncryptAuto, EncryptNever:
		return m, nil
	}
	return "", fmt.Errorf("send: --encrypt must be always, auto or never, not %q", s)
}

// ErrNoRecipientKey is wrapped by *MissingKeysError.
var ErrNoRecipientKey = errors.New("not every recipient has a usable OpenPGP key, and encryption is required, so nothing was sent")

// ErrNoSenderKey: encryption is required but the sender has no key to sign
// with.
var ErrNoSenderKey = errors.New("encryption is required but you have no OpenPGP key of your own; create one with 'securesend keys generate'")

// ErrSignerNotSender: the signing key has no user ID with the From
// address, so every recipient would see "sender mismatch".
var ErrSignerNotSender = errors.New("your OpenPGP key is not for the From address, so recipients could not verify the message; use the key made for that address")

// MissingKeysError lists the recipients without a usable key and why
// (pgp.ErrNotFound, pgp.ErrExpired, pgp.ErrRevoked...).
type MissingKeysError struct {
	Missing map[string]error
}

func (e *MissingKeysError) Error() string {
	addrs := make([]string, 0, len(e.Missing))
	for a := range e.Missing {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	var b strings.Builder
	b.WriteString("send: ")
	b.WriteString(ErrNoRecipientKey.Error())
	b.WriteString(":")
	for _, a := range addrs {
		reason := "no key"
		switch err := e.Missing[a]; {
		case errors.Is(err, pgp.ErrRevoked):
			reason = "key revoked"
		case errors.Is(err, pgp.ErrExpired):
			reason = "key expired"
		case errors.Is(err, pgp.ErrNotUsable):
			reason = "key cannot encrypt"
		}
		fmt.Fprintf(&b, " %s (%s);", a, reason)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap returns ErrNoRecipientKey.
func (e *MissingKeysError) Unwrap() error { return ErrNoRecipientKey }

// KeyLookup finds the key to encrypt to an address; *pgp.Store implements
// it. It returns an error wrapping pgp.ErrNotFound, pgp.ErrExpired,
// pgp.ErrRevoked or pgp.ErrNotUsable when there is no usable key.
type KeyLookup interface {
	Lookup(addr string) (*pgp.PublicKey, pgp.Entry, error)
}

// PlanProtection applies the --encrypt policy to m: with signer (nil when
// the user has no key) and the recipients' keys from keys, it returns the
// Protection to pass to ComposeProtected, or an error when the policy
// forbids sending (EncryptAlways without a key for every To/Cc address,
// *MissingKeysError; or without a signer, ErrNoSenderKey) or the signer's
// key is not for m.From (ErrSignerNotSender).
func PlanProtection(m *Message, mode EncryptMode, signer *pgp.Key, keys KeyLookup) (Protection, error) {
	if mode == "" {
		mode = EncryptAuto
	}
	if signer == nil {
		if mode == EncryptAlways {
			return Protection{}, ErrNoSenderKey
		}
		return Protection{}, nil
	}
	if !signer.Public().HasEmail(m.From.Address) {
		return Protection{}, fmt.Errorf("send: key %s, From %s: %w", signer.Public().Fingerprint().Grouped(), m.From.Address, ErrSignerNotSender)
	}
	p := Protection{Signer: signer}
	if mode == EncryptNever {
		return p, nil
	}
	missing := map[string]error{}
	for _, r := range append(append([]mail.Address{}, m.To...), m.Cc...) {
		a := r.Address
		if keys == nil {
			missing[a] = pgp.ErrNotFound
			continue
		}
		k, _, err := keys.Lookup(a)
		if err != nil {
			missing[a] = err
			continue
		}
		p.Recipients = append(p.Recipients, k)
	}
	switch {
	case len(missing) == 0 && len(p.Recipients) > 0:
		p.Encrypt = true
		return p, nil
	case mode == EncryptAlways:
		return Protection{}, &MissingKeysError{Missing: missing}
	default:
		p.Recipients = nil
		return p, nil
	}
}

// ComposeProtected writes the complete message m protected as p says:
//   - no Signer: exactly Compose;
//   - Signer only: the outer header with the real Subject and a
//     multipart/signed entity (RFC 3156) over WriteContent's entity;
//   - Encrypt: the outer header with PlaceholderSubject and a
//     multipart/encrypted entity holding WriteContent's entity, signed and
//     encrypted to the recipients and the sender, with one difference: the
//     documents inside travel as their exact bytes
//     (Content-Transfer-Encoding: binary, RFC 3156 section 6.2 signs the
//     binary Literal Data packet), not base64, compressed only when
//     samples of them compress (binaryCompression).
//
// In both protected forms the inner entity (the Cryptographic Payload)
// carries the real Date, From, To, Cc, Subject and Message-Id, and its
// Content-Type hp="clear" (signed) or hp="cipher" (encrypted, with
// HP-Outer fields recording the outer header) per RFC 9788, plus
// protected-headers="v1" for older readers; the outer header carries an
// Autocrypt field with the sender's public key. Documents are
// streamed from disk through the signer/encryptor, never held whole.
func ComposeProtected(w io.Writer, m *Message, p Protection) ([]DocumentInfo, error) {
	if p.Signer == nil {
		return Compose(w, m)
	}
	mm := *m
	if mm.Date.IsZero() {
		mm.Date = time.Now()
	}
	outer, protected, err := headerBlocks(&mm, p.Encrypt)
	if err != nil {
		return nil, err
	}
	// Encrypted, the documents travel in binary inside the OpenPGP message
	// (compose.go: writeContent, binaryCompression); signed only, base64.
	comp := pgpmime.CompressHuffman
	if p.Encrypt {
		if comp, err = binaryCompression(mm.Documents); err != nil {
			return nil, err
		}
	}
	var infos []DocumentInfo
	err = writeProtected(w, &mm, p, outer, protected, func(pw io.Writer) error {
		var err error
		infos, err = writeContent(pw, &mm, p.Encrypt)
		return err
	}, p.Encrypt, comp)
	return infos, err
}

// ComposeProtectedEntity is ComposeProtected with content, instead of
// WriteContent, writing the Cryptographic Payload's MIME entity (its own
// Content-Type header, a blank line, the body; CRLF, 7-bit): the form of
// an acknowledgement (package ack). m's documents are not written; p must
// have a Signer. The protected header section is m's, as for every
// message.
func ComposeProtectedEntity(w io.Writer, m *Message, p Protection, content func(io.Writer) error) error {
	if p.Signer == nil {
		return errors.New("send: a protected entity needs a signer")
	}
	mm := *m
	if mm.Date.IsZero() {
		mm.Date = time.Now()
	}
	outer, protected, err := headerBlocks(&mm, p.Encrypt)
	if err != nil {
		return err
	}
	return writeProtected(w, &mm, p, outer, protected, content, false, pgpmime.CompressHuffman)
}

// writeProtected writes the outer header block, the Autocrypt field and
// the signed (or signed and encrypted) entity whose payload is the
// protected header section followed by what content writes: with binary,
// in its final form, binary parts included, and compressed as comp says
// (encrypted only; pgpmime.Options).
func writeProtected(w io.Writer, mm *Message, p Protection, outer, protected []byte, body func(io.Writer) error, binary bool, comp pgpmime.Compression) error {
	hp := pgpmime.HPClear
	if p.Encrypt {
		hp = pgpmime.HPCipher
	}
	content := func(cw io.Writer) error {
		pw := pgpmime.ProtectHeaders(cw, protected, hp)
		if err := body(pw); err != nil {
			return err
		}
		return pw.Close()
	}
	opts := pgpmime.Options{Signer: p.Signer, Recipients: p.Recipients, Binary: binary, Compression: comp}
	if p.Encrypt {
		if len(p.Recipients) == 0 {
			return errors.New("send: encryption requested without recipient keys")
		}
		if _, err := w.Write(outer); err != nil {
			return err
		}
		if err := writeAutocrypt(w, mm, p.Signer); err != nil {
			return err
		}
		if err := pgpmime.WriteEncrypted(w, opts, content); err != nil {
			return fmt.Errorf("send: encrypt: %w", err)
		}
		return nil
	}
	if _, err := w.Write(outer); err != nil {
		return err
	}
	if err := writeAutocrypt(w, mm, p.Signer); err != nil {
		return err
	}
	if err := pgpmime.WriteSigned(w, opts, content); err != nil {
		return fmt.Errorf("send: sign: %w", err)
	}
	return nil
}

// writeAutocrypt writes the Autocrypt header field (Autocrypt Level 1) with
// the signer's public key, so a recipient who does not have it yet can
// check the signature and, after comparing the fingerprint, pin it.
func writeAutocrypt(w io.Writer, m *Message, signer *pgp.Key) error {
	v, err := signer.Public().AutocryptHeader(m.From.Address)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	_, err = io.WriteString(w, "Autocrypt: "+v+"\r\n")
	return err
}

// SendProtected validates m, gives it a Message-ID if it has none, and
// streams ComposeProtected(m, p) into Submit through a pipe (nothing is
// buffered whole). Use PlanProtection to get p from the --encrypt policy;
// when it returns an error, call nothing: no byte must leave. A zero p
// sends m unprotected (Send). The envelope recipients are To and Cc.
func SendProtected(ctx context.Context, opts Options, m *Message, p Protection) (*Result, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	msg := *m
	if msg.MessageID == "" {
		id, err := NewMessageID(domainOf(msg.From.Address))
		if err != nil {
			if id, err = NewMessageID(""); err != nil {
				return nil, err
			}
		}
		msg.MessageID = id
	}
	if msg.Date.IsZero() {
		msg.Date = time.Now()
		if opts.Now != nil {
			msg.Date = opts.Now()
		}
	}
	env := Envelope{From: msg.From.Address, Size: protectedSizeBound(&msg, p)}
	for _, a := range append(append([]mail.Address{}, msg.To...), msg.Cc...) {
		env.To = append(env.To, a.Address)
	}
	pr, pw := io.Pipe()
	var (
		infos []DocumentInfo
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		var err error
		infos, err = ComposeProtected(pw, &msg, p)
		pw.CloseWithError(err) // nil: the reader sees io.EOF
	}()
	res, err := Submit(ctx, opts, env, pr)
	pr.CloseWithError(errSubmitEnded)
	<-done
	fill := func(r *Result) {
		if r != nil {
			r.MessageID = msg.MessageID
			r.Documents = infos
			r.SetProtection(p)
		}
	}
	fill(res)
	var se *Error
	if errors.As(err, &se) && se.Result != res {
		fill(se.Result)
	}
	return res, err
}

// protectedSizeBound bounds the size of ComposeProtected's output: the
// plain bound (all of it when p is zero), plus the signature and protected
// headers, times the armor's 4/3 base64 and line-break overhead when
// encrypted.
func protectedSizeBound(m *Message, p Protection) int64 {
	n := sizeBound(m)
	if n == 0 || p.Signer == nil {
		return n
	}
	n += 8192
	if p.Encrypt {
		n = n*4/3*78/76 + 8192
	}
	return n
}
