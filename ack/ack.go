// Package ack composes and parses securesend's acknowledgements: RFC 8098
// message disposition notifications (MDNs) that a receiver sends back to
// the verified sender of a message, signed and encrypted inside PGP/MIME
// like every securesend message (docs/acknowledgements.md).
//
// An acknowledgement is one multipart/report entity
// (report-type=disposition-notification, RFC 6522) with three parts:
//
//  1. text/plain: a sentence for people and other mail programs;
//  2. message/disposition-notification: the RFC 8098 fields Reporting-UA,
//     Final-Recipient, Original-Message-ID and Disposition;
//  3. application/vnd.securesend.ack+json: securesend's own part (the
//     kind, the pharmacist's reason, the verdict the receiver gave the
//     original, and the original manifest's document hashes).
//
// The three kinds map onto RFC 8098 dispositions as follows:
//
//	received  automatic-action/MDN-sent-automatically; processed
//	accepted  manual-action/MDN-sent-manually; processed
//	rejected  manual-action/MDN-sent-manually; deleted
//
// "processed" is RFC 8098's "the message has been processed in some
// manner ... without being displayed" (securesend verified and stored it);
// "deleted" is the closest standard disposition to a pharmacist's refusal
// (the message will not be acted on). The JSON part says which of
// accepted or rejected it is; Parse refuses a JSON kind that disagrees
// with the standard Disposition, so a reader of either part learns the
// same thing.
//
// The package only encodes and parses, with strict bounds; whether an
// acknowledgement is authentic (the PGP/MIME signature of the pinned key
// of the original's recipient) is the receiver's judgement (desk).
package ack

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/securesend/securesend/internal/fieldform"
	"github.com/securesend/securesend/internal/manifest"
)

// Kind is what an acknowledgement says about the original message.
type Kind string

// The kinds of acknowledgement.
const (
	// Received: the message was received, decrypted and Verified by the
	// recipient's securesend (sent automatically).
	Received Kind = "received"
	// Accepted: the recipient (the pharmacist) accepted it.
	Accepted Kind = "accepted"
	// Rejected: the recipient rejected it; Receipt.Reason says why.
	Rejected Kind = "rejected"
)

// Valid reports whether k is one of the three kinds.
func (k Kind) Valid() bool { return k == Received || k == Accepted || k == Rejected }

// Manual reports whether k is a person's decision (accepted or rejected).
func (k Kind) Manual() bool { return k == Accepted || k == Rejected }

// Media types and names of the parts.
const (
	// MediaType is the Content-Type of securesend's own part.
	MediaType = "application/vnd.securesend.ack+json"
	// NotificationType is the Content-Type of the RFC 8098 part.
	NotificationType = "message/disposition-notification"
	// ReportType is the report-type parameter of the multipart/report.
	ReportType = "disposition-notification"
	// ReportingUA is the product token of the Reporting-UA field.
	ReportingUA = "securesend"
	// Version is the version of the JSON part this package writes and
	// reads.
	Version = 1
)

// Limits on what is written and read.
const (
	// MaxReason bounds a rejection's reason, in bytes.
	MaxReason = 500
	// MaxDocuments bounds the documents listed.
	MaxDocuments = 100
	// MaxNotification bounds the message/disposition-notification part.
	MaxNotification = 8 << 10
	// MaxJSON bounds the JSON part.
	MaxJSON = 64 << 10
	// MaxText bounds the text/plain part.
	MaxText = 16 << 10
	// MaxEntity bounds the whole multipart/report entity.
	MaxEntity = MaxNotification + MaxJSON + MaxText + 8<<10

	maxVerdict = 64
)

// ErrInvalid is wrapped by every error about the content of an
// acknowledgement.
var ErrInvalid = errors.New("not a valid securesend acknowledgement")

// Error says which field of an acknowledgement is wrong. Its text never
// quotes the field's value (content from a message).
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "acknowledgement: " + e.Reason
	}
	return "acknowledgement: " + e.Field + " " + e.Reason
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

func invalid(field, format string, a ...any) error {
	return &Error{Field: field, Reason: fmt.Sprintf(format, a...)}
}

