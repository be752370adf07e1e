package desk

import (
	"context"
	"errors"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/securesend/securesend/relay"
	"github.com/securesend/securesend/send"
)

// RelaySubmitter is the relay's relay.Submitter and relay.JobFinder over
// an Outbox: the Send journey (the policy gate, signing and encryption,
// the encrypted outbox, the audit log) as 'securesend send --account NAME
// --encrypt always --queue-only' takes it. Relay recipients always have a
// directory or pinned key, so the message is always encrypted.
type RelaySubmitter struct {
	// Outbox queues the messages; its Via sends them.
	Outbox *Outbox
	// DocType is the subject when the device's subject names no type of
	// DocumentTypes.
	DocType string
	// Queued, when set, is told the id of every job queued (the relay
	// starts its delivery with Run.Deliver).
	Queued func(JobID)
}

var (
	_ relay.Submitter = (*RelaySubmitter)(nil)
	_ relay.JobFinder = (*RelaySubmitter)(nil)
)

// Submit implements relay.Submitter. A refusal of the message itself
// (a recipient that is not an address, the policy, a missing key) is a
// *relay.Refusal; anything else (the keychain, the outbox, the account
// store) is temporary.
func (s *RelaySubmitter) Submit(ctx context.Context, sub relay.Submission) (JobID, error) {
	m := &send.Message{Subject: relay.MatchDocType(DocumentTypes, sub.Subject)} // From: the account's address
	if m.Subject == "" {
		m.Subject = s.DocType
	}
	for _, r := range sub.Recipients {
		list, err := mail.ParseAddressList(r.Address)
		if err != nil {
			return "", &relay.Refusal{Reason: "recipient " + r.Address + " is not an e-mail address", Err: err}
		}
		for _, a := range list {
			m.To = append(m.To, *a)
		}
	}
	for _, d := range sub.Documents {
		m.Documents = append(m.Documents, send.Document{Path: d.Path, Name: d.Name, ContentType: d.ContentType})
	}
	id, err := s.Outbox.Send(ctx, Draft{Message: m, Via: s.Outbox.Via(), Encrypt: send.EncryptAlways})
	if err != nil {
		var refused *Refused
		if errors.As(err, &refused) {
			return "", &relay.Refusal{Reason: refused.Error(), Err: err}
		}
		return "", err
	}
	if s.Queued != nil {
		s.Queued(id)
	}
	return id, nil
}

// FindJob implements relay.JobFinder: the job queued at or after since to
// exactly the recipients to with exactly the documents sums (any order,
// any case), or "". The relay asks after a crash left a message it was
// queueing unrecorded, so that the device's resend is not queued twice.
func (s *RelaySubmitter) FindJob(_ context.Context, to, sums []string, since time.Time) (JobID, error) {
	recs, err := s.Outbox.List()
	if err != nil {
		return "", err
	}
	norm := func(l []string) []string {
		out := make([]string, len(l))
		for i, v := range l {
			out[i] = strings.ToLower(strings.TrimSpace(v))
		}
		slices.Sort(out)
		return out
	}
	wantTo, wantSums := norm(to), norm(sums)
	for _, r := range recs {
		if r.Created.Before(since) {
			continue
		}
		got := make([]string, len(r.Documents))
		for i, d := range r.Documents {
			got[i] = d.SHA256
		}
		if slices.Equal(norm(r.Envelope.To), wantTo) && slices.Equal(norm(got), wantSums) {
			return r.ID, nil
		}
	}
	return "", nil
}
