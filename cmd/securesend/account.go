package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/profile"
)

func accountCommand() command {
	return command{name: "account", summary: "add, list, sign in to, test and remove mail accounts", usage: "Mail accounts: settings in accounts.json, secrets in the OS keychain.\n", subs: []command{
		{name: "add", summary: "add an account",
			usage: "Usage: securesend account add --name NAME --email ADDR [flags]\n\nAdds an account. Secrets are never taken as flags: use --password-stdin, or\nanswer the prompt on a terminal.\n", flags: accountAdd},
		{name: "list", summary: "list accounts", usage: "Usage: securesend account list [--json]\n", flags: accountList},
		{name: "login", summary: "sign in to an OAuth account in the browser", usage: "Usage: securesend account login NAME [--timeout 10m]\n", args: accountName, flags: accountLogin},
		{name: "test", summary: "sign in to both servers over TLS; sends no mail", usage: "Usage: securesend account test NAME [--json]\n", args: accountName, flags: accountTest},
		{name: "password", summary: "replace the password of a password account", usage: "Usage: securesend account password NAME --password-stdin\n", args: accountName, flags: accountPassword},
		{name: "remove", summary: "remove an account and its keychain entries", usage: "Usage: securesend account remove NAME\n", args: accountName, run: accountRemove},
	}}
}

// accountName is the NAME argument of the commands on one account.
var accountName = oneArg("give the account name")

func accountAdd(fs *flag.FlagSet) runFunc {
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
	return func(ctx context.Context, c *call) error {
		if *pwStdin && *secretStdin {
			return errors.New("--password-stdin and --client-secret-stdin both read standard input; use one")
		}
		s := c.desk.ManageAccounts()
		// An organisation's template gives the servers and sign-in (as the
		// Settings tab adds one); otherwise the flags and a provider's preset.
		var tmpl *profile.AccountTemplate
		if *template != "" {
			for _, f := range append(templateFlags, "client-secret-stdin") {
				if c.given(f) {
					return fmt.Errorf("--%s does not go with --template: the template sets the servers and sign-in", f)
				}
			}
			t, err := s.Template(*template)
			if err != nil {
				return fmt.Errorf("--template %w", err)
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

		interactive := !*interactiveOff && isTerminal(c.stdin)
		var creds account.Credentials
		if *pwStdin || *secretStdin { // a pipe: on a terminal a read takes one line
			flag := "--client-secret-stdin"
			if *pwStdin {
				flag = "--password-stdin"
			}
			v, err := readSecret(c.stdin, flag)
			if err != nil {
				return err
			}
			if *pwStdin {
				creds.Password = v
			} else {
				creds.ClientSecret = v
			}
		}
		if interactive {
			ask := asker(c.env)
			ask(&a.Name, "Account name")
			ask(&a.Email, "E-mail address")
			if tmpl == nil {
				ask(&a.SMTP.Address, "SMTP server (host:port)")
				if a.IsOAuth() {
					ask(&a.OAuth.ClientID, "OAuth client ID")
				}
			}
			if a.Auth == account.AuthPassword && creds.Password == "" {
				pw, err := readHidden(c.env, "Password")
				if err != nil {
					return fmt.Errorf("%v (use --password-stdin)", err)
				}
				creds.Password = pw
			}
		}
		var err error
		switch {
		case a.Auth == account.AuthPassword && creds.Password == "":
			return errors.New("a password account needs its password: pipe it with --password-stdin")
		case a.Auth != account.AuthPassword && tmpl != nil && creds.Password != "":
			return fmt.Errorf("the template %s signs in with %s, not a password; leave out --password-stdin", tmpl.Name, a.Auth)
		case tmpl != nil:
			a, err = s.AddFromTemplate(*tmpl, a.Name, a.Email, creds)
		default:
			err = s.Add(a, creds)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Added account %s (%s); secrets are in the OS keychain.\n", a.Name, a.Email)
		if !a.IsOAuth() {
			return nil
		}
		if !*login || !interactive {
			fmt.Fprintf(c.stdout, "Sign in with: securesend account login %s\n", a.Name)
			return nil
		}
		return signIn(ctx, c, s, a.Name, defaultSignInTimeout)
	}
}

// templateFlags are the flags of 'account add' that an organisation's
// template sets: they do not go with --template.
var templateFlags = []string{"smtp", "imap", "smtp-security", "imap-security", "auth", "client-id", "tenant", "auth-url", "token-url", "scopes", "ca-file", "require-tls", "user"}

func accountList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print JSON")
	return func(_ context.Context, c *call) error {
		accts, err := c.desk.ManageAccounts().List()
		switch {
		case err != nil:
			return err
		case *asJSON && accts == nil:
			return printJSON(c.env, []account.Account{})
		case *asJSON:
			return printJSON(c.env, accts)
		case len(accts) == 0:
			fmt.Fprintln(c.stdout, "No accounts. Add one with 'securesend account add'.")
			return nil
		}
		printTable(c.stdout, desk.AccountRowHeader, accts, func(_ int, a account.Account) []string { return desk.AccountRow(a) })
		return nil
	}
}

func accountLogin(fs *flag.FlagSet) runFunc {
	timeout := fs.Duration("timeout", defaultSignInTimeout, "stop waiting for the browser sign-in after this long")
	return func(ctx context.Context, c *call) error {
		if *timeout <= 0 {
			return errors.New("--timeout must be positive")
		}
		return signIn(ctx, c, c.desk.ManageAccounts(), c.arg(), *timeout)
	}
}

// defaultSignInTimeout is how long the CLI waits for the browser sign-in,
// as long as the app does.
const defaultSignInTimeout = 10 * time.Minute

// signIn runs the browser sign-in of account name and stops after
// timeout with a message saying so; nothing is stored then.
func signIn(ctx context.Context, c *call, s *desk.AccountManager, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	browser := oauth.SystemBrowser(c.getenv)
	open := func(u string) error {
		// u is a one-time local page that forwards to the provider; it
		// carries no secret of the sign-in.
		fmt.Fprintf(c.stderr, "Opening the sign-in page in your browser (waiting up to %s). If it does not open, visit:\n  %s\n", timeout, u)
		if err := browser(u); err != nil {
			fmt.Fprintf(c.stderr, "(could not open a browser: %v)\n", err)
		}
		return nil
	}
	if err := s.SignIn(ctx, name, oauth.LoginOptions{OpenBrowser: open}); err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return fmt.Errorf("%s: no sign-in came back from the browser within %s, so the sign-in was stopped and nothing was stored; run 'securesend account login %s' to try again (--timeout sets how long to wait)", name, timeout, name)
		}
		return err
	}
	fmt.Fprintf(c.stdout, "Signed in to %s; the sign-in is kept in the OS keychain.\n", name)
	return nil
}

