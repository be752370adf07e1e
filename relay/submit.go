package relay

import (
	"context"
	"errors"
	"fmt"
)

// Submitter queues an accepted message durably (the encrypted outbox) for
// signing, encryption and delivery. The relay answers 250 only after Submit
// returned without error.
type Submitter interface {
	// Submit queues s and returns the job's id. A *Refusal is a permanent
	// refusal of the message (the device shows it, 554); any other error
	// is temporary (451: the device tries again later, nothing is lost).
	// The documents' files are removed after Submit returns: a Submitter
	// that keeps them must copy them (the outbox does, encrypted).
	Submit(ctx context.Context, s Submission) (jobID string, err error)
}

// SubmitterFunc is a Submitter as a function.
type SubmitterFunc func(ctx context.Context, s Submission) (string, error)

// Submit calls f.
func (f SubmitterFunc) Submit(ctx context.Context, s Submission) (string, error) { return f(ctx, s) }

// Submission is one message a device sent, ready to be queued.
type Submission struct {
	// Device is the name the device signed in with.
	Device string
	// Source is the device's network address (IP:port).
	Source string
	// TLS is the negotiated TLS version ("TLS 1.3"), or "none" for a
	// device allowed to send in plain text.
	TLS string
	// Recipients are the resolved recipients, in the order given.
	Recipients []Recipient
	// Subject is the message's subject, made safe (one line, printable),
	// possibly empty. Scanners put "Scan from MFD" and the like there: the
	// Submitter decides what of it to use (a document type).
	Subject string
	// Documents are the scanned documents, each checked by doccheck, in
	// a private (0700) folder of this message.
	Documents []Document
	// MessageID is the device's Message-ID (printable ASCII, without
	// angle brackets), "" when it sent none.
	MessageID string
}

// Recipient is a resolved envelope recipient.
type Recipient struct {
	// Requested is the address the device gave (an alias, perhaps).
	Requested string
	// Address is the directory's or the pinned key's address.
	Address string
	// Name is the directory's display name, if any.
	Name string
}

// Document is one checked document of a Submission.
type Document struct {
	// Path is the file in the message's private folder.
	Path string
	// Name is the file name (made safe), as the device named it or one the
	// relay gave it.
	Name string
	// ContentType is the type doccheck found (not the one the device
	// claimed).
	ContentType string
	// Size is the file's size in bytes.
	Size int64
	// SHA256 is the file's SHA-256, lower-case hex.
	SHA256 string
}

// Resolver maps an envelope recipient to a recipient the relay may send
// to: a directory entry or an address with a pinned key, directly or by
// an alias. It returns an error wrapping ErrUnknownRecipient for anyone
// else.
type Resolver interface {
	Resolve(addr string) (Recipient, error)
}

// ResolverFunc is a Resolver as a function.
type ResolverFunc func(addr string) (Recipient, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(addr string) (Recipient, error) { return f(addr) }

// ErrUnknownRecipient: the address is neither a directory entry, nor a
// pinned recipient, nor an alias of one.
var ErrUnknownRecipient = errors.New("not a directory or pinned recipient")

// Refusal is a permanent refusal of a Submission by the Submitter (for
// example the organisation's policy). Reason is shown on the device's
// screen: plain words, no secrets.
type Refusal struct {
	Reason string
	Err    error
}

func (r *Refusal) Error() string {
	if r.Err != nil {
		return fmt.Sprintf("%s: %v", r.Reason, r.Err)
	}
	return r.Reason
}

// Unwrap returns the underlying error.
func (r *Refusal) Unwrap() error { return r.Err }
