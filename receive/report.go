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

	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/internal/winname"
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
	// SenderMismatch: a good signature from a pinned key, but the key is
	// not bound to the From address, the message names more than one
	// sender, or two different keys are pinned for the From address.
	SenderMismatch Verdict = "sender-mismatch"
	// NotAddressed: a good signature from the pinned key of the sender,
	// but the signed recipients (protected To and Cc) include none of the
	// user's addresses: the message was signed for someone else and may
	// have been forwarded or replayed.
	NotAddressed Verdict = "not-addressed-to-you"
)

// Releasable reports whether anything from inside a message with this
// verdict may be shown or stored as openable (the note, the documents, the
// protected header fields). It is false only for CannotDecrypt and
// BadSignature (and the zero Verdict): their content failed an integrity
// check.
func (v Verdict) Releasable() bool {
	return v != CannotDecrypt && v != BadSignature && v != ""
}

// Colour is the banner colour of the verdict: "green" for Verified,
// "amber" for UnknownSigner, NotSigned and NotAddressed (authentic-looking
// but unproven for this recipient: check before acting), "red" for
// BadSignature, CannotDecrypt and SenderMismatch (do not act on it).
func (v Verdict) Colour() string {
	switch v {
	case Verified:
		return "green"
	case UnknownSigner, NotSigned, NotAddressed:
		return "amber"
	}
	return "red"
}

// SignedFields says which header fields shown in a Report were covered by
// a good signature (RFC 9788 header protection in the signed part).
type SignedFields struct {
	From      bool `json:"from"`
	To        bool `json:"to"`
	Cc        bool `json:"cc"`
	Subject   bool `json:"subject"`
	Date      bool `json:"date"`
	MessageID bool `json:"message_id"`
}

// HeaderField is one header field of a message.
type HeaderField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

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
	// From, To, Cc, Subject, Date and MessageID are the header fields to
	// show. When the message carries protected header fields (RFC 9788:
	// the "hp" parameter, or the legacy protected-headers="v1", on the
	// cryptographic payload), they come from there and the unprotected
	// outer ones are ignored (see Unprotected); otherwise they are the
	// outer ones. Signed says which of them a good signature covers. For
	// CannotDecrypt and BadSignature they are always the outer ones.
	// MessageID alone falls back to the outer field when the protected
	// ones lack it (it identifies the message, it is not content).
	//
	// From is the lower-case address of the From field.
	From string   `json:"from"`
	To   []string `json:"to,omitempty"`
	Cc   []string `json:"cc,omitempty"`
	// Subject is the subject to show (see From).
	Subject string `json:"subject"`
	// SubjectSigned is Signed.Subject, kept for older callers.
	SubjectSigned bool      `json:"subject_signed"`
	MessageID     string    `json:"message_id,omitempty"`
	Date          time.Time `json:"date,omitempty"`
	// DispositionNotificationTo is the address a signed acknowledgement
	// is asked for at (RFC 8098 Disposition-Notification-To), set only
	// when a good signature covers the field (protected header section)
	// and it names exactly one address; "" otherwise.
	DispositionNotificationTo string `json:"disposition_notification_to,omitempty"`
	// Signed says which of the fields above a good signature covers; a
	// field not signed must be shown labelled "not protected by the
	// signature" beside any verdict.
	Signed SignedFields `json:"signed"`
	// Unprotected lists header field values that no signature covers and
	// that differ from (or are absent among) the fields shown, such as an
	// outer Subject that differs from the signed one. Show them only
	// labelled "not protected by the signature".
	Unprotected []HeaderField `json:"unprotected,omitempty"`
	// Note is the text/plain note, as text (never HTML). Empty when
	// Withheld.
	Note string `json:"note,omitempty"`
	// Documents are the documents released to the DocumentSink, after the
	// verdict. Empty when Withheld.
	Documents []Document `json:"documents"`
	// Omitted lists parts that were not shown, in plain language
	// (e.g. "HTML part not displayed").
	Omitted []string `json:"omitted,omitempty"`
	// Withheld: the verdict is not Releasable, so the note, the documents
	// and the protected header fields were withheld (nothing reached the
	// DocumentSink). Remarks says why.
	Withheld bool `json:"withheld,omitempty"`
	// Impostor: the message claims a sender for whom the user pinned a
	// different key than the one that signed it. Reason starts with
	// "WARNING"; show it in red whatever the verdict.
	Impostor bool `json:"impostor,omitempty"`
	// Remarks are further plain-language notes for the pharmacist, e.g.
	// that the signature does not say whom the message was for.
	Remarks []string `json:"remarks,omitempty"`
	// Manifest is the message's signed manifest (docs/manifest.md): the
	// patient NHI, document type and prescriber to show, and the
	// documents' hashes (Manifest.SHA256s) for duplicate detection. It is
	// set only when the verdict is Releasable, a signature securesend
	// could check (by a key in the store, or one the message carries:
	// the Verdict says which) covers the manifest, and it agrees with the
	// message (Message-ID, signed To/Cc, every document's name, type,
	// size and SHA-256); a manifest that disagrees makes the verdict
	// BadSignature. Nil for a message without one (other mail programs;
	// see Remarks). Its strings are validated (no control, bidi or
	// invisible characters) but, like every field, still pass through
	// termsafe before reaching a terminal.
	Manifest *manifest.Manifest `json:"manifest,omitempty"`
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

