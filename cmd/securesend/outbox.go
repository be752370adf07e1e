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
	return command{
		name:    "outbox",
		summary: "list, retry, cancel and deliver queued messages",
		run:     runOutbox,
	}
}

const outboxUsage = `Usage: securesend outbox SUBCOMMAND [flags]

Every message is written to the outbox, encrypted, before it is sent, and
kept there until you remove it, so nothing is lost when the network or the
computer goes down.

Subcommands:
  list [--json]            list the jobs, oldest first
  show [--json] ID         show one job and its transmission result
  run [--watch] SERVER...  deliver the jobs that are due (see 'outbox run --help')
  retry ID                 queue a deferred, failed or cancelled job again, now
  confirm ID               resend a "possibly sent" job (check with the recipient first)
  cancel ID                stop delivering a job (its message is kept)
  remove ID                delete a sent, failed or cancelled job and its message

ID may be shortened to its first 6 or more characters.
`

func runOutbox(ctx context.Context, e *env, args []string) int {
	return subcommands(e, "outbox", outboxUsage, args, map[string]func([]string) int{
		"list":    func(a []string) int { return outboxList(e, a) },
		"show":    func(a []string) int { return outboxShow(e, a) },
		"run":     func(a []string) int { return outboxRun(ctx, e, a) },
		"retry":   func(a []string) int { return outboxChange(e, "retry", a) },
		"confirm": func(a []string) int { return outboxChange(e, "confirm", a) },
		"cancel":  func(a []string) int { return outboxChange(e, "cancel", a) },
		"remove":  func(a []string) int { return outboxChange(e, "remove", a) },
	})
}

// openOutbox opens the desk's outbox, delivering with opts.Via.
func openOutbox(e *env, opts desk.OutboxOptions) (*desk.Outbox, error) {
	d, err := openDesk(e)
	if err != nil {
		return nil, err
	}
	return d.Outbox(opts)
}

// outboxJob opens the outbox and finds the job that arg (an ID or its
// first 6 or more characters) names. A code >= 0 ends the command.
func outboxJob(e *env, arg string) (*desk.Outbox, string, int) {
	ob, err := openOutbox(e, desk.OutboxOptions{})
	if err != nil {
		return nil, "", outboxFail(e, err)
	}
	id, err := ob.Resolve(arg)
	if err != nil {
		return nil, "", outboxFail(e, err)
	}
	return ob, id, -1
}

// outboxExplain tells the user what happens next to a job that was not
// sent (desk.NextStep), after the error itself.
func outboxExplain(w io.Writer, rec *outbox.Record) {
	if s := desk.NextStep(rec); s != "" {
		fmt.Fprintln(w, s)
	}
}

// outboxFlags parses the flags of a simple subcommand; it returns an exit
// code >= 0 when the command should end.
func outboxFlags(e *env, name, usage string, nargs int, args []string, define func(fs *flag.FlagSet)) ([]string, int) {
	fs := commandFlags(e, "outbox "+name, "Usage: securesend outbox "+usage+"\n")
	if define != nil {
		define(fs)
	}
	if code := parseCode(fs, args); code >= 0 {
		return nil, code
	}
	if nargs >= 0 && fs.NArg() != nargs {
		fs.Usage()
		return nil, 2
	}
	return fs.Args(), -1
}

func outboxList(e *env, args []string) int {
	var asJSON bool
	if _, code := outboxFlags(e, "list", "list [--json]", 0, args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print the jobs as JSON")
	}); code >= 0 {
		return code
	}
	ob, err := openOutbox(e, desk.OutboxOptions{})
	if err != nil {
		return outboxFail(e, err)
	}
	recs, err := ob.List()
	if err != nil {
		return outboxFail(e, err)
	}
	if asJSON {
		return printJSON(e, ob.TrackedJobs(recs))
	}
	if len(recs) == 0 {
		fmt.Fprintln(e.stdout, "The outbox is empty.")
		return 0
	}
	tracks := ob.TrackAll(recs)
	rows := make([][]string, len(recs))
	for i, r := range recs {
		rows[i] = desk.JobRow(r, tracks[i])
	}
	printTable(e.stdout, desk.JobRowHeader, rows)
	return 0
}

