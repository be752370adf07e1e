package outbox

import (
	"time"

	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/send"
)

// MaxNote bounds the copy of the clinician's note a job keeps (Job.Note),
// in bytes: the record is read whole at every listing. The message itself
// carries the whole note.
const MaxNote = 4000

// State is where a job is in its life.
type State string

// Job states.
const (
	// Queued: waiting for its first (or a confirmed) attempt.
	Queued State = "queued"
	// Sending: an attempt is under way.
	Sending State = "sending"
	// Sent: the server accepted the message; Record.Result says how.
	Sent State = "sent"
	// Deferred: the last attempt failed temporarily; it is retried at
	// Record.NextAttempt.
	Deferred State = "deferred"
	// Failed: delivery failed for good (Record.LastError says why). The
	// message is kept until removed; Retry queues it again.
	Failed State = "failed"
	// PossiblySent: an attempt was interrupted after its commit point
	// (Record.Committed), so the server may have accepted the message. It
	// is resent only after ConfirmResend (or by policy,
	// Options.AutoResend), with the same Message-ID.
	PossiblySent State = "possibly-sent"
	// Cancelled: the user cancelled it. The message is kept until removed.
	Cancelled State = "cancelled"
)

// Job is what to send: the envelope and the identity of an already
// composed (and, when it is, signed and encrypted) message.
type Job struct {
	// Account names the stored mail account to send with ("" for the
	// default); the outbox only records it.
	Account string `json:"account,omitempty"`
	// Envelope is the SMTP envelope (MAIL FROM, RCPT TO).
	Envelope send.Envelope `json:"envelope"`
	// MessageID is the composed message's Message-ID, without angle
	// brackets. It is required: every resend reuses it.
	MessageID string `json:"message_id"`
	// Encrypted, Signed and SignerFingerprint say how the composed
	// message is protected (see send.Result); the outbox copies them into
	// the Result of every delivery.
	Encrypted         bool   `json:"encrypted,omitempty"`
	Signed            bool   `json:"signed,omitempty"`
	SignerFingerprint string `json:"signer_fingerprint,omitempty"`
	// EncryptedTo maps each recipient's lower-cased address to the
	// fingerprint (40 hex digits) of the key the message is encrypted to
	// for them, so that the delivery-time policy check can tell whether
	// the keys are still the ones the policy allows. Empty when not
	// encrypted (and in jobs queued by older versions).
	EncryptedTo map[string]string `json:"encrypted_to,omitempty"`
	// Subject (the document type), PatientNHI ("" when none) and ToNames
	// (the recipients' display names, in envelope order, "" where there
	// is none) let the sender find the message again; stored encrypted at
	// rest with the rest of the record.
	Subject    string   `json:"subject,omitempty"`
	PatientNHI string   `json:"patient_nhi,omitempty"`
	ToNames    []string `json:"to_names,omitempty"`
	// Note is the clinician's note as the message carries it ("" when
	// none), stored encrypted at rest with the rest of the record. Enqueue
	// keeps at most MaxNote bytes of it (cut between characters) and then
	// sets NoteCut: the message in the outbox holds the whole note.
	Note    string `json:"note,omitempty"`
	NoteCut bool   `json:"note_cut,omitempty"`
	// Supersedes, for a replacement or a cancellation, names the earlier
	// message it supersedes; nil for an ordinary message.
	Supersedes *Supersedes `json:"supersedes,omitempty"`
}

// Supersedes is what a job records of the earlier message it replaces or
// cancels, from that message's own outbox record, so that the Sent record
// says "Replaces the Prescription for ZZZ0016 sent at 09:30" without the
// original (which may have been removed since).
type Supersedes struct {
	// Kind is manifest.Replace or manifest.Cancel.
	Kind manifest.Kind `json:"kind"`
	// MessageID is the original's Message-ID, without angle brackets.
	MessageID string `json:"message_id"`
	// Subject (the document type) and PatientNHI are the original's.
	Subject    string `json:"subject,omitempty"`
	PatientNHI string `json:"patient_nhi,omitempty"`
	// SentAt is when the mail server accepted the original (when it was
	// queued, for one only possibly sent).
	SentAt time.Time `json:"sent_at,omitzero"`
}

// Record is a stored job with its delivery state.
type Record struct {
	// ID is the job's opaque identifier (32 hex digits).
	ID string `json:"id"`
	Job
	// Documents describes the attached documents (from the compose step).
	Documents []send.DocumentInfo `json:"documents,omitempty"`
	// Size is the composed message's size in bytes.
	Size int64 `json:"size"`
	// MessageSHA256 is the hex SHA-256 of the composed message as stored
	// (before encryption at rest). It binds the message file to this
	// record, which is what the policy is checked against at delivery: a
	// message that is not this one (a file copied over it from another
	// job) fails the delivery as damaged and is never completed. Empty in
	// jobs queued by older versions, whose messages are not compared.
	MessageSHA256 string `json:"message_sha256,omitempty"`
	State         State  `json:"state"`
	// Attempts counts delivery attempts started.
	Attempts int       `json:"attempts"`
	Created  time.Time `json:"created"`
	// Since starts the MaxAge window: Created, or the last Retry or
	// ConfirmResend.
	Since       time.Time `json:"since"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// NextAttempt is when a queued or deferred job is due.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// LastError is the reason of the last failure, deferral or
	// interruption, in plain words with the server's reply.
	LastError string `json:"last_error,omitempty"`
	// Result is the transmission result once sent (Documents filled in).
	Result *send.Result `json:"result,omitempty"`
	// ResendConfirmed is set by ConfirmResend.
	ResendConfirmed bool `json:"resend_confirmed,omitempty"`
	// TracksCommit is set when an attempt starts by a version that
	// records its commit point (Committed); a job found in sending
	// without it (left by an older version) is possibly sent.
	TracksCommit bool `json:"tracks_commit,omitempty"`
	// Committed is when the attempt under way reached its commit point:
	// the whole message was written and the end of data (the final "."
	// or BDAT LAST) was about to go out. Zero until then; an attempt
	// found interrupted before it is retried automatically, one
	// interrupted after it is possibly sent.
	Committed time.Time `json:"committed,omitzero"`
}

// Done reports whether the job needs nothing more from the outbox
// (sent, failed, cancelled).
func (r *Record) Done() bool {
	return r.State == Sent || r.State == Failed || r.State == Cancelled
}
