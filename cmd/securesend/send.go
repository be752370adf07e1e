package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/gate"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// sendFlags holds the parsed flags of 'securesend send'.
type sendFlags struct {
	server        string
	security      string
	caFile        string
	user          string
	passwordStdin bool
	from          string
	to, cc        addrList
	subject       string
	note          string
	requireTLS    bool
	minTLS        string
	receipt       string
	timeout       time.Duration
	json          bool
	docs          []string
	encrypt       string
	queueOnly     bool
	account       string
}

// addrList is a repeatable flag of addresses ("Name <a@b>" or "a@b",
// several per flag separated by commas).
type addrList []string

func (l *addrList) String() string     { return strings.Join(*l, ", ") }
func (l *addrList) Set(v string) error { *l = append(*l, v); return nil }

func sendCommand() command {
	return command{
		name:    "send",
		summary: "send documents securely over TLS-enforced SMTP",
		run:     runSend,
	}
}

const sendUsage = `Usage: securesend send --server HOST:PORT --from ADDRESS --to ADDRESS [flags] DOCUMENT...
       securesend send --account NAME --to ADDRESS [flags] DOCUMENT...

Sends the documents (scanned PDFs, TIFFs, ...) as one e-mail over an
encrypted, verified connection. Nothing is sent if the server does not offer
TLS 1.2 or later with a valid certificate. The message is signed with your
OpenPGP key and, when every recipient has a key (or --encrypt always, or
your organisation's policy requires it), encrypted. It is written to the
outbox first, so nothing is lost if the connection fails; the organisation
policy is checked before that. Prints a fax-style confirmation.
Exit status: 0 when every recipient was accepted, 1 otherwise, 2 for usage
errors.

Flags:
`

// newSendFlagSet defines the flags of 'securesend send' on f.
func newSendFlagSet(e *env, f *sendFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&f.server, "server", "", "mail submission server as `host:port` (required), e.g. smtp.example.org:465")
	fs.StringVar(&f.security, "security", "tls", "how to encrypt: `tls` (implicit TLS, port 465) or starttls (port 587)")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM `file` of extra CA certificates to trust besides the system's")
	fs.StringVar(&f.user, "user", "", "user `name` to sign in with (needs --password-stdin)")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	fs.StringVar(&f.from, "from", "", "sender `address`, e.g. \"Dr A Ngata <a.ngata@clinic.example.nz>\" (required)")
	fs.Var(&f.to, "to", "recipient `address`; repeat for several (at least one required)")
	fs.Var(&f.cc, "cc", "copy recipient `address`; repeatable")
	fs.StringVar(&f.subject, "subject", "", "subject `text`")
	fs.StringVar(&f.note, "note", "", "short covering note `text` sent with the documents")
	fs.BoolVar(&f.requireTLS, "require-tls", false, "fail unless the server supports REQUIRETLS (RFC 8689), so the message is never relayed without TLS")
	fs.StringVar(&f.minTLS, "min-tls", "1.2", "lowest TLS `version` to accept: 1.2 or 1.3")
	fs.StringVar(&f.receipt, "receipt", "", "write the transmission result as JSON to `file`")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "how long to wait for the server at each step (`duration`)")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON instead of the summary")
	fs.StringVar(&f.encrypt, "encrypt", "auto", "always, auto or never")
	fs.BoolVar(&f.queueOnly, "queue-only", false, "only write the message to the outbox; 'securesend outbox run' delivers it")
	fs.StringVar(&f.account, "account", "", "send with the stored account `name` (see 'securesend account add'): its server, sign-in and address")
	fs.Usage = func() {} // parseSendFlags prints help or a hint itself
	return fs
}

