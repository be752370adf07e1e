package receive

import (
	"io"
	"time"
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
	// From is the address from the From header (the protected one when the
	// message is encrypted and carries protected headers).
	From string `json:"from"`
	// Subject is the protected subject when encrypted, else the outer one.
	Subject   string    `json:"subject"`
	MessageID string    `json:"message_id,omitempty"`
	Date      time.Time `json:"date,omitempty"`
	// Note is the text/plain note, as text (never HTML).
	Note      string     `json:"note,omitempty"`
	Documents []Document `json:"documents"`
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
