package desk

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// Sending a cancellation or a replacement (issue 16): a message whose
// signed manifest names an earlier message this outbox sent (Supersedes),
// filled from the outbox record of that message, never from what the
// caller says the original held. The receiver applies it only when it is
// signed by the key that signed the original (receive.Supersession).

// ErrUnknownOriginal is wrapped when the Message-ID to cancel or replace
// is not that of a message in this outbox.
var ErrUnknownOriginal = errors.New("no message with this Message-ID was sent from this outbox")

// maxReason bounds a cancellation's reason (it travels as the note).
const maxReason = 2000

// original returns the outbox record of the message with messageID that a
// cancellation or replacement may name: the latest one sent (or possibly
// sent) with that Message-ID. Another state is refused with what to do
// instead: a message that never left can be cancelled in the outbox.
func (o *Outbox) original(messageID string) (*outbox.Record, error) {
	id := strings.Trim(strings.TrimSpace(messageID), "<>")
	if id == "" {
		return nil, &Refused{msg: "no Message-ID given: name the message to cancel or replace by its Message-ID (see 'securesend outbox list')", Err: ErrUnknownOriginal}
	}
	recs, err := o.ob.List()
	if err != nil {
		return nil, err
	}
	var found, other *outbox.Record
	for _, r := range recs {
		if r.MessageID != id {
			continue
		}
		if r.State == outbox.Sent || r.State == outbox.PossiblySent {
			found = r // the latest wins: List is oldest first
		} else {
			other = r
		}
	}
	if found != nil {
		if len(found.Documents) == 0 {
			return nil, &Refused{msg: fmt.Sprintf("message %s is itself a cancellation; it cannot be cancelled or replaced", id)}
		}
		return found, nil
	}
	if other != nil {
		return nil, &Refused{msg: fmt.Sprintf("message %s has not been sent (it is %s in the outbox, job %s): stop it there with 'securesend outbox cancel %s' instead",
			id, other.State, other.ID[:8], other.ID[:8])}
	}
	return nil, &Refused{msg: fmt.Sprintf("message %s: %v; only a message sent from this securesend can be cancelled or replaced", id, ErrUnknownOriginal), Err: ErrUnknownOriginal}
}