// parseSendFlags parses args; flags and documents may be mixed, and "--"
// ends the flags. It returns an exit code >= 0 when the command should end.
func parseSendFlags(e *env, args []string) (*sendFlags, int) {
	f := &sendFlags{}
	fs := newSendFlagSet(e, f)
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(e.stdout, sendUsage)
				fs.SetOutput(e.stdout)
				fs.PrintDefaults()
				return nil, 0
			}
			fmt.Fprintln(e.stderr, "Run 'securesend send --help' for the flags.")
			return nil, 2
		}
		consumed := len(rest) - len(fs.Args())
		if consumed > 0 && rest[consumed-1] == "--" {
			f.docs = append(f.docs, fs.Args()...)
			break
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		f.docs = append(f.docs, rest[0])
		rest = rest[1:]
	}
	var missing []string
	if f.account != "" {
		var conflict []string
		for _, c := range []struct {
			set  bool
			name string
		}{{f.server != "", "--server"}, {f.caFile != "", "--ca-file"}, {f.user != "", "--user"}, {f.passwordStdin, "--password-stdin"}} {
			if c.set {
				conflict = append(conflict, c.name)
			}
		}
		if len(conflict) > 0 {
			fmt.Fprintf(e.stderr, "securesend send: --account sets the server and sign-in; drop %s\n", strings.Join(conflict, ", "))
			return nil, 2
		}
	} else if f.server == "" {
		missing = append(missing, "--server")
	}
	if f.from == "" && f.account == "" {
		missing = append(missing, "--from")
	}
	if len(f.to) == 0 {
		missing = append(missing, "--to")
	}
	if len(missing) > 0 {
		fmt.Fprintf(e.stderr, "securesend send: missing %s (see 'securesend send --help')\n", strings.Join(missing, ", "))
		return nil, 2
	}
	if len(f.docs) == 0 {
		fmt.Fprintln(e.stderr, "securesend send: no documents given; name the files to send after the flags")
		return nil, 2
	}
	if f.user != "" && !f.passwordStdin {
		fmt.Fprintln(e.stderr, "securesend send: --user needs --password-stdin (the password is never accepted on the command line)")
		return nil, 2
	}
	if f.passwordStdin && f.user == "" {
		fmt.Fprintln(e.stderr, "securesend send: --password-stdin needs --user")
		return nil, 2
	}
	return f, -1
}

// message builds the send.Message from the flags.
func (f *sendFlags) message() (*send.Message, error) {
	from, err := mail.ParseAddress(f.from)
	if err != nil {
		return nil, fmt.Errorf("--from %q is not an e-mail address: %v", f.from, err)
	}
	m := &send.Message{From: *from, Subject: f.subject, Note: f.note}
	if m.To, err = parseAddrs("--to", f.to); err != nil {
		return nil, err
	}
	if m.Cc, err = parseAddrs("--cc", f.cc); err != nil {
		return nil, err
	}
	for _, p := range f.docs {
		m.Documents = append(m.Documents, send.Document{Path: p, Name: filepath.Base(p)})
	}
	return m, nil
}

func parseAddrs(flagName string, values []string) ([]mail.Address, error) {
	var out []mail.Address
	for _, v := range values {
		list, err := mail.ParseAddressList(v)
		if err != nil {
			return nil, fmt.Errorf("%s %q is not an e-mail address: %v", flagName, v, err)
		}
		for _, a := range list {
			out = append(out, *a)
		}
	}
	return out, nil
}

// options builds send.Options from the flags; stdin supplies the password.
func (f *sendFlags) options(stdin io.Reader) (send.Options, error) {
	opts := send.Options{Server: f.server, RequireTLS: f.requireTLS, Timeout: f.timeout}
	sec, err := f.securityMode()
	if err != nil {
		return opts, err
	}
	opts.Security = sec
	v, err := f.minTLSVersion()
	if err != nil {
		return opts, err
	}
	opts.MinTLSVersion = v
	if f.timeout <= 0 {
		return opts, fmt.Errorf("--timeout must be positive")
	}
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return opts, fmt.Errorf("cannot read --ca-file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return opts, fmt.Errorf("--ca-file %s contains no PEM certificates", f.caFile)
		}
		opts.RootCAs = pool
	}
	if f.passwordStdin {
		pw, err := readPassword(stdin)
		if err != nil {
			return opts, err
		}
		opts.Auth = send.PasswordAuth(f.user, pw)
	}
	return opts, nil
}

