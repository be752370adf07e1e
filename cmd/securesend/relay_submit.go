package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/securesend/securesend/relay"
)

// relaySubmitter is the relay's relay.Submitter: it queues a device's
// documents the way 'securesend send --account NAME --encrypt always
// --queue-only' does (the policy gate, signing and encryption, the
// encrypted outbox, the audit log), through queueSend. Relay recipients
// always have a directory or pinned key, so the message is always
// encrypted. The subject is the document type when it names one, else
// docType.
type relaySubmitter struct {
	e       *env
	account string
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
	f := sendFlags{account: s.account, encrypt: "always", minTLS: "1.2", timeout: 2 * time.Minute}
	if f.subject = matchDocType(sub.Subject); f.subject == "" {
		f.subject = s.docType
	}
	for _, r := range sub.Recipients {
		f.to = append(f.to, r.Address)
	}
	for _, d := range sub.Documents {
		f.docs = append(f.docs, d.Path)
	}
	e := *s.e
	e.stdin = strings.NewReader("") // nothing is read: the account signs in
	_, id, _, err := queueSend(ctx, &e, &f, "")
	if err != nil {
		var refused *sendRefused
		if errors.As(err, &refused) {
			return "", &relay.Refusal{Reason: strings.TrimPrefix(refused.msg, "send: "), Err: err}
		}
		return "", err
	}
	if s.queued != nil {
		s.queued(id)
	}
	return id, nil
}