// Receipt is one acknowledgement.
type Receipt struct {
	// OriginalMessageID is the Message-ID of the acknowledged message,
	// without angle brackets.
	OriginalMessageID string
	// Kind is received, accepted or rejected.
	Kind Kind
	// Reason is the pharmacist's reason; required for Rejected, optional
	// for Accepted, empty for Received. One line of text.
	Reason string
	// Verdict is the verdict the receiver gave the original ("verified":
	// securesend acknowledges nothing else).
	Verdict string
	// Documents are the original's documents as its manifest (or, without
	// one, the receiver's own hashing) lists them.
	Documents []manifest.Document
	// FinalRecipient is the address of the receiver that acknowledges.
	FinalRecipient string
	// Time is when the acknowledgement was made (whole seconds, UTC).
	Time time.Time
}

// Disposition is the RFC 8098 Disposition field value of kind k.
func Disposition(k Kind) (string, error) {
	switch k {
	case Received:
		return "automatic-action/MDN-sent-automatically; processed", nil
	case Accepted:
		return "manual-action/MDN-sent-manually; processed", nil
	case Rejected:
		return "manual-action/MDN-sent-manually; deleted", nil
	}
	return "", invalid("kind", "is not received, accepted or rejected")
}

// Validate checks every field of r and returns an *Error naming the first
// that is wrong.
func (r *Receipt) Validate() error {
	if err := checkMessageID("original message id", r.OriginalMessageID); err != nil {
		return err
	}
	if !r.Kind.Valid() {
		return invalid("kind", "is not received, accepted or rejected")
	}
	if err := checkText("reason", r.Reason, MaxReason); err != nil {
		return err
	}
	switch {
	case r.Kind == Rejected && strings.TrimSpace(r.Reason) == "":
		return invalid("reason", "is required for a rejection")
	case r.Kind == Received && r.Reason != "":
		return invalid("reason", "is given only with accepted or rejected")
	}
	if r.Verdict == "" || len(r.Verdict) > maxVerdict {
		return invalid("verdict", "is missing or too long")
	}
	for i := 0; i < len(r.Verdict); i++ {
		if c := r.Verdict[i]; !(c >= 'a' && c <= 'z' || c == '-') {
			return invalid("verdict", "is not a verdict such as \"verified\"")
		}
	}
	if len(r.Documents) > MaxDocuments {
		return invalid("documents", "lists more than %d documents", MaxDocuments)
	}
	for i, d := range r.Documents {
		f := fmt.Sprintf("documents[%d]", i)
		if err := checkText(f+".name", d.Name, 255); err != nil {
			return err
		}
		if d.Name == "" {
			return invalid(f+".name", "is missing")
		}
		if err := checkText(f+".content_type", d.ContentType, 200); err != nil {
			return err
		}
		if d.Size < 0 {
			return invalid(f+".size", "is negative")
		}
		if err := checkSHA256(f+".sha256", d.SHA256); err != nil {
			return err
		}
	}
	if err := checkAddress("final recipient", r.FinalRecipient); err != nil {
		return err
	}
	if r.Time.IsZero() {
		return invalid("time", "is missing")
	}
	return nil
}

// SHA256s are the documents' hashes, in order.
func (r *Receipt) SHA256s() []string {
	out := make([]string, len(r.Documents))
	for i, d := range r.Documents {
		out[i] = d.SHA256
	}
	return out
}

// checkText refuses invalid UTF-8, control, bidi and invisible characters
// and values over max bytes (fieldform.Text).
func checkText(field, s string, max int) error {
	return formError(field, fieldform.Text(s, max))
}

// checkMessageID: printable ASCII local@domain without spaces, angle
// brackets or quotes (fieldform.MessageID).
func checkMessageID(field, id string) error {
	return formError(field, fieldform.MessageID(id))
}

// checkAddress: a lower-case ASCII local@domain (fieldform.Address).
func checkAddress(field, a string) error {
	return formError(field, fieldform.Address(a))
}

// checkSHA256: 64 lower-case hex digits (fieldform.SHA256).
func checkSHA256(field, s string) error {
	return formError(field, fieldform.SHA256(s))
}

// formError is the *Error about field for an error of fieldform, nil for
// nil.
func formError(field string, err error) error {
	if err == nil {
		return nil
	}
	return invalid(field, "%v", err)
}
