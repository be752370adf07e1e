package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/send/outbox"
)

func outboxCommand() command {
	job := func(sub, summary string, run runFunc) command {
		return command{name: sub, summary: summary, usage: "Usage: securesend outbox " + sub + " ID\n", args: jobID, run: outboxErrors(run)}
	}
	flags := func(define func(*flag.FlagSet) runFunc) func(*flag.FlagSet) runFunc {
		return func(fs *flag.FlagSet) runFunc { return outboxErrors(define(fs)) }
	}
	return command{name: "outbox", summary: "list, retry, cancel and deliver queued messages", usage: outboxUsage, subs: []command{
		{name: "list", summary: "list the jobs, oldest first", usage: "Usage: securesend outbox list [--json]\n", flags: flags(outboxList)},
		{name: "show", summary: "show one job and its transmission result", usage: "Usage: securesend outbox show [--json] ID\n", args: jobID, flags: flags(outboxShow)},
		{name: "run", summary: "deliver the jobs that are due", usage: outboxRunUsage, flags: flags(outboxRun)},
		job("retry", "queue a deferred, failed or cancelled job again, now", outboxRetry),
		job("confirm", `resend a "possibly sent" job (ask the recipient first)`, outboxConfirm),
		job("cancel", "stop delivering a job (its message is kept)", outboxCancel),
		job("remove", "delete a sent, failed or cancelled job and its message", outboxRemove),
	}}
}

const outboxUsage = `Every message is written to the outbox, encrypted, before it is sent, and
kept there until you remove it, so nothing is lost when the network or the
computer goes down. A job's ID may be shortened to its first 6 or more
characters.
`

// outboxErrors is run with its errors printed as "securesend: outbox: ...",
// as every outbox command says them.
func outboxErrors(run runFunc) runFunc {
	return func(ctx context.Context, c *call) error {
		err := run(ctx, c)
		var u *usageError
		var code exitCode
		if err == nil || errors.As(err, &u) || errors.As(err, &code) {
			return err
		}
		return bare(fmt.Errorf("outbox: %s", strings.TrimPrefix(err.Error(), "outbox: ")))
	}
}

// jobID is the ID of an outbox job, or its first 6 or more characters.
var jobID = oneArg("give the job ID (see 'securesend outbox list')")

// outboxJob opens c's outbox and finds the job that c's argument names.
func outboxJob(c *call) (*desk.Outbox, string, error) {
	ob, err := c.desk.Outbox(desk.OutboxOptions{})
	if err != nil {
		return nil, "", err
	}
	id, err := ob.Resolve(c.arg())
	return ob, id, err
}

// outboxExplain tells the user what happens next to a job that was not
// sent (desk.NextStep), after the error itself.
func outboxExplain(w io.Writer, rec *outbox.Record) {
	if s := desk.NextStep(rec); s != "" {
		fmt.Fprintln(w, s)
	}
}

func outboxList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print the jobs as JSON")
	return func(_ context.Context, c *call) error {
		ob, err := c.desk.Outbox(desk.OutboxOptions{})
		if err != nil {
			return err
		}
		recs, err := ob.List()
		switch {
		case err != nil:
			return err
		case *asJSON:
			return printJSON(c.env, ob.TrackedJobs(recs))
		case len(recs) == 0:
			fmt.Fprintln(c.stdout, "The outbox is empty.")
			return nil
		}
		tracks := ob.TrackAll(recs)
		printTable(c.stdout, desk.JobRowHeader, recs, func(i int, r *outbox.Record) []string { return desk.JobRow(r, tracks[i]) })
		return nil
	}
}

func outboxShow(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print the job as JSON")
	return func(_ context.Context, c *call) error {
		ob, id, err := outboxJob(c)
		if err != nil {
			return err
		}
		r, err := ob.Get(id)
		if err != nil {
			return err
		}
		tr := ob.Track(r)
		if *asJSON {
			return printJSON(c.env, desk.NewTrackedJob(r, tr))
		}
		printLines(c.stdout, desk.JobLines(r, tr))
		return nil
	}
}

// outboxQueue is 'outbox retry' and 'outbox confirm': do puts the job
// back in the queue.
func outboxQueue(do func(*desk.Outbox, string) (*outbox.Record, error)) runFunc {
	return func(_ context.Context, c *call) error {
		ob, id, err := outboxJob(c)
		if err == nil {
			_, err = do(ob, id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Job %s is queued; 'securesend outbox run' delivers it.\n", id)
		return nil
	}
}

var (
	outboxRetry   = outboxQueue((*desk.Outbox).Retry)
	outboxConfirm = outboxQueue((*desk.Outbox).ConfirmResend)
)

func outboxCancel(_ context.Context, c *call) error {
	ob, id, err := outboxJob(c)
	if err != nil {
		return err
	}
	rec, err := ob.Cancel(id)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Job %s is cancelled; its message is kept until 'securesend outbox remove %s'.\n", id, rec.ID)
	return nil
}

func outboxRemove(_ context.Context, c *call) error {
	ob, id, err := outboxJob(c)
	if err == nil {
		err = ob.Remove(id)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Removed job %s and its message.\n", id)
	return nil
}

const outboxRunUsage = `Usage: securesend outbox run [--watch] --server HOST:PORT [flags]
       securesend outbox run [--watch] --account NAME

Delivers every job that is due, then exits (or, with --watch, keeps
delivering as jobs become due until interrupted). Exit status: 0 when every
job it tried was sent, 1 otherwise.
`

func outboxRun(fs *flag.FlagSet) runFunc {
	var f sendFlags
	watch := fs.Bool("watch", false, "keep running and deliver jobs as they become due")
	poll := fs.Duration("poll", time.Minute, "with --watch, how often to look for new jobs (`duration`)")
	f.defineConn(fs, "deliver with the stored account `name` (jobs queued with an account always use their own)")
	return func(ctx context.Context, c *call) error {
		if (f.server == "") == (f.account == "") {
			return usagef("give --server or --account")
		}
		if p := f.connProblem(); p != "" {
			return usagef("%s", p)
		}
		v, err := f.via(c.stdin)
		if err != nil {
			return err
		}
		ob, err := c.desk.Outbox(desk.OutboxOptions{Via: v, Notify: func(r outbox.Record) { outboxReportJob(c.stdout, &r) }})
		if err != nil {
			return err
		}
		if *watch {
			err := ob.Watch(ctx, *poll, func(err error) { fmt.Fprintf(c.stderr, "securesend: outbox: %v\n", err) })
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		recs, err := ob.RunDue(ctx)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			fmt.Fprintln(c.stdout, "Nothing is due.")
		}
		for _, r := range recs {
			if r.State != outbox.Sent {
				return exitCode(1)
			}
		}
		return nil
	}
}

// outboxReportJob prints one line per state change during 'outbox run'
// (desk.ProgressLine).
func outboxReportJob(w io.Writer, r *outbox.Record) {
	if l := desk.ProgressLine(r); l != "" {
		fmt.Fprintln(w, l)
	}
}
