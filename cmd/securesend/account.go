package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/profile"
)

func accountCommand() command {
	return command{
		name:    "account",
		summary: "add, list, sign in to, test and remove mail accounts",
		run:     runAccount,
	}
}

const accountUsage = `Usage: securesend account SUBCOMMAND [flags]

Subcommands:
  add      add an account (settings to accounts.json, secrets to the OS keychain)
  list     list accounts
  login    sign in to an OAuth account (Microsoft 365, Google, other) in the browser
  test     connect to both servers over enforced TLS and sign in; sends no mail
  password replace the password of a password account (--password-stdin)
  remove   remove an account and its keychain entries

Run 'securesend account SUBCOMMAND --help' for its flags.
`

func runAccount(ctx context.Context, e *env, args []string) int {
	return subcommands(e, "account", accountUsage, args, map[string]func([]string) int{
		"add":      func(a []string) int { return accountAdd(ctx, e, a) },
		"list":     func(a []string) int { return accountList(e, a) },
		"login":    func(a []string) int { return accountLogin(ctx, e, a) },
		"test":     func(a []string) int { return accountTest(ctx, e, a) },
		"remove":   func(a []string) int { return accountRemove(e, a) },
		"password": func(a []string) int { return accountPassword(e, a) },
	})
}

// manageAccounts opens the account store of the current home with the
// account use cases (policy checks, audit).
func manageAccounts(e *env) (*desk.AccountManager, error) {
	d, err := openDesk(e)
	if err != nil {
		return nil, err
	}
	return d.ManageAccounts(), nil
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func accountAdd(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "account add")
	var (
		a              account.Account
		smtpSec        = fs.String("smtp-security", "", "tls (implicit TLS, port 465) or starttls (port 587)")
		imapSec        = fs.String("imap-security", "", "tls (port 993) or starttls (port 143)")
		auth           = fs.String("auth", "password", "sign-in: password, microsoft, google or oauth (custom identity provider)")
		pwStdin        = fs.Bool("password-stdin", false, "read the password from standard input (first line)")
		secretStdin    = fs.Bool("client-secret-stdin", false, "read the OAuth client secret from standard input (first line)")
		clientID       = fs.String("client-id", "", "OAuth client (application) ID registered with the identity provider")
		tenant         = fs.String("tenant", "", "Microsoft 365 tenant ID or domain (default: organizations)")
		authURL        = fs.String("auth-url", "", "OAuth authorization endpoint (custom provider)")
		tokenURL       = fs.String("token-url", "", "OAuth token endpoint (custom provider)")
		scopes         = fs.String("scopes", "", "OAuth scopes, space-separated (custom provider)")
		login          = fs.Bool("login", true, "for OAuth accounts, sign in in the browser right away")
		interactiveOff = fs.Bool("no-prompt", false, "never ask on the terminal; fail when something is missing")
		template       = fs.String("template", "", "add the account on your organisation's account template `NAME` (its servers and sign-in): give only --name, --email and the password")
	)
	fs.StringVar(&a.Name, "name", "", "short account name, used as --account NAME")
	fs.StringVar(&a.Email, "email", "", "the mailbox's e-mail address")
	fs.StringVar(&a.SMTP.Address, "smtp", "", "submission server host:port")
	fs.StringVar(&a.IMAP.Address, "imap", "", "IMAP server host:port (empty: send-only account)")
	fs.StringVar(&a.CAFile, "ca-file", "", "PEM file of an extra trusted CA (private CA)")
	fs.StringVar(&a.User, "user", "", "sign-in name (default: the e-mail address)")
	fs.BoolVar(&a.RequireTLS, "require-tls", false, "refuse to send through a server without REQUIRETLS")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "Usage: securesend account add --name NAME --email ADDR [flags]")
		fmt.Fprintln(e.stderr, "Secrets are never taken as flags: use --password-stdin, or answer the prompt on a terminal.")
		fs.PrintDefaults()
	}
	if code := parseCode(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 0 {
		return errorf(e, "account add: unexpected argument %q", fs.Arg(0))
	}
	if *pwStdin && *secretStdin {
		return errorf(e, "account add: --password-stdin and --client-secret-stdin both read standard input; use one")
	}
	s, err := manageAccounts(e)
	if err != nil {
		return errorf(e, "account add: %v", err)
	}
	// An organisation's template gives the servers and sign-in (as the
	// Settings tab adds one); otherwise the flags and a provider's preset.
	var tmpl *profile.AccountTemplate
	if *template != "" {
		for _, f := range append(templateFlags, "client-secret-stdin") {
			if flagSet(fs, f) {
				return errorf(e, "account add: --%s does not go with --template: the template sets the servers and sign-in", f)
			}
		}
		t, err := s.Template(*template)
		if err != nil {
			return errorf(e, "account add: --template %s", keyText(err.Error()))
		}
		tmpl, a = &t, desk.AccountFromTemplate(t, a.Name, a.Email)
	} else {
		a.Auth = account.AuthMethod(*auth)
		a.SMTP.Security = account.Security(*smtpSec)
		a.IMAP.Security = account.Security(*imapSec)
		if a.IsOAuth() {
			a.OAuth = &account.OAuthSettings{ClientID: *clientID, Tenant: *tenant, AuthURL: *authURL, TokenURL: *tokenURL, Scopes: strings.Fields(*scopes)}
		}
		desk.AccountDefaults(&a) // the servers a provider preset gives, before asking
	}

	interactive := !*interactiveOff && isTerminal(e.stdin)
	var creds account.Credentials
	if *pwStdin || *secretStdin { // a pipe: on a terminal a read takes one line
		v, err := readLine(e.stdin)
		if err != nil {
			return errorf(e, "account add: read standard input: %v", err)
		}
		if v == "" {
			return errorf(e, "account add: standard input is empty")
		}
		if *pwStdin {
			creds.Password = v
		} else {
			creds.ClientSecret = v
		}
	}
	if interactive {
		ask := asker(e)
		ask(&a.Name, "Account name")
		ask(&a.Email, "E-mail address")
		if tmpl == nil {
			ask(&a.SMTP.Address, "SMTP server (host:port)")
			if a.IsOAuth() {
				ask(&a.OAuth.ClientID, "OAuth client ID")
			}
		}
		if a.Auth == account.AuthPassword && creds.Password == "" {
			pw, err := readHidden(e, "Password")
			if err != nil {
				return errorf(e, "account add: %v (use --password-stdin)", err)
			}
			creds.Password = pw
		}
	}
	switch {
	case a.Auth == account.AuthPassword && creds.Password == "":
		return errorf(e, "account add: a password account needs its password: pipe it with --password-stdin")
	case a.Auth != account.AuthPassword && tmpl != nil && creds.Password != "":
		return errorf(e, "account add: the template %s signs in with %s, not a password; leave out --password-stdin", keyText(tmpl.Name), a.Auth)
	case tmpl != nil:
		a, err = s.AddFromTemplate(*tmpl, a.Name, a.Email, creds)
	default:
		err = s.Add(a, creds)
	}
	if err != nil {
		return errorf(e, "account add: %s", keyText(err.Error()))
	}
	fmt.Fprintf(e.stdout, "Added account %s (%s); secrets are in the OS keychain.\n", a.Name, a.Email)
	if !a.IsOAuth() {
		return 0
	}
	if !*login || !interactive {
		fmt.Fprintf(e.stdout, "Sign in with: securesend account login %s\n", a.Name)
		return 0
	}
	return signIn(ctx, e, s, a.Name)
}

