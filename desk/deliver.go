package desk

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/securesend/securesend/gate"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// Deliver makes one delivery attempt of job id now, through the policy
// gate in force at this moment (gate.Guard): a job the current policy
// forbids (its recipients, its missing encryption, the server or account)
// fails with the reasons and nothing is sent. A job goes out through its
// own account (its options read at every attempt, so OAuth tokens
// refresh), else through the Outbox's Via; the connection is raised to the
// policy's TLS floor. progress, when set, is called with the bytes written.
func (o *Outbox) Deliver(ctx context.Context, id JobID, progress func(sent int64)) (*outbox.Record, error) {
	return o.ob.Deliver(ctx, id, o.submitter(progress))
}

// RunDue delivers every job that is due, as Deliver does, and returns the
// records of those it tried.
func (o *Outbox) RunDue(ctx context.Context) ([]*outbox.Record, error) {
	return o.ob.RunDue(ctx, o.submitter(nil))
}

// Watch delivers jobs as they become due, as Deliver does, looking for new
// ones every poll (a minute when zero), until ctx is done; report gets
// each error of a round.
func (o *Outbox) Watch(ctx context.Context, poll time.Duration, report func(error)) error {
	if poll <= 0 {
		poll = time.Minute
	}
	return o.ob.Watch(ctx, o.submitter(nil), poll, report)
}

// checkVia checks the Outbox's Via against the policy in force now: a
// tampered or missing profile stops, and a server the policy refuses is
// refused before its password is read; then the server's own settings
// (CA file, password) are read, so a mistake shows before any delivery.
func (o *Outbox) checkVia() error {
	v := o.via
	if v.Server == nil && v.Account == "" {
		return nil
	}
	pol, err := o.d.side().policy(v.Tighten)
	if err != nil {
		return err
	}
	if v.Server == nil {
		return nil
	}
	r, err := routeOf(nil, v)
	if err != nil {
		return err
	}
	if err := gate.New(pol, nil).CheckRoute(r); err != nil {
		return policyRefusal(err)
	}
	_, err = serverOptions(v)
	return err
}

// submitter is the outbox.SubmitFunc of every delivery from this Outbox:
// gate.Guard with the policy in force at each attempt, the job's route,
// and only then the route's secrets.
func (o *Outbox) submitter(progress func(int64)) outbox.SubmitFunc {
	v, side := o.via, o.d.side()
	current := func() (*gate.Gate, error) {
		pol, err := side.policy(v.Tighten)
		if err != nil {
			return nil, err
		}
		return gate.New(pol, nil), nil
	}
	route := func(_ context.Context, job outbox.Record) (gate.Route, error) {
		notHere := fmt.Errorf("this message was queued by 'securesend send --server' from %s; deliver it with 'securesend outbox run'", job.Envelope.From)
		name := job.Account
		if name == "" {
			name = v.Account
		}
		switch {
		case name == "" && v.InUse != nil:
			a, err := o.d.routeAccount(Via{InUse: v.InUse}, "")
			if err != nil || !strings.EqualFold(job.Envelope.From, a.Email) {
				return gate.Route{}, notHere
			}
			return gate.AccountRoute(a), nil
		case name == "" && v.Server == nil:
			return gate.Route{}, notHere
		case name == "":
			return routeOf(nil, v)
		}
		a, err := side.accounts().Get(name)
		if err != nil {
			return gate.Route{}, fmt.Errorf("account %s: %w", name, err)
		}
		return gate.AccountRoute(a), nil
	}
	submit := func(ctx context.Context, g *gate.Gate, r gate.Route, env send.Envelope, body io.Reader) (*send.Result, error) {
		var opts send.Options
		if r.Stored != nil {
			// The account's options once per attempt, so OAuth tokens
			// refresh; read only now that the gate allowed the account.
			var err error
			if opts, err = r.Stored.SendOptions(ctx, side.accounts().Secrets()); err != nil {
				return nil, fmt.Errorf("%s: %w", r, err)
			}
			if v.Timeout > 0 && (opts.Timeout <= 0 || v.Timeout < opts.Timeout) {
				opts.Timeout = v.Timeout
			}
		} else {
			var err error
			if opts, err = serverOptions(v); err != nil {
				return nil, err
			}
		}
		g.Transport(r, &opts)
		opts.Progress = progress
		// The outbox records the moment before the end of data, so an
		// attempt killed before it is retried instead of possibly sent.
		opts.BeforeCommit = outbox.BeforeCommit(ctx)
		return side.send(ctx, opts, env, body)
	}
	return gate.Guard(current, route, submit)
}
