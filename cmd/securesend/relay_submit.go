package main

import (
	"context"
	"errors"

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
	m := &send.Message{Subject: matchDocType(sub.Subject)} // From: the account's address
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
