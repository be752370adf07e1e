package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/relay"
	"github.com/securesend/securesend/send"
)

// relaySubmitter is the relay's relay.Submitter: desk's Send journey (the
// policy gate, signing and encryption, the encrypted outbox, the audit
// log) as 'securesend send --account NAME --encrypt always --queue-only'
// does it. Relay recipients always have a directory or pinned key, so the
// message is always encrypted. The subject is the document type when it
// names one, else docType.
type relaySubmitter struct {
	outbox  *desk.Outbox
	via     desk.Via
	docType string
	// queued, when set, is told the id of every job queued (to start its
	// delivery).
	queued func(id string)
}

var _ relay.Submitter = (*relaySubmitter)(nil)

// Submit implements relay.Submitter. A refusal of the message itself
// (the policy, a missing key) is a *relay.Refusal; anything else (the
// keychain, the outbox, the account store) is temporary.
func (s *relaySubmitter) Submit(ctx context.Context, sub relay.Submission) (string, error) {
	m := &send.Message{Subject: relay.MatchDocType(relayDocTypes, sub.Subject)} // From: the account's address
	if m.Subject == "" {
		m.Subject = s.docType
	}
	for _, r := range sub.Recipients {
		addr, err := parseAddrs("recipient", []string{r.Address})
		if err != nil {
			return "", &relay.Refusal{Reason: "recipient " + r.Address + " is not an e-mail address", Err: err}
		}
		m.To = append(m.To, addr...)
	}
	for _, d := range sub.Documents {
		m.Documents = append(m.Documents, send.Document{Path: d.Path, Name: d.Name, ContentType: d.ContentType})
	}
	id, err := s.outbox.Send(ctx, desk.Draft{Message: m, Via: s.via, Encrypt: send.EncryptAlways})
	if err != nil {
		var refused *desk.Refused
		if errors.As(err, &refused) {
			return "", &relay.Refusal{Reason: refused.Error(), Err: err}
		}
		return "", err
	}
	if s.queued != nil {
		s.queued(id)
	}
	return id, nil
}

var _ relay.JobFinder = (*relaySubmitter)(nil)

// FindJob implements relay.JobFinder: the job queued at or after since to
// exactly the recipients to with exactly the documents sums (any order),
// or "". The relay asks after a crash left a message it was queueing
// unrecorded, so that the device's resend is not queued twice.
func (s *relaySubmitter) FindJob(_ context.Context, to, sums []string, since time.Time) (string, error) {
	recs, err := s.outbox.List()
	if err != nil {
		return "", err
	}
	want := func(l []string) []string {
		out := make([]string, len(l))
		for i, v := range l {
			out[i] = strings.ToLower(strings.TrimSpace(v))
		}
		slices.Sort(out)
		return out
	}
	wantTo, wantSums := want(to), want(sums)
	for _, r := range recs {
		if r.Created.Before(since) {
			continue
		}
		got := make([]string, len(r.Documents))
		for i, d := range r.Documents {
			got[i] = d.SHA256
		}
		if slices.Equal(want(r.Envelope.To), wantTo) && slices.Equal(want(got), wantSums) {
			return r.ID, nil
		}
	}
	return "", nil
}