// minTLSVersion parses --min-tls.
func (f *sendFlags) minTLSVersion() (uint16, error) {
	switch f.minTLS {
	case "1.2", "":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("--min-tls must be 1.2 or 1.3, not %q", f.minTLS)
}

// tighten applies --timeout, --min-tls and --require-tls on top of an
// account's options: they may only make it stricter (a shorter time-out,
// a higher TLS version, REQUIRETLS on).
func (f *sendFlags) tighten(opts *send.Options) error {
	v, err := f.minTLSVersion()
	if err != nil {
		return err
	}
	if f.timeout <= 0 {
		return fmt.Errorf("--timeout must be positive")
	}
	opts.MinTLSVersion = max(opts.MinTLSVersion, v)
	opts.RequireTLS = opts.RequireTLS || f.requireTLS
	if opts.Timeout <= 0 || f.timeout < opts.Timeout {
		opts.Timeout = f.timeout
	}
	return nil
}

// readPassword reads one line from r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("--password-stdin: no standard input")
	}
	line, err := bufio.NewReaderSize(io.LimitReader(r, 4096), 4096).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("--password-stdin: cannot read standard input: %v", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("--password-stdin: standard input is empty; pipe the password in, e.g. from a password manager")
	}
	return pw, nil
}

func runSend(ctx context.Context, e *env, args []string) int {
	f, code := parseSendFlags(e, args)
	if code >= 0 {
		return code
	}
	if _, err := send.ParseEncryptMode(f.encrypt); err != nil {
		fmt.Fprintf(e.stderr, "securesend send: --encrypt must be always, auto or never, not %q\n", f.encrypt)
		return 2
	}
	ob, id, opts, err := queueSend(ctx, e, f, "")
	var refused *sendRefused
	if errors.As(err, &refused) && refused.policy {
		fmt.Fprintln(e.stderr, "securesend: refused by your organisation's policy, so nothing was sent:")
		for _, line := range strings.Split(refused.err.Error(), "\n") {
			fmt.Fprintln(e.stderr, "  "+line)
		}
		return 1
	}
	if err != nil {
		return errorf(e, "%s", err)
	}
	if f.queueOnly {
		if f.json {
			return outboxJSON(e, struct {
				Job   string       `json:"job"`
				State outbox.State `json:"state"`
			}{id, outbox.Queued})
		}
		fmt.Fprintf(e.stdout, "Queued as job %s; 'securesend outbox run' delivers it.\n", id)
		return 0
	}
	rec, sendErr := ob.Deliver(ctx, id, submitWith(opts))
	var res *send.Result
	if rec != nil {
		res = rec.Result
	}
	var se *send.Error
	if errors.Is(sendErr, outbox.ErrNeedsConfirmation) && errors.As(sendErr, &se) {
		sendErr = se // the explanation follows from outboxExplain
	}
	code = reportSend(e, f, res, sendErr)
	outboxExplain(e.stderr, rec)
	return code
}

// sendRefused is a message queueSend refuses for what it is (incomplete,
// not allowed by the policy, or without the keys its protection needs), as
// opposed to a failure of the machinery (keychain, account, outbox) that
// may pass. Its text is the user's message.
type sendRefused struct {
	msg    string
	err    error
	policy bool // refused by the organisation policy: err lists why, one reason a line
}

func (r *sendRefused) Error() string { return r.msg }
func (r *sendRefused) Unwrap() error { return r.err }