// DocumentSink receives the content of each document of a message. name is
// already sanitized. It returns where it stored the content ("" if it
// stored nothing). Verify calls it only after the final verdict is known,
// and only when the verdict is Releasable: documents are staged (encrypted
// at rest with a key that exists only in memory) while the message is
// read, then replayed to the sink. A sink must consume r; an error reading
// r means the staged copy was damaged, and the sink must discard what it
// wrote. The verdict may still be UnknownSigner, NotSigned, NotAddressed or
// SenderMismatch: callers decide what to do with those.
type DocumentSink func(name, contentType string, r io.Reader) (path string, err error)

// SanitizeName turns a file name from a message into one that is safe to
// join to a directory: no directory components, no control, bidi or line
// separator characters, no characters Windows forbids (so no ":" for
// alternate data streams), no leading dots, no trailing dots or spaces,
// not a Windows reserved device name in any disguise ("NUL.tar.gz",
// "CON .pdf", "COM¹.pdf", "CONIN$"), at most 200 bytes. The checks apply
// to the name as shortened, so that cutting a long name cannot make one of
// them true again ("NUL" + 300 spaces + "x.pdf" is not "NUL.pdf"). An
// empty result becomes "document".
func SanitizeName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), unicode.In(r, unicode.Zl, unicode.Zp):
			continue
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	name = shorten(strings.Trim(b.String(), " ."), 200)
	if name == "" {
		return "document"
	}
	if winname.Reserved(name) {
		name = shorten("_"+name, 200)
	}
	return name
}

// shorten cuts name to at most limit bytes at a rune boundary, keeping a
// short extension, and trims the spaces and dots the cut leaves at the
// end of the stem. name has no leading space or dot, so the result is
// not empty when name is not.
func shorten(name string, limit int) string {
	if len(name) <= limit {
		return name
	}
	ext := filepath.Ext(name)
	if len(ext) > 20 {
		ext = ""
	}
	cut := limit - len(ext)
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return strings.TrimRight(name[:cut], " .") + ext
}

// DirSink returns a DocumentSink that writes each document into dir (which
// must exist) under its sanitized name, never overwriting: when the name is
// taken it tries "name (2).ext", "name (3).ext", and so on. The content is
// first written (mode 0600, O_EXCL) to a hidden temporary file
// ".securesend-*.part" in dir, synced, and only then linked to its final
// name, so that a program watching dir never sees a partial file under a
// final name. The temporary file is removed on every path.
func DirSink(dir string) DocumentSink {
	return func(name, _ string, r io.Reader) (string, error) {
		name = SanitizeName(name)
		tmp, err := os.CreateTemp(dir, ".securesend-*.part")
		if err != nil {
			return "", fmt.Errorf("receive: extract %s: %w", name, err)
		}
		defer os.Remove(tmp.Name())
		if _, err := io.Copy(tmp, r); err != nil {
			tmp.Close()
			return "", fmt.Errorf("receive: extract %s: %w", name, err)
		}
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return "", fmt.Errorf("receive: extract %s: %w", name, err)
		}
		if err := tmp.Close(); err != nil {
			return "", fmt.Errorf("receive: extract %s: %w", name, err)
		}
		ext := filepath.Ext(name)
		stem := strings.TrimSuffix(name, ext)
		for i := 1; i < 10000; i++ {
			candidate := name
			if i > 1 {
				candidate = fmt.Sprintf("%s (%d)%s", stem, i, ext)
			}
			path := filepath.Join(dir, candidate)
			err := publish(tmp.Name(), path)
			if errors.Is(err, os.ErrExist) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("receive: extract %s: %w", candidate, err)
			}
			return path, nil
		}
		return "", fmt.Errorf("receive: extract %s: too many files with that name", name)
	}
}

// publish gives the complete file tmp the name path without ever replacing
// an existing file: a hard link fails if path exists (os.ErrExist). Where
// the file system has no hard links, it falls back to a rename after
// checking that path is free (a program racing to create path in that
// instant could have its file replaced).
func publish(tmp, path string) error {
	err := os.Link(tmp, path)
	if err == nil || errors.Is(err, os.ErrExist) {
		return err
	}
	var le *os.LinkError
	if !errors.As(err, &le) {
		return err
	}
	if _, serr := os.Lstat(path); serr == nil {
		return os.ErrExist
	} else if !errors.Is(serr, os.ErrNotExist) {
		return serr
	}
	return os.Rename(tmp, path)
}