// supersedes fills m.Supersedes for a draft that replaces dr.Replaces, or
// completes the one a cancellation set, from the original's outbox record:
// its Message-ID and its documents' hashes. The new message must be from
// the original's sender and go to every one of its recipients (else the
// recipient left out keeps the original as current). It returns the
// original's record, nil for an ordinary message.
func (o *Outbox) supersedes(dr Draft) (*outbox.Record, error) {
	m := dr.Message
	var kind manifest.Kind
	var id string
	switch {
	case dr.Replaces != "" && m.Supersedes != nil:
		return nil, &Refused{msg: "a message cannot both replace and cancel another"}
	case dr.Replaces != "":
		kind, id = manifest.Replace, dr.Replaces
	case m.Supersedes != nil:
		kind, id = m.Supersedes.Kind, m.Supersedes.MessageID
	default:
		return nil, nil
	}
	rec, err := o.original(id)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(m.From.Address, rec.Envelope.From) {
		return nil, &Refused{msg: fmt.Sprintf("message %s was sent by %s; only its sender can cancel or replace it (this message is from %s)", rec.MessageID, rec.Envelope.From, m.From.Address)}
	}
	to := map[string]bool{}
	for _, a := range append(append([]mail.Address(nil), m.To...), m.Cc...) {
		to[strings.ToLower(a.Address)] = true
	}
	var missing []string
	for _, a := range rec.Envelope.To {
		if !to[strings.ToLower(a)] {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		return nil, &Refused{msg: fmt.Sprintf("message %s also went to %s; a replacement must go to every recipient of the original, or they keep the original as current", rec.MessageID, strings.Join(missing, ", "))}
	}
	s := &manifest.Supersedes{MessageID: rec.MessageID, Kind: kind}
	for _, d := range rec.Documents {
		s.SHA256s = append(s.SHA256s, d.SHA256)
	}
	m.Supersedes = s
	return rec, nil
}

// supersededBy is what the job of m records of the original orig it
// replaces or cancels (nil for an ordinary message): its Message-ID, and
// its document type, patient and time, so that the Sent record names it
// in words.
func supersededBy(orig *outbox.Record, m *send.Message) *outbox.Supersedes {
	if orig == nil || m.Supersedes == nil {
		return nil
	}
	return &outbox.Supersedes{Kind: m.Supersedes.Kind, MessageID: orig.MessageID,
		Subject: orig.Subject, PatientNHI: orig.PatientNHI, SentAt: finishedAt(orig)}
}

// finishedAt is when the mail server accepted r (Result.Finished), or
// when r was queued until then.
func finishedAt(r *outbox.Record) time.Time {
	if r.Result != nil && !r.Result.Finished.IsZero() {
		return r.Result.Finished
	}
	return r.Created
}

// checkSupersedeSigner refuses a cancellation or replacement that would be
// signed by another key than its original: the recipient would refuse it.
func checkSupersedeSigner(orig *outbox.Record, signer string) error {
	if orig == nil || orig.SignerFingerprint == "" || strings.EqualFold(orig.SignerFingerprint, signer) {
		return nil
	}
	return &Refused{msg: fmt.Sprintf("message %s was signed with your key %s, which is not the key this message would be signed with (%s); the recipient accepts a cancellation or replacement only from the key that signed the original",
		orig.MessageID, orig.SignerFingerprint, signer)}
}

// auditSupersede records a cancellation or replacement queued: the new
// Message-ID, the original's (field old), the kind (field state) and the
// original's document hashes; not the reason (content).
func (d *Desk) auditSupersede(m *send.Message, job JobID) {
	if m.Supersedes == nil {
		return
	}
	f := audit.Fields{"message_id": m.MessageID, "old": m.Supersedes.MessageID,
		"state": string(m.Supersedes.Kind), "sha256": strings.Join(m.Supersedes.SHA256s, " "), "job": job}
	if err := d.record(audit.SendCancellation, f); err != nil {
		d.warn(fmt.Errorf("the audit log could not record the %s of %s: %w", m.Supersedes.Kind, m.Supersedes.MessageID, err))
	}
}

// Cancel sends a cancellation of the message with messageID that this
// Desk's outbox sent: a signed message (encrypted by the same policy rules,
// and always when the original was) to the original's recipients, from
// its sender, with no documents, reason as its note and a manifest whose
// Supersedes (kind cancel) names the original and its documents' hashes.
// It goes through the original's account. The job is queued, not
// delivered: deliver it like any other (Outbox.Deliver).
func (d *Desk) Cancel(ctx context.Context, messageID, reason string) (JobID, error) {
	o, err := d.Outbox(OutboxOptions{})
	if err != nil {
		return "", err
	}
	return o.SendCancellation(ctx, messageID, reason)
}

// SendCancellation is Desk.Cancel into this outbox: a job queued without
// an account goes out through the Outbox's Via.
func (o *Outbox) SendCancellation(ctx context.Context, messageID, reason string) (JobID, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return "", &Refused{msg: "give the reason for the cancellation: the pharmacist sees it in red on the cancelled message"}
	}
	if len(reason) > maxReason {
		return "", &Refused{msg: fmt.Sprintf("the reason is longer than %d characters; keep it short and phone the pharmacy for the details", maxReason)}
	}
	rec, err := o.original(messageID)
	if err != nil {
		return "", err
	}
	m := &send.Message{
		From:         mail.Address{Address: rec.Envelope.From},
		Subject:      "CANCELLED: " + subjectOf(rec),
		Note:         reason,
		DocumentType: "cancellation",
		PatientNHI:   rec.PatientNHI,
		Supersedes:   &manifest.Supersedes{MessageID: rec.MessageID, Kind: manifest.Cancel},
	}
	for i, a := range rec.Envelope.To {
		name := ""
		if i < len(rec.ToNames) {
			name = rec.ToNames[i]
		}
		m.To = append(m.To, mail.Address{Name: name, Address: a})
	}
	via := o.via
	if rec.Account != "" {
		via = Via{Account: rec.Account, Tighten: o.via.Tighten, Timeout: o.via.Timeout}
	} else if via.Account == "" && via.InUse == nil && via.Server == nil {
		return "", &Refused{msg: fmt.Sprintf("message %s was sent through a server given by hand, not an account; give the account to send the cancellation with (securesend cancel --account NAME)", rec.MessageID)}
	}
	enc := send.EncryptAuto
	if rec.Encrypted {
		enc = send.EncryptAlways // never less protected than what it cancels
	}
	return o.Send(ctx, Draft{Message: m, Via: via, Encrypt: enc})
}

// subjectOf is the subject of rec for a cancellation's, "a message" when
// it had none.
func subjectOf(rec *outbox.Record) string {
	s := strings.TrimSpace(rec.Subject)
	if s == "" {
		return "a message"
	}
	for len(s) > 450 { // room for "CANCELLED: " within a subject's 500 bytes
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}
