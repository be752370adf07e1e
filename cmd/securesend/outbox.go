package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/gate"
	"github.com/securesend/securesend/send"
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

// openAudit opens the home's audit log (home/audit.log, head in the
// keychain).
func openAudit(e *env) (*audit.Log, error) {
	h, kc, err := openHome(e)
	if err != nil {
		return nil, err
	}
	return audit.Open(h.Path("audit.log"), kc, audit.Options{})
}

// openOutbox opens the home's outbox (home/outbox, key "outbox" in the
// keychain), writing send.* events to the home's audit log.
func openOutbox(e *env, opts outbox.Options) (*outbox.Outbox, error) {
	h, kc, err := openHome(e)
	if err != nil {
		return nil, err
	}
	key, err := kc.Key("outbox")
	if err != nil {
		return nil, err
	}
	if opts.Audit == nil {
		if opts.Audit, err = openAudit(e); err != nil {
			return nil, err
		}
	}
	return outbox.Open(h.Path("outbox"), key, opts)
}

// outboxJob is the outbox job for m, sent with the named account: the
// envelope is From and To+Cc. It gives m a Message-ID and a Date when it
// has none, so that every retry sends the same message.
func outboxJob(m *send.Message, account string, now time.Time) (outbox.Job, error) {
	if m.MessageID == "" {
		domain := ""
		if i := strings.LastIndexByte(m.From.Address, '@'); i >= 0 {
			domain = m.From.Address[i+1:]
		}
		id, err := send.NewMessageID(domain)
		if err != nil {
			if id, err = send.NewMessageID(""); err != nil {
				return outbox.Job{}, err
			}
		}
		m.MessageID = id
	}
	if m.Date.IsZero() {
		m.Date = now
	}
	job := outbox.Job{Account: account, MessageID: m.MessageID, Envelope: send.Envelope{From: m.From.Address}}
	for _, a := range append(append([]mail.Address(nil), m.To...), m.Cc...) {
		job.Envelope.To = append(job.Envelope.To, a.Address)
	}
	return job, nil
}

// outboxEnqueue writes m, composed by compose (send.Compose, or a
// protecting composer), to the home's outbox as a job for the named
// account, before any network I/O. It gives m a Message-ID and Date when
// missing. The caller delivers it with ob.Deliver(ctx, id, submitWith(opts))
// or leaves it to 'outbox run'.
func outboxEnqueue(ctx context.Context, e *env, m *send.Message, account string,
	compose func(io.Writer, *send.Message) ([]send.DocumentInfo, error), opts outbox.Options) (ob *outbox.Outbox, id string, err error) {
	return outboxEnqueueJob(ctx, e, m, account, compose, nil, opts)
}

// outboxEnqueueProtected is outboxEnqueue with the message composed by
// send.ComposeProtected(prot); the job records how it is protected, so
// that the confirmation of every delivery says so, and which key each
// recipient's copy is encrypted to, for the policy check at delivery.
func outboxEnqueueProtected(ctx context.Context, e *env, m *send.Message, account string, prot send.Protection, opts outbox.Options) (*outbox.Outbox, string, error) {
	compose := func(w io.Writer, m *send.Message) ([]send.DocumentInfo, error) {
		return send.ComposeProtected(w, m, prot)
	}
	return outboxEnqueueJob(ctx, e, m, account, compose, func(j *outbox.Job) {
		var r send.Result
		r.SetProtection(prot)
		j.Encrypted, j.Signed, j.SignerFingerprint = r.Encrypted, r.Signed, r.SignerFingerprint
		j.EncryptedTo = gate.EncryptedTo(m, prot)
	}, opts)
}

func outboxEnqueueJob(ctx context.Context, e *env, m *send.Message, account string,
	compose func(io.Writer, *send.Message) ([]send.DocumentInfo, error), mark func(*outbox.Job), opts outbox.Options) (*outbox.Outbox, string, error) {
	ob, err := openOutbox(e, opts)
	if err != nil {
		return nil, "", err
	}
	job, err := outboxJob(m, account, time.Now())
	if err != nil {
		return nil, "", err
	}
	if mark != nil {
		mark(&job)
	}
	id, err := ob.Enqueue(ctx, job, func(w io.Writer) ([]send.DocumentInfo, error) { return compose(w, m) })
	if err != nil {
		return nil, "", err
	}
	return ob, id, nil
}

