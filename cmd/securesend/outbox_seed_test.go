package main

import (
	"context"
	"io"
	"net/mail"
	"time"

	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// outboxEnqueue seeds the home's outbox with m composed by compose (e.g.
// send.Compose: unprotected), as a job for the named account, bypassing
// the send journey: the tests of the outbox commands need jobs of every
// kind.
func outboxEnqueue(ctx context.Context, e *env, m *send.Message, account string,
	compose func(io.Writer, *send.Message) ([]send.DocumentInfo, error), opts outbox.Options) (*outbox.Outbox, string, error) {
	d, err := openDesk(e)
	if err != nil {
		return nil, "", err
	}
	h, kc := d.Home(), d.Keychain()
	key, err := kc.Key("outbox")
	if err != nil {
		return nil, "", err
	}
	if opts.Audit == nil {
		if opts.Audit, err = d.Audit(); err != nil {
			return nil, "", err
		}
	}
	ob, err := outbox.Open(h.Path("outbox"), key, opts)
	if err != nil {
		return nil, "", err
	}
	if m.MessageID == "" {
		if m.MessageID, err = send.NewMessageID("example.org"); err != nil {
			return nil, "", err
		}
	}
	if m.Date.IsZero() {
		m.Date = time.Now()
	}
	job := outbox.Job{Account: account, MessageID: m.MessageID, Envelope: send.Envelope{From: m.From.Address}}
	for _, a := range append(append([]mail.Address(nil), m.To...), m.Cc...) {
		job.Envelope.To = append(job.Envelope.To, a.Address)
	}
	id, err := ob.Enqueue(ctx, job, func(w io.Writer) ([]send.DocumentInfo, error) { return compose(w, m) })
	return ob, id, err
}