func accountTest(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print the report as JSON")
	return func(ctx context.Context, c *call) error {
		// The policy gate, as for sending: an account the organisation does
		// not allow is refused before its secrets are read, and the test signs
		// in only over the policy's lowest TLS version or later.
		rep, err := c.desk.ManageAccounts().Test(ctx, c.arg())
		if rep == nil && err != nil {
			return err
		}
		if *asJSON {
			printJSON(c.env, rep) //nolint:errcheck // the test's outcome follows
		} else {
			printLines(c.stdout, desk.ServerReportLines("SMTP", &rep.SMTP))
			if rep.IMAP != nil {
				printLines(c.stdout, desk.ServerReportLines("IMAP", rep.IMAP))
			}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Account %s works. No mail was sent.\n", c.arg())
		return nil
	}
}

func accountRemove(_ context.Context, c *call) error {
	if err := c.desk.ManageAccounts().Remove(c.arg()); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "Removed account %s and its keychain entries.\n", c.arg())
	return nil
}

func accountPassword(fs *flag.FlagSet) runFunc {
	pwStdin := fs.Bool("password-stdin", false, "read the new password from standard input (first line)")
	return func(_ context.Context, c *call) error {
		var pw string
		var err error
		switch {
		case *pwStdin:
			if pw, err = readSecret(c.stdin, "--password-stdin"); err != nil {
				return err
			}
		case isTerminal(c.stdin):
			if pw, err = readHidden(c.env, "New password"); err != nil {
				return fmt.Errorf("%v (use --password-stdin)", err)
			}
		default:
			return errors.New("pipe the password with --password-stdin")
		}
		if err := c.desk.ManageAccounts().SetPassword(c.arg(), pw); errors.Is(err, desk.ErrOAuthAccount) {
			return errors.New(strings.TrimSuffix(err.Error(), ": "+desk.ErrOAuthAccount.Error()))
		} else if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Replaced the password of %s in the OS keychain.\n", c.arg())
		return nil
	}
}
