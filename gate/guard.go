package gate

import (
	"context"
	"io"

	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// Guard returns the SubmitFunc through which every outbox delivery goes
// (outbox run, the hot folder, the desktop app): for each attempt it loads
// the gate in force now (current), finds the job's route (route, which must
// read no secret), checks the job against it (CheckJob; a refusal fails the
// job with the reasons, outbox.ErrRefused) and only then calls submit, which
// may read the route's secrets and must apply g.Transport to its options
// before connecting. An error of current or route defers the job: nothing
// was sent.
func Guard(current func() (*Gate, error),
	route func(ctx context.Context, job outbox.Record) (Route, error),
	submit func(ctx context.Context, g *Gate, r Route, env send.Envelope, body io.Reader) (*send.Result, error),
) outbox.SubmitFunc {
	return func(ctx context.Context, env send.Envelope, body io.Reader) (*send.Result, error) {
		job, _ := outbox.JobRecord(ctx)
		job.Envelope = env // what is about to be sent is what is checked
		g, err := current()
		if err != nil {
			return nil, err
		}
		r, err := route(ctx, job)
		if err != nil {
			return nil, err
		}
		if err := g.CheckJob(job, r); err != nil {
			return nil, err
		}
		return submit(ctx, g, r, env, body)
	}
}