// templateFlags are the flags of 'account add' that an organisation's
// template sets: they do not go with --template.
var templateFlags = []string{"smtp", "imap", "smtp-security", "imap-security", "auth", "client-id", "tenant", "auth-url", "token-url", "scopes", "ca-file", "require-tls", "user"}

// asker returns ask, which asks on the terminal for *p when it is empty.
func asker(e *env) (ask func(p *string, question string)) {
	in := bufio.NewReader(e.stdin)
	return func(p *string, q string) {
		if *p == "" {
			fmt.Fprintf(e.stderr, "%s: ", q)
			line, _ := in.ReadString('\n')
			*p = strings.TrimSpace(line)
		}
	}
}

// readHidden asks for a secret on the terminal with echo off (stty).
func readHidden(e *env, prompt string) (string, error) {
	f, ok := e.stdin.(*os.File)
	if !ok {
		return "", errors.New("not a terminal")
	}
	stty := func(arg string) error {
		cmd := exec.Command("stty", arg)
		cmd.Stdin = f
		return cmd.Run()
	}
	if err := stty("-echo"); err != nil {
		return "", errors.New("cannot turn off echo on this terminal")
	}
	defer stty("echo") //nolint:errcheck // best effort restore
	fmt.Fprintf(e.stderr, "%s: ", prompt)
	line, err := bufio.NewReader(f).ReadString('\n')
	fmt.Fprintln(e.stderr)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func accountList(e *env, args []string) int {
	fs := newFlags(e, "account list")
	asJSON := fs.Bool("json", false, "print JSON")
	if code := parseCode(fs, args); code >= 0 {
		return code
	}
	s, err := manageAccounts(e)
	if err != nil {
		return errorf(e, "account list: %v", err)
	}
	accts, err := s.List()
	if err != nil {
		return errorf(e, "account list: %v", err)
	}
	if *asJSON {
		if accts == nil {
			accts = []account.Account{}
		}
		return printJSON(e, accts)
	}
	if len(accts) == 0 {
		fmt.Fprintln(e.stdout, "No accounts. Add one with 'securesend account add'.")
		return 0
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tEMAIL\tSMTP\tIMAP\tAUTH")
	for _, a := range accts {
		imapDesc := "-"
		if a.IMAP.Address != "" {
			imapDesc = a.IMAP.Address + " (" + string(a.IMAP.Security) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s (%s)\t%s\t%s\n", a.Name, a.Email, a.SMTP.Address, a.SMTP.Security, imapDesc, a.Auth)
	}
	tw.Flush()
	return 0
}

func accountLogin(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "account login")
	timeout := fs.Duration("timeout", defaultSignInTimeout, "stop waiting for the browser sign-in after this long")
	if code := parseCode(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		return errorf(e, "account login: give the account name")
	}
	if *timeout <= 0 {
		return errorf(e, "account login: --timeout must be positive")
	}
	s, err := manageAccounts(e)
	if err != nil {
		return errorf(e, "account login: %v", err)
	}
	return signInWithin(ctx, e, s, fs.Arg(0), *timeout)
}

// defaultSignInTimeout is how long the CLI waits for the browser sign-in,
// as long as the app does.
const defaultSignInTimeout = 10 * time.Minute

// signIn runs the browser sign-in of account name, waiting at most
// defaultSignInTimeout.
func signIn(ctx context.Context, e *env, s *desk.AccountManager, name string) int {
	return signInWithin(ctx, e, s, name, defaultSignInTimeout)
}

// signInWithin runs the browser sign-in of account name and stops after
// timeout with a message saying so; nothing is stored then.
func signInWithin(ctx context.Context, e *env, s *desk.AccountManager, name string, timeout time.Duration) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	browser := oauth.SystemBrowser(e.getenv)
	open := func(u string) error {
		// u is a one-time local page that forwards to the provider; it
		// carries no secret of the sign-in.
		fmt.Fprintf(e.stderr, "Opening the sign-in page in your browser (waiting up to %s). If it does not open, visit:\n  %s\n", timeout, u)
		if err := browser(u); err != nil {
			fmt.Fprintf(e.stderr, "(could not open a browser: %v)\n", err)
		}
		return nil
	}
	if err := s.SignIn(ctx, name, oauth.LoginOptions{OpenBrowser: open}); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return errorf(e, "account login: %s: no sign-in came back from the browser within %s, so the sign-in was stopped and nothing was stored; run 'securesend account login %s' to try again (--timeout sets how long to wait)", name, timeout, name)
		}
		return errorf(e, "account login: %v", err)
	}
	fmt.Fprintf(e.stdout, "Signed in to %s; the sign-in is kept in the OS keychain.\n", name)
	return 0
}