// submitWith returns the SubmitFunc that submits with opts.
func submitWith(opts send.Options) outbox.SubmitFunc {
	return func(ctx context.Context, env send.Envelope, body io.Reader) (*send.Result, error) {
		return send.Submit(ctx, opts, env, body)
	}
}

// outboxExplain tells the user what happens next to a job that was not
// sent (deferred, possibly sent, failed), after the error itself.
func outboxExplain(w io.Writer, rec *outbox.Record) {
	if rec == nil {
		return
	}
	switch rec.State {
	case outbox.Deferred:
		fmt.Fprintf(w, "The message is safe in the outbox (job %s) and will be retried from %s; 'securesend outbox run' delivers it.\n",
			rec.ID, rec.NextAttempt.Local().Format("15:04 Mon 2 Jan"))
	case outbox.PossiblySent:
		fmt.Fprintf(w, "The server may already have received the message. Check with the recipient; to send it again run 'securesend outbox confirm %s'.\n", rec.ID)
	case outbox.Failed:
		fmt.Fprintf(w, "The message is kept in the outbox (job %s); fix the cause and run 'securesend outbox retry %s', or remove it.\n", rec.ID, rec.ID)
	}
}

// outboxResolveID finds the job whose id is arg or starts with arg (6+ chars).
func outboxResolveID(ob *outbox.Outbox, arg string) (string, error) {
	if len(arg) == 32 {
		return arg, nil
	}
	if len(arg) < 6 {
		return "", fmt.Errorf("job id %q is too short; give at least 6 characters", arg)
	}
	recs, err := ob.List()
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

// outboxFlags parses the flags of a simple subcommand; it returns an exit
// code >= 0 when the command should end.
func outboxFlags(e *env, name, usage string, nargs int, args []string, define func(fs *flag.FlagSet)) ([]string, int) {
	fs := flag.NewFlagSet("outbox "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if define != nil {
		define(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: securesend outbox %s\n", usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, 0
		}
		return nil, 2
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
	ob, err := openOutbox(e, outbox.Options{})
	if err != nil {
		return errorf(e, "outbox: %v", outboxTrim(err, "outbox: "))
	}
	recs, err := ob.List()
	if err != nil {
		return errorf(e, "outbox: %v", outboxTrim(err, "outbox: "))
	}
	if asJSON {
		return outboxJSON(e, recs)
	}
	if len(recs) == 0 {
		fmt.Fprintln(e.stdout, "The outbox is empty.")
		return 0
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tQUEUED\tTO\tDOCS\tATTEMPTS\tNEXT / NOTE")
	for _, r := range recs {
		note := ""
		switch r.State {
		case outbox.Queued, outbox.Deferred:
			note = r.NextAttempt.Local().Format("15:04 2 Jan")
		case outbox.Sent:
			if r.Result != nil {
				note = r.Result.Reply.Text
			}
		case outbox.PossiblySent:
			note = "check with the recipient, then 'outbox confirm'"
		default:
			note = r.LastError
		}
		if len(note) > 60 {
			note = note[:57] + "..."
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", r.ID[:12], r.State, r.Created.Local().Format("15:04 2 Jan"),
			strings.Join(r.Envelope.To, ", "), len(r.Documents), r.Attempts, note)
	}
	tw.Flush()
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
	ob, err := openOutbox(e, outbox.Options{})
	if err != nil {
		return errorf(e, "outbox: %v", outboxTrim(err, "outbox: "))
	}
	id, err := outboxResolveID(ob, rest[0])
	if err != nil {
		return errorf(e, "outbox: %v", outboxTrim(err, "outbox: "))
	}
	r, err := ob.Get(id)
	if err != nil {
		return errorf(e, "outbox: %v", outboxTrim(err, "outbox: "))
	}
	if asJSON {
		return outboxJSON(e, r)
	}
	w := e.stdout
	fmt.Fprintf(w, "Job:          %s\n", r.ID)
	fmt.Fprintf(w, "State:        %s\n", r.State)
	fmt.Fprintf(w, "Message-ID:   <%s>\n", r.MessageID)
	if r.Account != "" {
		fmt.Fprintf(w, "Account:      %s\n", r.Account)
	}
	fmt.Fprintf(w, "From:         %s\n", r.Envelope.From)
	fmt.Fprintf(w, "To:           %s\n", strings.Join(r.Envelope.To, ", "))
	fmt.Fprintf(w, "Queued:       %s\n", r.Created.Local().Format(time.RFC1123))
	fmt.Fprintf(w, "Attempts:     %d\n", r.Attempts)
	if !r.LastAttempt.IsZero() {
		fmt.Fprintf(w, "Last attempt: %s\n", r.LastAttempt.Local().Format(time.RFC1123))
	}
	if !r.NextAttempt.IsZero() {
		fmt.Fprintf(w, "Next attempt: %s\n", r.NextAttempt.Local().Format(time.RFC1123))
	}
	if r.LastError != "" {
		fmt.Fprintf(w, "Last error:   %s\n", r.LastError)
	}
	fmt.Fprintf(w, "Size:         %d bytes\n", r.Size)
	for _, d := range r.Documents {
		fmt.Fprintf(w, "Document:     %s (%s, %d bytes) SHA-256 %s\n", d.Name, d.ContentType, d.Size, d.SHA256)
	}
	fmt.Fprintf(w, "Encrypted:    %s\n", yesNo(r.Encrypted))
	if r.Signed {
		fmt.Fprintf(w, "Signed:       yes, by %s\n", pgp.Fingerprint(r.SignerFingerprint).Grouped())
	} else {
		fmt.Fprintln(w, "Signed:       no")
	}
	if res := r.Result; res != nil {
		fmt.Fprintf(w, "Server:       %s replied %d %s %s\n", res.Server, res.Reply.Code, res.Reply.EnhancedCode, res.Reply.Text)
		fmt.Fprintf(w, "Encryption:   %s %s\n", res.TLS.Version, res.TLS.CipherSuite)
		for _, a := range res.Accepted {
			fmt.Fprintf(w, "Accepted:     %s\n", a.Address)
		}
		for _, a := range res.Rejected {
			fmt.Fprintf(w, "Rejected:     %s (%d %s)\n", a.Address, a.Reply.Code, a.Reply.Text)
		}
	}
	outboxExplain(w, r)
	return 0
}

func outboxChange(e *env, sub string, args []string) int {
	rest, code := outboxFlags(e, sub, sub+" ID", 1, args, nil)
	if code >= 0 {
		return code
	}
	ob, err := openOutbox(e, outbox.Options{})
	if err != nil {
		return errorf(e, "outbox: %v", outboxTrim(err, "outbox: "))
	}
	id, err := outboxResolveID(ob, rest[0])
	if err != nil {
		return errorf(e, "outbox: %v", outboxTrim(err, "outbox: "))
	}
	var rec *outbox.Record
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
	fs := flag.NewFlagSet("outbox run", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.BoolVar(&watch, "watch", false, "keep running and deliver jobs as they become due")
	fs.DurationVar(&poll, "poll", time.Minute, "with --watch, how often to look for new jobs (`duration`)")
	fs.StringVar(&f.server, "server", "", "mail submission server as `host:port` (required)")
	fs.StringVar(&f.security, "security", "tls", "how to encrypt: `tls` (implicit TLS, port 465) or starttls (port 587)")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM `file` of extra CA certificates to trust besides the system's")
	fs.StringVar(&f.user, "user", "", "user `name` to sign in with (needs --password-stdin)")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	fs.BoolVar(&f.requireTLS, "require-tls", false, "fail unless the server supports REQUIRETLS (RFC 8689)")
	fs.StringVar(&f.minTLS, "min-tls", "1.2", "lowest TLS `version` to accept: 1.2 or 1.3")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "how long to wait for the server at each step (`duration`)")
	fs.StringVar(&f.account, "account", "", "deliver with the stored account `name` (jobs queued with an account always use their own)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), outboxRunUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 || (f.server == "") == (f.account == "") {
		fmt.Fprintln(e.stderr, "securesend outbox run: give --server or --account (see 'securesend outbox run --help')")
		return 2
	}
	if (f.user != "") != f.passwordStdin {
		fmt.Fprintln(e.stderr, "securesend outbox run: --user and --password-stdin go together (the password is never accepted on the command line)")
		return 2
	}
	if f.account != "" && (f.user != "" || f.caFile != "") {
		fmt.Fprintln(e.stderr, "securesend outbox run: --account sets the sign-in and CA; drop --user, --password-stdin and --ca-file")
		return 2
	}
	submit, err := outboxSubmit(e, &f)
	if err != nil {
		return errorf(e, "outbox run: %v", err)
	}
	ob, err := openOutbox(e, outbox.Options{Notify: func(r outbox.Record) { outboxReportJob(e.stdout, &r) }})
	if err != nil {
		return errorf(e, "outbox: %v", outboxTrim(err, "outbox: "))
	}
	if watch {
		err := ob.Watch(ctx, submit, poll, func(err error) { fmt.Fprintf(e.stderr, "securesend: outbox: %v\n", err) })
		if errors.Is(err, context.Canceled) {
			return 0
		}
		return errorf(e, "outbox: %v", outboxTrim(err, "outbox: "))
	}
	recs, err := ob.RunDue(ctx, submit)
	if err != nil {
		return errorf(e, "outbox: %v", outboxTrim(err, "outbox: "))
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

// outboxSubmit returns the SubmitFunc that delivers outbox jobs for
// 'outbox run' (and the hot folder) with the flags f: a job queued with an
// account through that account (its options read at every attempt, so
// OAuth tokens refresh), others through f's server or f.account. Every
// attempt goes through the policy gate in force at that moment
// (gate.Guard): a job the current policy forbids (its recipients, its
// missing encryption, the server or account) fails with the reasons and
// nothing is sent; the flags may only tighten the transport, and the
// policy's floor (TLS version, REQUIRETLS) applies to every delivery. The
// --server route is checked before the password is read; with
// --password-stdin it reads e.stdin.
func outboxSubmit(e *env, f *sendFlags) (outbox.SubmitFunc, error) {
	current := func() (*gate.Gate, error) {
		g, _, err := sendGate(e, f, false)
		return g, err
	}
	var (
		server gate.Route
		opts   send.Options
		err    error
	)
	if f.server != "" {
		if server, err = checkServerRoute(e, f); err != nil {
			return nil, err
		}
		if opts, err = f.options(e.stdin); err != nil {
			return nil, err
		}
	} else {
		if _, err := current(); err != nil {
			return nil, err // a tampered or missing profile stops the command
		}
		if err := f.tighten(&opts); err != nil {
			return nil, err
		}
	}
	route := func(_ context.Context, job outbox.Record) (gate.Route, error) {
		name := job.Account
		if name == "" {
			name = f.account
		}
		if name == "" {
			return server, nil
		}
		_, a, err := storedAccount(e, name)
		if err != nil {
			return gate.Route{}, fmt.Errorf("account %s: %w", name, err)
		}
		return gate.AccountRoute(a), nil
	}
	submit := func(ctx context.Context, g *gate.Gate, r gate.Route, env send.Envelope, body io.Reader) (*send.Result, error) {
		o := opts
		if r.Stored != nil {
			// The account's options once per attempt, so OAuth tokens
			// refresh; read only now that the gate allowed the account.
			s, err := accountStore(e)
			if err != nil {
				return nil, err
			}
			if o, err = r.Stored.SendOptions(ctx, s.Secrets()); err != nil {
				return nil, fmt.Errorf("%s: %w", r, err)
			}
			if err := f.tighten(&o); err != nil {
				return nil, err
			}
		}
		g.Transport(r, &o)
		return send.Submit(ctx, o, env, body)
	}
	return gate.Guard(current, route, submit), nil
}

// outboxReportJob prints one line per state change during 'outbox run'.
func outboxReportJob(w io.Writer, r *outbox.Record) {
	to := strings.Join(r.Envelope.To, ", ")
	switch r.State {
	case outbox.Sending:
		fmt.Fprintf(w, "%s  sending to %s (attempt %d)\n", r.ID[:12], to, r.Attempts)
	case outbox.Sent:
		reply := ""
		if r.Result != nil {
			reply = fmt.Sprintf(" (server said: %d %s)", r.Result.Reply.Code, r.Result.Reply.Text)
		}
		fmt.Fprintf(w, "%s  SENT to %s%s\n", r.ID[:12], to, reply)
	case outbox.Deferred:
		fmt.Fprintf(w, "%s  deferred until %s: %s\n", r.ID[:12], r.NextAttempt.Local().Format("15:04 2 Jan"), r.LastError)
	case outbox.Failed:
		fmt.Fprintf(w, "%s  FAILED: %s\n", r.ID[:12], r.LastError)
	case outbox.PossiblySent:
		fmt.Fprintf(w, "%s  POSSIBLY SENT: %s; check with the recipient, then 'securesend outbox confirm %s' to resend\n", r.ID[:12], r.LastError, r.ID[:12])
	}
}

// outboxTrim is err's message without a leading prefix, so that
// "outbox: outbox: ..." does not reach the user.
func outboxTrim(err error, prefix string) string { return strings.TrimPrefix(err.Error(), prefix) }

// outboxJSON writes v indented to stdout.
func outboxJSON(e *env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return errorf(e, "%v", err)
	}
	return 0
}
