package desk

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// mailSide is where a Desk's send journeys get their parts: the policy,
// the key store, the accounts and the outbox. A Desk over its home uses
// the home's (homeSide); a demo Desk (OpenDemo) the demo mail system's.
type mailSide interface {
	policy(tighten profile.UserSettings) (profile.Policy, error)
	keys() (*pgp.Store, error)
	accounts() *account.Store
	openOutbox(notify func(outbox.Record)) (*outbox.Outbox, error)
	// send submits a message (send.Submit but in tests).
	send(ctx context.Context, opts send.Options, env send.Envelope, body io.Reader) (*send.Result, error)
}

func (d *Desk) side() mailSide {
	if d.mail != nil {
		return d.mail
	}
	return homeSide{d}
}

// homeSide is the home's: the organisation profile and security.toml, the
// home's key store and accounts, home/outbox keyed in the keychain and
// audited.
type homeSide struct{ d *Desk }

func (h homeSide) policy(t profile.UserSettings) (profile.Policy, error) {
	pol, _, err := h.d.Policy(t)
	return pol, err
}

func (h homeSide) keys() (*pgp.Store, error) { return h.d.Keys() }
func (h homeSide) accounts() *account.Store  { return h.d.Accounts() }

func (h homeSide) send(ctx context.Context, opts send.Options, env send.Envelope, body io.Reader) (*send.Result, error) {
	return send.Submit(ctx, opts, env, body)
}

func (h homeSide) openOutbox(notify func(outbox.Record)) (*outbox.Outbox, error) {
	key, err := h.d.kc.Key("outbox")
	if err != nil {
		return nil, err
	}
	l, err := h.d.Audit()
	if err != nil {
		return nil, err
	}
	return outbox.Open(h.d.home.Path("outbox"), key, outbox.Options{Audit: l, Notify: notify})
}

// OutboxOptions say how an Outbox reports and delivers.
type OutboxOptions struct {
	// Notify, when set, is called after every change of a job (see
	// outbox.Options.Notify).
	Notify func(outbox.Record)
	// Via is how Deliver, RunDue and Watch deliver jobs queued without an
	// account (jobs queued with one always use their own). When it names
	// a server or an account, Outbox checks it against the policy in
	// force now before anything is read (the server's password last).
	Via Via
}

// Outbox is a Desk's outbox: where Send queues and Deliver sends, with the
// use cases on its jobs (list, show, retry, confirm, cancel, remove). Every
// message in it is composed, protected and encrypted at rest.
type Outbox struct {
	d   *Desk
	ob  *outbox.Outbox
	via Via
}

// Outbox opens the Desk's outbox.
func (d *Desk) Outbox(opts OutboxOptions) (*Outbox, error) {
	ob, err := d.side().openOutbox(opts.Notify)
	if err != nil {
		return nil, fmt.Errorf("outbox: %s", strings.TrimPrefix(err.Error(), "outbox: "))
	}
	o := &Outbox{d: d, ob: ob, via: opts.Via}
	if err := o.checkVia(); err != nil {
		return nil, err
	}
	return o, nil
}

// Via is how this Outbox delivers.
func (o *Outbox) Via() Via { return o.via }

// List lists the jobs, oldest first.
func (o *Outbox) List() ([]*outbox.Record, error) { return o.ob.List() }

// Get returns job id.
func (o *Outbox) Get(id JobID) (*outbox.Record, error) { return o.ob.Get(id) }

// Retry queues a deferred, failed or cancelled job again, due now.
func (o *Outbox) Retry(id JobID) (*outbox.Record, error) { return o.ob.Retry(id) }

// ConfirmResend queues a possibly-sent job again: the user checked with
// the recipient.
func (o *Outbox) ConfirmResend(id JobID) (*outbox.Record, error) { return o.ob.ConfirmResend(id) }

// Cancel stops delivering a job; its message is kept.
func (o *Outbox) Cancel(id JobID) (*outbox.Record, error) { return o.ob.Cancel(id) }

// Remove deletes a sent, failed or cancelled job and its message.
func (o *Outbox) Remove(id JobID) error { return o.ob.Remove(id) }

// Resolve finds the job whose id is arg or starts with arg (6 or more
// characters).
func (o *Outbox) Resolve(arg string) (JobID, error) {
	if len(arg) == 32 {
		return arg, nil
	}
	if len(arg) < 6 {
		return "", fmt.Errorf("job id %q is too short; give at least 6 characters", arg)
	}
	recs, err := o.ob.List()
	if err != nil {
		return "", err
	}
	var found []string
	for _, r := range recs {
		if strings.HasPrefix(r.ID, strings.ToLower(arg)) {
			found = append(found, r.ID)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no job %s in the outbox", arg)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("job id %q is ambiguous; give more characters", arg)
}

// Queue is Send of m with the Outbox's Via and encryption where possible
// (the app's Send button).
func (o *Outbox) Queue(ctx context.Context, m *send.Message) (JobID, error) {
	return o.Send(ctx, Draft{Message: m, Via: o.via})
}

// FindMessage returns the job of the message with the given Message-ID
// ("" when there is none): a caller that may queue the same message again
// after a crash (the hot folder) looks for it first.
func (o *Outbox) FindMessage(messageID string) (JobID, error) {
	recs, err := o.ob.List()
	if err != nil {
		return "", err
	}
	for _, r := range recs {
		if r.MessageID == messageID {
			return r.ID, nil
		}
	}
	return "", nil
}