func outboxShow(e *env, args []string) int {
	var asJSON bool
	rest, code := outboxFlags(e, "show", "show [--json] ID", 1, args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print the job as JSON")
	})
	if code >= 0 {
		return code
	}
	ob, id, code := outboxJob(e, rest[0])
	if code >= 0 {
		return code
	}
	r, err := ob.Get(id)
	if err != nil {
		return outboxFail(e, err)
	}
	tr := ob.Track(r)
	if asJSON {
		return printJSON(e, desk.NewTrackedJob(r, tr))
	}
	printLines(e.stdout, desk.JobLines(r, tr))
	return 0
}

func outboxChange(e *env, sub string, args []string) int {
	rest, code := outboxFlags(e, sub, sub+" ID", 1, args, nil)
	if code >= 0 {
		return code
	}
	ob, id, code := outboxJob(e, rest[0])
	if code >= 0 {
		return code
	}
	var rec *outbox.Record
	var err error
	switch sub {
	case "retry":
		rec, err = ob.Retry(id)
	case "confirm":
		rec, err = ob.ConfirmResend(id)
	case "cancel":
		rec, err = ob.Cancel(id)
	case "remove":
		if err = ob.Remove(id); err == nil {
			fmt.Fprintf(e.stdout, "Removed job %s and its message.\n", id)
			return 0
		}
	}
	if err != nil {
		return errorf(e, "%v", outboxTrim(err, "outbox: "))
	}
	switch sub {
	case "retry", "confirm":
		fmt.Fprintf(e.stdout, "Job %s is queued; 'securesend outbox run' delivers it.\n", id)
	case "cancel":
		fmt.Fprintf(e.stdout, "Job %s is cancelled; its message is kept until 'securesend outbox remove %s'.\n", id, rec.ID)
	}
	return 0
}

const outboxRunUsage = `Usage: securesend outbox run [--watch] --server HOST:PORT [flags]

Delivers every job that is due, then exits (or, with --watch, keeps
delivering as jobs become due until interrupted). Exit status: 0 when every
job it tried was sent, 1 otherwise.

Flags:
`

func outboxRun(ctx context.Context, e *env, args []string) int {
	var (
		f     sendFlags
		watch bool
		poll  time.Duration
	)
	fs := commandFlags(e, "outbox run", outboxRunUsage)
	fs.BoolVar(&watch, "watch", false, "keep running and deliver jobs as they become due")
	fs.DurationVar(&poll, "poll", time.Minute, "with --watch, how often to look for new jobs (`duration`)")
	f.defineConn(fs, "deliver with the stored account `name` (jobs queued with an account always use their own)")
	if code := parseCode(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 0 || (f.server == "") == (f.account == "") {
		fmt.Fprintln(e.stderr, "securesend outbox run: give --server or --account (see 'securesend outbox run --help')")
		return 2
	}
	if p := f.connProblem(); p != "" {
		fmt.Fprintf(e.stderr, "securesend outbox run: %s\n", p)
		return 2
	}
	v, err := f.via(e.stdin)
	if err != nil {
		return errorf(e, "outbox run: %v", err)
	}
	ob, err := openOutbox(e, desk.OutboxOptions{Via: v, Notify: func(r outbox.Record) { outboxReportJob(e.stdout, &r) }})
	if err != nil {
		return errorf(e, "outbox run: %v", outboxTrim(err, "outbox: "))
	}
	if watch {
		err := ob.Watch(ctx, poll, func(err error) { fmt.Fprintf(e.stderr, "securesend: outbox: %v\n", err) })
		if errors.Is(err, context.Canceled) {
			return 0
		}
		return outboxFail(e, err)
	}
	recs, err := ob.RunDue(ctx)
	if err != nil {
		return outboxFail(e, err)
	}
	if len(recs) == 0 {
		fmt.Fprintln(e.stdout, "Nothing is due.")
	}
	code := 0
	for _, r := range recs {
		if r.State != outbox.Sent {
			code = 1
		}
	}
	return code
}

// outboxReportJob prints one line per state change during 'outbox run'
// (desk.ProgressLine).
func outboxReportJob(w io.Writer, r *outbox.Record) {
	if l := desk.ProgressLine(r); l != "" {
		fmt.Fprintln(w, l)
	}
}

// outboxTrim is err's message without a leading prefix, so that
// "outbox: outbox: ..." does not reach the user.
func outboxTrim(err error, prefix string) string { return strings.TrimPrefix(err.Error(), prefix) }

// outboxFail prints an outbox error (without a doubled "outbox: ") and
// returns exit code 1.
func outboxFail(e *env, err error) int { return errorf(e, "outbox: %v", outboxTrim(err, "outbox: ")) }