// queueSend does what 'securesend send' does before delivery, for the
// flags f: the account's options, the message, its validation, the
// organisation policy, the protection (--encrypt) and the outbox job. It
// returns the outbox, the job id and the options to deliver with
// (ob.Deliver(ctx, id, submitWith(opts))). messageID, when not empty, is
// the message's Message-ID (a caller that may have to queue the same
// message again after a crash looks for it in the outbox). An error's text
// is for the user; a *sendRefused is a refusal of the message itself.
func queueSend(ctx context.Context, e *env, f *sendFlags, messageID string) (*outbox.Outbox, string, send.Options, error) {
	var (
		store *account.Store
		acct  *account.Account
		opts  send.Options
		err   error
	)
	if f.account != "" {
		if store, acct, err = storedAccount(e, f.account); err != nil {
			return nil, "", opts, fmt.Errorf("send: %w", err)
		}
		if f.from == "" {
			f.from = acct.Email
		}
	}
	m, err := f.message()
	if err != nil {
		return nil, "", opts, &sendRefused{msg: "send: " + err.Error(), err: err}
	}
	m.MessageID = messageID
	if err := m.Validate(); err != nil {
		return nil, "", opts, &sendRefused{msg: plainError(err), err: err}
	}

	// The organisation policy gate: nothing is queued or sent that it
	// refuses, and the flags may only tighten it. The route (server or
	// account) is checked before any password or token is read. --encrypt
	// is not passed as a policy preference: "always" is enforced by
	// protectionFor, which names each recipient without a usable key and
	// why, and "never" cannot loosen a policy that requires encryption
	// (mode below).
	g, ks, err := sendGate(e, f, true)
	if err != nil {
		return nil, "", opts, fmt.Errorf("send: %w", err)
	}
	var route gate.Route
	if acct != nil {
		route = gate.AccountRoute(acct)
	} else if route, err = f.route(); err != nil {
		return nil, "", opts, fmt.Errorf("send: %w", err)
	}
	if err := g.CheckRoute(route); err != nil {
		return nil, "", opts, policyRefusal(err)
	}
	if acct != nil {
		if opts, err = acct.SendOptions(ctx, store.Secrets()); err != nil {
			return nil, "", opts, fmt.Errorf("send: %w", err)
		}
		err = f.tighten(&opts)
	} else {
		opts, err = f.options(e.stdin)
	}
	if err != nil {
		return nil, "", opts, fmt.Errorf("send: %w", err)
	}
	must, err := g.CheckMessage(m)
	if err != nil {
		return nil, "", opts, policyRefusal(err)
	}
	g.Transport(route, &opts)
	mode := f.encrypt
	if must {
		mode = string(send.EncryptAlways) // --encrypt never cannot win
	}
	prot, err := protectionFor(ks, m, mode, g.Keys())
	if err != nil {
		msg := "send: " + plainError(err)
		if errors.Is(err, send.ErrNoRecipientKey) || errors.Is(err, send.ErrNoSenderKey) || errors.Is(err, send.ErrSignerNotSender) {
			return nil, "", opts, &sendRefused{msg: msg, err: err}
		}
		return nil, "", opts, &wrapped{msg, err}
	}

	accountName := ""
	if acct != nil {
		accountName = acct.Name
	}
	ob, id, err := outboxEnqueueProtected(ctx, e, m, accountName, prot, outbox.Options{})
	if err != nil {
		return nil, "", opts, &wrapped{"send: " + outboxTrim(err, "outbox: "), err}
	}
	return ob, id, opts, nil
}

// policyRefusal is the *sendRefused of a message the policy gate refuses.
func policyRefusal(err error) *sendRefused {
	return &sendRefused{msg: "refused by your organisation's policy, so nothing was sent: " + strings.ReplaceAll(err.Error(), "\n", "; "), err: err, policy: true}
}

// sendGate is the policy gate in force now for a command with the flags f:
// the organisation profile (an error means the command must stop: it is
// tampered, unsigned, wrongly signed or rolled back), tightened by the
// user's security.toml and f's --min-tls and --require-tls. With keys set
// it opens the home's key store (returned too, for the signing key), whose
// keys the gate uses where the policy lets users add keys; delivery checks
// need none.
func sendGate(e *env, f *sendFlags, keys bool) (*gate.Gate, *pgp.Store, error) {
	pol, _, err := policyForCommand(e, profile.UserSettings{MinTLS: f.minTLS, RequireREQUIRETLS: f.requireTLS})
	if err != nil {
		return nil, nil, err
	}
	var ks *pgp.Store
	if keys {
		if ks, err = openKeyStore(e); err != nil {
			return nil, nil, err
		}
	}
	return gate.New(pol, ks), ks, nil
}

