package receive

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Verdict is the one-word outcome of verifying a received message. Its
// string value is the stable token used in JSON output.
type Verdict string

// The verdicts. Exactly one applies to every message.
const (
	// Verified: decrypted if encrypted, good signature from a pinned key
	// whose user ID matches From, covering every displayed part.
	Verified Verdict = "verified"
	// UnknownSigner: a good signature from a key that is not pinned (or not
	// in the key store at all). Report.SignerFingerprint says which key.
	UnknownSigner Verdict = "unknown-signer"
	// NotSigned: the message carries no signature.
	NotSigned Verdict = "not-signed"
	// BadSignature: a signature is present but does not verify (altered
	// content, corrupt signature, parts outside the signed entity, or a
	// malformed PGP/MIME structure).
	BadSignature Verdict = "bad-signature"
	// CannotDecrypt: the message is encrypted and cannot be decrypted with
	// the user's key (wrong key, no key, tampered ciphertext).
	CannotDecrypt Verdict = "cannot-decrypt"
	// SenderMismatch: a good signature from a pinned key, but none of the
	// key's user IDs carries the From address.
	SenderMismatch Verdict = "sender-mismatch"
)

// Report is the result of verifying one message.
type Report struct {
	Verdict Verdict `json:"verdict"`
	// Reason is a plain-language explanation for the banner.
	Reason    string `json:"reason"`
	Encrypted bool   `json:"encrypted"`
	// SignerFingerprint is the signing key's primary fingerprint, upper-case
	// hex without spaces; "" if there is no (readable) signature.
	SignerFingerprint string `json:"signer_fingerprint"`
	// SignerUserID is the user ID of the signing key that matched (or the
	// primary one), "" if unknown.
	SignerUserID string `json:"signer_user_id,omitempty"`
	// SignerKey is the armored public key of an UnknownSigner that the
	// message carried (Autocrypt header) and that made the good signature:
	// after the user compares SignerFingerprint with the sender, it can be
	// imported pinned (pgp.Store.Import with Pin). "" otherwise.
	SignerKey string `json:"signer_key,omitempty"`
	// From is the address from the From header (the protected one when the
	// message is encrypted and carries protected headers).
	From string `json:"from"`
	// Subject is the protected subject when encrypted, else the outer one.
	Subject string `json:"subject"`
	// SubjectSigned reports that Subject came from inside the signed (or
	// encrypted and signed) content (header protection). When false on a
	// Verified message, the Subject was not covered by the signature:
	// show it as unverified.
	SubjectSigned bool      `json:"subject_signed"`
	MessageID     string    `json:"message_id,omitempty"`
	Date          time.Time `json:"date,omitempty"`
	// Note is the text/plain note, as text (never HTML).
	Note      string     `json:"note,omitempty"`
	Documents []Document `json:"documents"`
	// Omitted lists parts that were not shown, in plain language
	// (e.g. "HTML part not displayed").
	Omitted []string `json:"omitted,omitempty"`

	reportContract // contract shim (h-front only): delete on merge
}

// Document is one attachment of a received message.
type Document struct {
	// Name is the sanitized file name, safe to join to a directory.
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	// SHA256 is the hex SHA-256 of the decoded content.
	SHA256 string `json:"sha256"`
	// Path is where the DocumentSink wrote the content, if any.
	Path string `json:"path,omitempty"`
}

// DocumentSink receives the content of each document as it is parsed. name
// is already sanitized. It returns where it stored the content ("" if it
// stored nothing). A sink must consume r; what it writes before the verdict
// is known may belong to a message that turns out not Verified, so callers
// show the verdict next to the files (or extract to a staging directory).
type DocumentSink func(name, contentType string, r io.Reader) (path string, err error)

// SanitizeName turns a file name from a message into one that is safe to
// join to a directory: no directory components, no control or bidi
// override characters, no characters Windows forbids, no leading dots, not
// a reserved device name, at most 200 bytes. An empty result becomes
// "document".
func SanitizeName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r):
			continue
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	name = strings.Trim(b.String(), " .")
	if name == "" {
		return "document"
	}
	base := strings.ToUpper(strings.TrimSuffix(name, filepath.Ext(name)))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		name = "_" + name
	}
	if len(name) > 200 {
		ext := filepath.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}
		cut := 200 - len(ext)
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + ext
	}
	return name
}

// DirSink returns a DocumentSink that writes each document into dir (which
// must exist) under its sanitized name, never overwriting: when the name is
// taken it tries "name (2).ext", "name (3).ext", and so on. Files are
// created with mode 0600.
func DirSink(dir string) DocumentSink {
	return func(name, _ string, r io.Reader) (string, error) {
		name = SanitizeName(name)
		ext := filepath.Ext(name)
		stem := strings.TrimSuffix(name, ext)
		for i := 1; i < 10000; i++ {
			candidate := name
			if i > 1 {
				candidate = fmt.Sprintf("%s (%d)%s", stem, i, ext)
			}
			path := filepath.Join(dir, candidate)
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, os.ErrExist) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("receive: extract %s: %w", candidate, err)
			}
			if _, err := io.Copy(f, r); err != nil {
				f.Close()
				os.Remove(path)
				return "", fmt.Errorf("receive: extract %s: %w", candidate, err)
			}
			if err := f.Close(); err != nil {
				return "", fmt.Errorf("receive: extract %s: %w", candidate, err)
			}
			return path, nil
		}
		return "", fmt.Errorf("receive: extract %s: too many files with that name", name)
	}
}