func accountTest(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "account test")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if code := parseCode(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		return errorf(e, "account test: give the account name")
	}
	s, err := manageAccounts(e)
	if err != nil {
		return errorf(e, "account test: %v", err)
	}
	// The policy gate, as for sending: an account the organisation does
	// not allow is refused before its secrets are read, and the test signs
	// in only over the policy's lowest TLS version or later.
	name := fs.Arg(0)
	rep, err := s.Test(ctx, name)
	if rep == nil && err != nil {
		return errorf(e, "account test: %v", err)
	}
	if *asJSON {
		printJSON(e, rep)
	} else {
		printServerReport(e.stdout, "SMTP", &rep.SMTP)
		if rep.IMAP != nil {
			printServerReport(e.stdout, "IMAP", rep.IMAP)
		}
	}
	if err != nil {
		return errorf(e, "account test: %v", err)
	}
	fmt.Fprintf(e.stdout, "Account %s works. No mail was sent.\n", name)
	return 0
}

func printServerReport(w io.Writer, what string, r *account.ServerReport) {
	fmt.Fprintf(w, "%s %s (%s)\n", what, r.Address, r.Security)
	if r.TLS.Version != "" {
		fmt.Fprintf(w, "  TLS:        %s, %s, certificate verified for %s\n", r.TLS.Version, r.TLS.CipherSuite, r.TLS.ServerName)
	}
	if len(r.AuthMechanisms) > 0 {
		fmt.Fprintf(w, "  AUTH:       %s\n", strings.Join(r.AuthMechanisms, " "))
	}
	if r.SignedInWith != "" {
		fmt.Fprintf(w, "  Signed in:  yes (%s)\n", r.SignedInWith)
	}
	if what == "SMTP" && r.Error == "" {
		fmt.Fprintf(w, "  REQUIRETLS: %s\n", yesNo(r.RequireTLS))
	}
	if what == "IMAP" && r.Error == "" {
		fmt.Fprintf(w, "  IDLE:       %s\n", yesNo(r.IDLE))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  FAILED:     %s\n", r.Error)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func accountRemove(e *env, args []string) int {
	fs := newFlags(e, "account remove")
	if code := parseCode(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 1 {
		return errorf(e, "account remove: give the account name")
	}
	s, err := manageAccounts(e)
	if err != nil {
		return errorf(e, "account remove: %v", err)
	}
	if err := s.Remove(fs.Arg(0)); err != nil {
		return errorf(e, "account remove: %v", err)
	}
	fmt.Fprintf(e.stdout, "Removed account %s and its keychain entries.\n", fs.Arg(0))
	return 0
}

func accountPassword(e *env, args []string) int {
	fs := newFlags(e, "account password")
	pwStdin := fs.Bool("password-stdin", false, "read the new password from standard input (first line)")
	name, code := parseOneArg(e, fs, args)
	if code >= 0 {
		return code
	}
	if name == "" {
		return errorf(e, "account password: give the account name")
	}
	var pw string
	var err error
	switch {
	case *pwStdin:
		if pw, err = readLine(e.stdin); err != nil {
			return errorf(e, "account password: read standard input: %v", err)
		}
	case isTerminal(e.stdin):
		if pw, err = readHidden(e, "New password"); err != nil {
			return errorf(e, "account password: %v (use --password-stdin)", err)
		}
	default:
		return errorf(e, "account password: pipe the password with --password-stdin")
	}
	s, err := manageAccounts(e)
	if err != nil {
		return errorf(e, "account password: %v", err)
	}
	if err := s.SetPassword(name, pw); errors.Is(err, desk.ErrOAuthAccount) {
		return errorf(e, "account password: %s", strings.TrimSuffix(err.Error(), ": "+desk.ErrOAuthAccount.Error()))
	} else if err != nil {
		return errorf(e, "account password: %v", err)
	}
	fmt.Fprintf(e.stdout, "Replaced the password of %s in the OS keychain.\n", name)
	return 0
}
