package audit

import (
	"fmt"
	"slices"
	"time"
)

// Kind names what happened.
type Kind string

// Event kinds.
const (
	// SendAttempt: a delivery attempt of an outbox job starts.
	SendAttempt Kind = "send.attempt"
	// SendSent: the server accepted the message.
	SendSent Kind = "send.sent"
	// SendFailed: the job failed for good (5xx, too old, cancelled...).
	SendFailed Kind = "send.failed"
	// SendDeferred: a temporary failure; the job will be retried.
	SendDeferred Kind = "send.deferred"
	// SendPossiblySent: a job was found interrupted during delivery; the
	// server may have accepted it.
	SendPossiblySent Kind = "send.possibly_sent"
	// SendInterrupted: a job was found interrupted during delivery before
	// its commit point (the end of data never went out, so the server
	// discarded the message); it is queued again and retried.
	SendInterrupted Kind = "send.interrupted"
	// SendQueued: a job was written to the outbox.
	SendQueued Kind = "send.queued"
	// ReceiveVerified: a received message was verified (any verdict).
	ReceiveVerified Kind = "receive.verified"
	// SendCancellation: a cancellation or replacement of a sent message
	// was queued (message_id the new one, old the original, state the
	// kind: cancel or replace).
	SendCancellation Kind = "send.cancellation"
	// ReceiveSuperseded: a received message was marked cancelled or
	// replaced by a later one from the same signer.
	ReceiveSuperseded Kind = "receive.superseded"
	// ReceiveSupersedeRefused: a received cancellation or replacement
	// changed nothing (another signer, not verified).
	ReceiveSupersedeRefused Kind = "receive.supersede_refused"
	// InboxIndexTrusted: the user accepted an older copy of the inbox's
	// index (put back from a backup) as the one to continue from.
	InboxIndexTrusted Kind = "receive.index_trusted"
	// AckSent: an acknowledgement (received, accepted or rejected) of a
	// received message was queued to its verified sender.
	AckSent Kind = "ack.sent"
	// AckReceived: a verified acknowledgement of a sent message was
	// matched to its outbox job.
	AckReceived Kind = "ack.received"
	// AckIgnored: an acknowledgement was not counted (not verified, not
	// from a recipient, no such message, other documents); reason says
	// why.
	AckIgnored Kind = "ack.ignored"
	// KeyImport: an OpenPGP key was imported.
	KeyImport Kind = "key.import"
	// KeyPin: a key was pinned (or unpinned) for an address.
	KeyPin Kind = "key.pin"
	// AccountChange: a mail account was added, changed or removed.
	AccountChange Kind = "account.change"
	// PolicyChange: a security policy setting changed.
	PolicyChange Kind = "policy.change"
	// WatchSettled: a person said what became of a document the inbox
	// watch possibly printed (state: printed or reprint).
	WatchSettled Kind = "watch.settled"
	// Break is written by Append itself when the file did not end where the
	// keychain head said; Verify reports it.
	Break Kind = "audit.break"
	// Keyed is written by Append itself before its first entry in a log
	// that an older securesend wrote without a key: the entries before it
	// are legacy (hash chain only), it and every entry after it carry a
	// MAC.
	Keyed Kind = "audit.keyed"
)

// Fields are an event's details. Keys must be among FieldNames; values are
// addresses, ids, hashes, fingerprints, verdicts, replies — never content.
type Fields map[string]string

// Event is what a caller appends.
type Event struct {
	Kind Kind
	// Time is when it happened; the log's clock when zero.
	Time   time.Time
	Fields Fields
}

// fieldNames is the allow-list of field keys, in CSV column order.
var fieldNames = [...]string{
	"job", "account", "from", "to", "message_id", "sha256", "size",
	"server", "tls", "requiretls", "reply", "queue_id", "attempt",
	"next_attempt", "reason", "verdict", "signer", "fingerprint",
	"key_uid", "address", "setting", "old", "new", "actor", "state",
	"expected_seq", "expected_hash", "found_seq", "found_hash",
}

// FieldNames returns the field keys an Event may use, in the order Export
// writes them as CSV columns. To log something new, add a name here after
// checking it can never hold patient content or a secret.
func FieldNames() []string { return slices.Clone(fieldNames[:]) }

func (ev Event) validate() error {
	if ev.Kind == "" {
		return fmt.Errorf("audit: event without a kind")
	}
	for k := range ev.Fields {
		if !slices.Contains(fieldNames[:], k) {
			return fmt.Errorf("audit: field %q is not allowed in the audit log (see audit.FieldNames)", k)
		}
	}
	return nil
}
