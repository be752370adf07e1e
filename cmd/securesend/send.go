package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"path/filepath"
	"strings"
	"time"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/termsafe"
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
	to, cc        listFlag // addresses ("Name <a@b>" or "a@b"), several per flag separated by commas
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
	// The signed manifest's fields (docs/manifest.md).
	docType       string
	nhi           string
	prescriber    string
	prescriberCPN string
	facilityHPI   string
	replaces      string // Message-ID of a message this one replaces
}

func sendCommand() command {
	return command{name: "send", summary: "send documents securely over TLS-enforced SMTP", usage: sendUsage,
		args: argRule{max: -1}, flags: sendDefine}
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
`

// sendDefine defines the flags of 'securesend send' on fs.
func sendDefine(fs *flag.FlagSet) runFunc {
	f := &sendFlags{}
	fs.StringVar(&f.from, "from", "", "sender `address`, e.g. \"Dr A Ngata <a.ngata@clinic.example.nz>\" (required)")
	fs.Var(&f.to, "to", "recipient `address`; repeat for several (at least one required)")
	fs.Var(&f.cc, "cc", "copy recipient `address`; repeatable")
	fs.StringVar(&f.subject, "subject", "", "subject `text`")
	fs.StringVar(&f.note, "note", "", "short covering note `text` sent with the documents")
	fs.StringVar(&f.receipt, "receipt", "", "write the transmission result as JSON to `file`")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON instead of the summary")
	fs.StringVar(&f.encrypt, "encrypt", "auto", "always, auto or never")
	fs.BoolVar(&f.queueOnly, "queue-only", false, "only write the message to the outbox; 'securesend outbox run' delivers it")
	fs.StringVar(&f.docType, "doc-type", "", "document `type` in the signed manifest, a lower-case word such as prescription or referral (default document)")
	fs.StringVar(&f.nhi, "nhi", "", "the patient's `NHI` number, carried in the signed manifest")
	fs.StringVar(&f.prescriber, "prescriber", "", "the responsible clinician's `name`, carried in the signed manifest")
	fs.StringVar(&f.prescriberCPN, "prescriber-cpn", "", "the clinician's HPI Common Person `number` (NNXXXX), carried in the signed manifest")
	fs.StringVar(&f.facilityHPI, "facility-hpi", "", "your practice's HPI facility `ID` (FXXNNN-C), carried in the signed manifest")
	fs.StringVar(&f.replaces, "replaces", "", "the `Message-ID` of a message you sent that this one replaces (the recipient sees the old one marked replaced)")
	f.defineConn(fs, "send with the stored account `name` (see 'securesend account add'): its server, sign-in and address")
	return func(ctx context.Context, c *call) error {
		f.docs = c.args
		return runSend(ctx, c, f)
	}
}

// defineConn defines on fs the flags that say how messages are delivered,
// the same for send, outbox run and hotfolder: a stored account (its flag
// described by accountUse), or a server with its TLS and sign-in.
func (f *sendFlags) defineConn(fs *flag.FlagSet, accountUse string) {
	fs.StringVar(&f.account, "account", "", accountUse)
	fs.StringVar(&f.server, "server", "", "mail submission server as `host:port`, e.g. smtp.example.org:465 (required without --account)")
	fs.StringVar(&f.security, "security", "tls", "how to encrypt: `tls` (implicit TLS, port 465) or starttls (port 587)")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM `file` of extra CA certificates to trust besides the system's")
	fs.StringVar(&f.user, "user", "", "user `name` to sign in with (needs --password-stdin)")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	fs.BoolVar(&f.requireTLS, "require-tls", false, "fail unless the server supports REQUIRETLS (RFC 8689), so the message is never relayed without TLS")
	fs.StringVar(&f.minTLS, "min-tls", "1.2", "lowest TLS `version` to accept: 1.2 or 1.3")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "how long to wait for the server at each step (`duration`)")
}

// connProblem says what is wrong with the combination of the connection
// flags (defineConn), or "" when nothing is: --account comes with no
// server or sign-in flag, and --user only with --password-stdin.
func (f *sendFlags) connProblem() string {
	if f.account != "" {
		var drop []string
		for _, c := range []struct {
			set  bool
			name string
		}{{f.server != "", "--server"}, {f.caFile != "", "--ca-file"}, {f.user != "", "--user"}, {f.passwordStdin, "--password-stdin"}} {
			if c.set {
				drop = append(drop, c.name)
			}
		}
		if len(drop) > 0 {
			return "--account sets the server and sign-in; drop " + strings.Join(drop, ", ")
		}
	}
	switch {
	case f.user != "" && !f.passwordStdin:
		return "--user needs --password-stdin (the password is never accepted on the command line)"
	case f.passwordStdin && f.user == "":
		return "--password-stdin needs --user"
	}
	return ""
}

// check says what is wrong with the flags of 'send' as a usage error.
func (f *sendFlags) check() error {
	if p := f.connProblem(); p != "" {
		return usagef("%s", p)
	}
	var missing []string
	if f.account == "" && f.server == "" {
		missing = append(missing, "--server")
	}
	if f.from == "" && f.account == "" {
		missing = append(missing, "--from")
	}
	if len(f.to) == 0 {
		missing = append(missing, "--to")
	}
	if len(missing) > 0 {
		return usagef("missing %s", strings.Join(missing, ", "))
	}
	if len(f.docs) == 0 {
		return usagef("no documents given; name the files to send after the flags")
	}
	return nil
}

// message builds the send.Message from the flags.
func (f *sendFlags) message() (*send.Message, error) {
	m := &send.Message{Subject: f.subject, Note: f.note, DocumentType: f.docType, PatientNHI: f.nhi,
		PrescriberName: f.prescriber, PrescriberCPN: f.prescriberCPN, FacilityHPI: f.facilityHPI}
	var err error
	if f.from != "" || f.account == "" { // else the account's address
		if m.From, err = parseAddr("--from", f.from); err != nil {
			return nil, err
		}
	}
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

// parseAddr parses the one address of flag flagName.
func parseAddr(flagName, value string) (mail.Address, error) {
	a, err := mail.ParseAddress(value)
	if err != nil {
		return mail.Address{}, fmt.Errorf("%s %q is not an e-mail address: %v", flagName, value, err)
	}
	return *a, nil
}

// parseAddrs parses the addresses of the repeatable flag flagName, each
// value a comma-separated list.
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

// via is how the flags send (desk.ViaOptions.Via): the stored account
// (--account) or the server (--server, --security, --ca-file, --user with
// the password read from stdin once, and only when the policy allowed the
// server), with --min-tls, --require-tls and --timeout tightening the
// policy.
func (f *sendFlags) via(stdin io.Reader) (desk.Via, error) {
	o := desk.ViaOptions{Account: f.account, Server: f.server, Security: f.security, CAFile: f.caFile, User: f.user,
		MinTLS: f.minTLS, RequireTLS: f.requireTLS, Timeout: f.timeout}
	if f.passwordStdin {
		o.Password = func() (string, error) { return readSecret(stdin, "--password-stdin") }
	}
	return o.Via()
}

func runSend(ctx context.Context, c *call, f *sendFlags) error {
	if err := f.check(); err != nil {
		return err
	}
	em, err := send.ParseEncryptMode(f.encrypt)
	if err != nil {
		return usagef("--encrypt must be always, auto or never, not %q", f.encrypt)
	}
	ob, id, err := queueSend(ctx, c, f, em)
	if printPolicyRefusal(c.stderr, err) {
		return exitCode(1)
	}
	if err != nil {
		return err
	}
	if f.queueOnly {
		if f.json {
			return printJSON(c.env, struct {
				Job   string       `json:"job"`
				State outbox.State `json:"state"`
			}{id, outbox.Queued})
		}
		fmt.Fprintf(c.stdout, "Queued as job %s; 'securesend outbox run' delivers it.\n", id)
		return nil
	}
	// Delivered now, through the policy gate in force at this moment, as
	// 'outbox run' delivers it.
	rec, sendErr := ob.Deliver(ctx, id, nil)
	var res *send.Result
	if rec != nil {
		res = rec.Result
	}
	var se *send.Error
	if errors.Is(sendErr, outbox.ErrNeedsConfirmation) && errors.As(sendErr, &se) {
		sendErr = se // the explanation follows from outboxExplain
	}
	code := reportSend(c.env, f, res, sendErr)
	outboxExplain(c.stderr, rec)
	return exitCode(code)
}

// queueSend does what 'securesend send' does before delivery, for the
// flags f: the message from the flags, then desk's Send (the policy gate,
// the protection, the outbox job) into the outbox that delivers with f's
// account or server. A *desk.Refused is a refusal of the message itself;
// an invalid message's error says what to fix (bare).
func queueSend(ctx context.Context, c *call, f *sendFlags, em send.EncryptMode) (*desk.Outbox, string, error) {
	v, err := f.via(c.stdin)
	if err != nil {
		return nil, "", err
	}
	m, err := f.message()
	if err != nil {
		return nil, "", err
	}
	ob, err := c.desk.Outbox(desk.OutboxOptions{Via: v})
	if err == nil {
		var id string
		if id, err = ob.Send(ctx, desk.Draft{Message: m, Via: v, Encrypt: em, Replaces: f.replaces}); err == nil {
			return ob, id, nil
		}
	}
	if errors.Is(err, send.ErrInvalidMessage) {
		err = bare(err)
	}
	return nil, "", err
}

// printPolicyRefusal prints err's reasons when it is the organisation's
// policy refusing a message (a *desk.Refused with Policy set), and
// reports whether it was.
func printPolicyRefusal(w io.Writer, err error) bool {
	var refused *desk.Refused
	if !errors.As(err, &refused) || !refused.Policy {
		return false
	}
	printRefused(w, "refused by your organisation's policy, so nothing was sent", refused)
	return true
}

// printRefused prints header and the reasons of refused, one a line.
func printRefused(w io.Writer, header string, refused *desk.Refused) {
	fmt.Fprintf(w, "securesend: %s:\n", header)
	for _, line := range refused.Reasons() {
		fmt.Fprintln(w, "  "+line)
	}
}

// reportSend prints the outcome, writes the receipt and picks the exit code.
func reportSend(e *env, f *sendFlags, res *send.Result, sendErr error) int {
	var se *send.Error
	if res == nil && errors.As(sendErr, &se) && se.Result != nil {
		res = se.Result // partial, for the record
	}
	if f.json {
		printJSON(e, struct {
			Result *send.Result    `json:"result"`
			Error  *desk.ErrorJSON `json:"error"`
		}{Result: res, Error: desk.JSONError(sendErr)})
	} else if res != nil {
		printLines(e.stdout, desk.TransmissionLines(res, sendErr))
	}
	code := 0
	if sendErr != nil {
		fmt.Fprintf(e.stderr, "securesend: %s\n", termsafe.String(desk.PlainError(sendErr)))
		code = 1
	}
	if f.receipt != "" {
		if _, err := desk.WriteReceipt(f.receipt, res, sendErr); err != nil {
			fmt.Fprintf(e.stderr, "securesend: the message WAS sent, but the receipt could not be written: %v\n", err)
			code = 1
		}
	}
	return code
}