// checkServerRoute loads the policy gate in force now and checks f's
// --server route with it, before any password is read; it returns the
// route.
func checkServerRoute(e *env, f *sendFlags) (gate.Route, error) {
	g, _, err := sendGate(e, f, false)
	if err != nil {
		return gate.Route{}, err
	}
	r, err := f.route()
	if err != nil {
		return gate.Route{}, err
	}
	if err := g.CheckRoute(r); err != nil {
		return gate.Route{}, fmt.Errorf("refused by your organisation's policy, so nothing was sent: %w", err)
	}
	return r, nil
}

// route is the policy gate's view of --server, --security, --user and
// --ca-file; it reads no password.
func (f *sendFlags) route() (gate.Route, error) {
	sec, err := f.securityMode()
	if err != nil {
		return gate.Route{}, err
	}
	r, err := gate.ServerRoute(f.server, sec, f.user, f.caFile != "")
	if err != nil {
		return gate.Route{}, fmt.Errorf("--server: %w", err)
	}
	return r, nil
}

// securityMode parses --security.
func (f *sendFlags) securityMode() (send.Security, error) {
	switch f.security {
	case "tls", "":
		return send.ImplicitTLS, nil
	case "starttls":
		return send.StartTLS, nil
	}
	return send.ImplicitTLS, fmt.Errorf("--security must be tls or starttls, not %q", f.security)
}

// wrapped is err with another text for the user.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// reportSend prints the outcome, writes the receipt and picks the exit code.
func reportSend(e *env, f *sendFlags, res *send.Result, sendErr error) int {
	var se *send.Error
	if res == nil && errors.As(sendErr, &se) && se.Result != nil {
		res = se.Result // partial, for the record
	}
	if f.json {
		out := struct {
			Result *send.Result `json:"result"`
			Error  *jsonError   `json:"error"`
		}{Result: res, Error: toJSONError(sendErr)}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else if res != nil {
		printSummary(e.stdout, res, sendErr)
	}
	code := 0
	if sendErr != nil {
		fmt.Fprintf(e.stderr, "securesend: %s\n", plainError(sendErr))
		code = 1
	}
	if f.receipt != "" && res != nil && len(res.Accepted) > 0 && (sendErr == nil || errors.Is(sendErr, send.ErrRecipientsRejected)) {
		if err := writeReceipt(f.receipt, res); err != nil {
			fmt.Fprintf(e.stderr, "securesend: the message WAS sent, but the receipt could not be written: %v\n", err)
			code = 1
		}
	}
	return code
}

// plainError is the message for people: the send package's texts without
// the Go-style "send: stage:" prefix.
func plainError(err error) string {
	s := err.Error()
	var se *send.Error
	if errors.As(err, &se) {
		s = strings.TrimPrefix(s, "send: "+se.Stage+": ")
	} else if errors.Is(err, send.ErrInvalidMessage) {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "send: "), ": "+send.ErrInvalidMessage.Error())
	}
	return s
}

// jsonError is the machine-readable form of a failure.
type jsonError struct {
	Kind    string      `json:"kind"`
	Stage   string      `json:"stage,omitempty"`
	Message string      `json:"message"`
	Reply   *send.Reply `json:"reply,omitempty"`
}

var errorKinds = []struct {
	err  error
	name string
}{
	{send.ErrRecipientsRejected, "recipients_rejected"},
	{send.ErrNoTLS, "no_tls"},
	{send.ErrTLSVersion, "tls_version"},
	{send.ErrCertificate, "certificate"},
	{send.ErrAuth, "auth"},
	{send.ErrRequireTLS, "requiretls"},
	{send.ErrTemporary, "temporary"},
	{send.ErrPermanent, "permanent"},
	{send.ErrInvalidMessage, "invalid_message"},
}

func toJSONError(err error) *jsonError {
	if err == nil {
		return nil
	}
	je := &jsonError{Kind: "other", Message: plainError(err)}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			je.Kind = k.name
			break
		}
	}
	var se *send.Error
	if errors.As(err, &se) {
		je.Stage = se.Stage
		if se.Reply.Code != 0 {
			r := se.Reply
			je.Reply = &r
		}
	}
	return je
}

// writeReceipt writes res as JSON to path atomically, readable by the user only.
func writeReceipt(path string, res *send.Result) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(data, '\n'))
}
