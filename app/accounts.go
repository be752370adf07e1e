package app

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/oauth"
)

// AccountsConfig lets the Settings tab add, sign in and test mail accounts
// in the home's account store (the one 'securesend account' uses).
type AccountsConfig struct {
	Store AccountStore
	// OpenBrowser shows an OAuth sign-in page (oauth.SystemBrowser).
	OpenBrowser func(url string) error
	// Use, when set, makes the named account the one the app sends and
	// receives with (remembered across restarts); Settings then offers
	// "Use this account" on every other account.
	Use func(name string) error
}

// AccountStore is what the Settings tab does with mail accounts:
// desk.AccountManager, which checks accounts against the organisation
// policy (adding, and testing over its TLS floor) and records changes in
// the audit log.
type AccountStore interface {
	List() ([]account.Account, error)
	Add(a account.Account, c account.Credentials) error
	Remove(name string) error
	SignIn(ctx context.Context, name string, opts oauth.LoginOptions) error
	// Test connects to both servers and signs in; it sends no mail.
	Test(ctx context.Context, name string) (*account.TestReport, error)
}

// Presets offered when adding an account.
const (
	presetMicrosoft = "Microsoft 365"
	presetGoogle    = "Google Workspace"
	presetCustom    = "Other mail server (password)"
)

// accountsSection is the Settings tab's part about mail accounts.
type accountsSection struct {
	ui  *UI
	cfg *AccountsConfig

	root   *fyne.Container
	list   *fyne.Container
	status *widget.Label

	preset   *widget.Select
	name     *widget.Entry
	email    *widget.Entry
	clientID *widget.Entry
	tenant   *widget.Entry
	smtp     *widget.Entry
	imap     *widget.Entry
	password *widget.Entry
	custom   *fyne.Container // fields only the custom preset needs
	oauthBox *fyne.Container // fields only the OAuth presets need
	addBtn   *widget.Button

	mu   sync.Mutex
	busy bool
	// done, when set (tests), is called on the UI goroutine after each
	// operation has been shown.
	done func()
}

func newAccountsSection(u *UI, cfg *AccountsConfig) *accountsSection {
	a := &accountsSection{ui: u, cfg: cfg}
	a.buildUI()
	return a
}

func (a *accountsSection) buildUI() {
	a.list = container.NewVBox()
	a.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	a.name = &widget.Entry{PlaceHolder: "a short name, e.g. practice"}
	a.email = &widget.Entry{PlaceHolder: "the mailbox's address"}
	a.clientID = &widget.Entry{PlaceHolder: "from your IT provider (application ID)"}
	a.tenant = &widget.Entry{PlaceHolder: "your organisation's domain or tenant ID (optional)"}
	a.smtp = &widget.Entry{PlaceHolder: "host:465 (implicit TLS) or host:587 (STARTTLS)"}
	a.imap = &widget.Entry{PlaceHolder: "host:993 (optional)"}
	a.password = widget.NewPasswordEntry()
	a.password.PlaceHolder = "kept in the system keychain only"
	a.oauthBox = container.NewVBox(widget.NewForm(
		widget.NewFormItem("OAuth client ID", a.clientID),
		widget.NewFormItem("Tenant (Microsoft)", a.tenant),
	))
	a.custom = container.NewVBox(widget.NewForm(
		widget.NewFormItem("Sending server", a.smtp),
		widget.NewFormItem("Inbox server", a.imap),
		widget.NewFormItem("Password", a.password),
	))
	a.preset = widget.NewSelect([]string{presetMicrosoft, presetGoogle, presetCustom}, a.onPreset)
	a.addBtn = &widget.Button{Text: "Add account", Icon: theme.ContentAddIcon(), OnTapped: a.onAdd}
	a.root = container.NewVBox(
		heading("Mail accounts"),
		a.list,
		heading("Add an account"),
		widget.NewForm(
			widget.NewFormItem("Provider", a.preset),
			widget.NewFormItem("Name", a.name),
			widget.NewFormItem("E-mail", a.email),
		),
		a.oauthBox,
		a.custom,
		container.NewHBox(a.addBtn),
		a.status,
	)
	a.preset.SetSelected(presetMicrosoft)
	accts, err := a.cfg.Store.List() // a small file
	a.showAccounts(accts, err)
}

// onPreset shows the fields the chosen provider needs.
func (a *accountsSection) onPreset(p string) {
	if p == presetCustom {
		a.oauthBox.Hide()
		a.custom.Show()
	} else {
		a.custom.Hide()
		a.oauthBox.Show()
	}
}

// start runs op off the UI goroutine (one at a time), reloads the account
// list, shows the outcome and has the app take the accounts as they are
// now into use (UI.reload).
func (a *accountsSection) start(working string, op func() (msg string)) {
	a.mu.Lock()
	if a.busy {
		a.mu.Unlock()
		a.status.SetText("Please wait: the previous operation is still running.")
		return
	}
	a.busy = true
	a.mu.Unlock()
	a.status.SetText(working)
	go func() {
		msg := op()
		accts, err := a.cfg.Store.List()
		fyne.Do(func() {
			a.mu.Lock()
			a.busy = false
			a.mu.Unlock()
			a.showAccounts(accts, err)
			a.status.SetText(msg)
			a.ui.reload()
			if a.done != nil {
				a.done()
			}
		})
	}()
}

func (a *accountsSection) showAccounts(accts []account.Account, err error) {
	a.list.RemoveAll()
	if err != nil {
		a.list.Add(&widget.Label{Text: "The accounts could not be read: " + sentence(err.Error()), Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance})
		return
	}
	if len(accts) == 0 {
		a.list.Add(&widget.Label{Text: "No mail account yet. Add your practice's or pharmacy's mailbox below.", Wrapping: fyne.TextWrapWord})
	}
	for _, acct := range accts {
		acct := acct
		detail := fmt.Sprintf("Sending: %s (%s)", acct.SMTP.Address, securityText(acct.SMTP.Security))
		if acct.IMAP.Address != "" {
			detail += fmt.Sprintf(" · Inbox: %s (%s)", acct.IMAP.Address, securityText(acct.IMAP.Security))
		}
		detail += " · Sign-in: " + authText(acct.Auth)
		buttons := container.NewHBox(&widget.Button{Text: "Test connection", Icon: theme.ViewRefreshIcon(), OnTapped: func() { a.test(acct) }})
		switch acct.Auth {
		case account.AuthMicrosoft:
			buttons.Add(&widget.Button{Text: "Sign in with Microsoft", Icon: theme.LoginIcon(), OnTapped: func() { a.signIn(acct) }})
		case account.AuthGoogle:
			buttons.Add(&widget.Button{Text: "Sign in with Google", Icon: theme.LoginIcon(), OnTapped: func() { a.signIn(acct) }})
		case account.AuthOAuth:
			buttons.Add(&widget.Button{Text: "Sign in", Icon: theme.LoginIcon(), OnTapped: func() { a.signIn(acct) }})
		}
		title := acct.Name + " — " + acct.Email
		switch {
		case acct.Name == a.ui.cfg.Account:
			title += " (in use for sending and the inbox)"
		case a.cfg.Use != nil:
			buttons.Add(&widget.Button{Text: "Use this account", Icon: theme.ConfirmIcon(), OnTapped: func() { a.use(acct.Name) }})
		}
		buttons.Add(&widget.Button{Text: "Remove…", Icon: theme.DeleteIcon(), Importance: widget.LowImportance, OnTapped: func() { a.confirmRemove(acct) }})
		a.list.Add(container.NewBorder(nil, nil, widget.NewIcon(theme.MailComposeIcon()), nil, container.NewVBox(
			&widget.Label{Text: title, TextStyle: fyne.TextStyle{Bold: true}},
			&widget.Label{Text: detail, Wrapping: fyne.TextWrapWord},
			buttons,
		)))
	}
}

func securityText(s account.Security) string {
	if s == account.StartTLS {
		return "STARTTLS"
	}
	return "TLS"
}

func authText(m account.AuthMethod) string {
	switch m {
	case account.AuthMicrosoft:
		return "Microsoft 365"
	case account.AuthGoogle:
		return "Google"
	case account.AuthOAuth:
		return "OAuth"
	}
	return "password"
}

// newAccount builds the account from the form (presets filled in).
func (a *accountsSection) newAccount() (account.Account, account.Credentials, error) {
	acct := account.Account{Name: strings.TrimSpace(a.name.Text), Email: strings.TrimSpace(a.email.Text)}
	var creds account.Credentials
	switch a.preset.Selected {
	case presetMicrosoft, presetGoogle:
		acct.Auth = account.AuthGoogle
		if a.preset.Selected == presetMicrosoft {
			acct.Auth = account.AuthMicrosoft
		}
		acct.OAuth = &account.OAuthSettings{ClientID: strings.TrimSpace(a.clientID.Text), Tenant: strings.TrimSpace(a.tenant.Text)}
		if acct.OAuth.ClientID == "" {
			return acct, creds, fmt.Errorf("enter the OAuth client ID your IT provider registered for securesend")
		}
		acct.ApplyPreset()
	default:
		acct.Auth = account.AuthPassword
		var err error
		if acct.SMTP, err = serverFromText(a.smtp.Text, "465"); err != nil {
			return acct, creds, fmt.Errorf("sending server: %w", err)
		}
		if strings.TrimSpace(a.imap.Text) != "" {
			if acct.IMAP, err = serverFromText(a.imap.Text, "993"); err != nil {
				return acct, creds, fmt.Errorf("inbox server: %w", err)
			}
		}
		creds.Password = a.password.Text
	}
	return acct, creds, nil
}

// serverFromText reads host:port; TLS from the first byte on the implicit
// TLS port (465, 993), STARTTLS otherwise.
func serverFromText(text, implicitPort string) (account.Server, error) {
	text = strings.TrimSpace(text)
	host, port, err := net.SplitHostPort(text)
	if err != nil || host == "" || port == "" {
		return account.Server{}, fmt.Errorf("%q is not host:port", text)
	}
	sec := account.StartTLS
	if port == implicitPort {
		sec = account.ImplicitTLS
	}
	return account.Server{Address: text, Security: sec}, nil
}

func (a *accountsSection) onAdd() {
	acct, creds, err := a.newAccount()
	if err != nil {
		a.status.SetText("Not added: " + sentence(err.Error()))
		return
	}
	a.start("Adding the account…", func() string {
		if err := a.cfg.Store.Add(acct, creds); err != nil {
			return "Not added: " + sentence(err.Error())
		}
		fyne.Do(func() { a.password.SetText("") })
		msg := "Added account " + acct.Name + "."
		if acct.IsOAuth() {
			msg += " Now sign in with the button beside it."
		} else {
			msg += " Press Test connection to check it."
		}
		return msg
	})
}

// confirmRemove asks before removing an account.
func (a *accountsSection) confirmRemove(acct account.Account) {
	dialog.ShowConfirm("Remove account "+acct.Name+"?",
		"securesend forgets the account and its password or sign-in (kept in the system keychain). Mail already received stays in the inbox; messages waiting in the outbox for this account are not sent until it is added again.",
		func(ok bool) {
			if ok {
				a.remove(acct.Name)
			}
		}, a.ui.win)
}

// use makes name the account in use; the app switches to it (UI.reload).
func (a *accountsSection) use(name string) {
	a.start("Switching to account "+name+"…", func() string {
		if err := a.cfg.Use(name); err != nil {
			return "Not switched: " + sentence(err.Error())
		}
		return ""
	})
}

// relist shows the accounts as the store has them now.
func (a *accountsSection) relist() {
	a.showAccounts(a.cfg.Store.List())
}

// remove removes an account from the store, with its secrets.
func (a *accountsSection) remove(name string) {
	a.start("Removing "+name+"…", func() string {
		if err := a.cfg.Store.Remove(name); err != nil {
			return "Not removed: " + sentence(err.Error())
		}
		return "Removed account " + name + "."
	})
}

// test runs account.Test and says what it found in plain words.
func (a *accountsSection) test(acct account.Account) {
	a.start("Testing "+acct.Name+"… (connecting over TLS and signing in; nothing is sent)", func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		rep, err := a.cfg.Store.Test(ctx, acct.Name)
		return testSummary(acct, rep, err)
	})
}

// testSummary is the outcome of a connection test in plain words.
func testSummary(acct account.Account, rep *account.TestReport, err error) string {
	if rep == nil {
		return "The test could not run: " + sentence(err.Error())
	}
	line := func(what string, r account.ServerReport) string {
		if r.Error != "" {
			msg := r.Error
			if _, after, ok := strings.Cut(msg, r.Address+": "); ok {
				msg = after // "smtp: dial host:port: " says nothing more
			}
			return what + " " + r.Address + ": problem — " + sentence(msg)
		}
		s := fmt.Sprintf("%s %s: OK, %s", what, r.Address, r.TLS.Version)
		if r.SignedInWith != "" {
			s += ", signed in"
		}
		if what == "Sending server" {
			if r.RequireTLS {
				s += ", REQUIRETLS offered"
			} else {
				s += ", REQUIRETLS not offered"
			}
		}
		return s + "."
	}
	lines := []string{line("Sending server", rep.SMTP)}
	if rep.IMAP != nil {
		lines = append(lines, line("Inbox server", *rep.IMAP))
	}
	head := "Account " + acct.Name + " works."
	if err != nil {
		head = "Account " + acct.Name + " has a problem."
	}
	return head + "\n" + strings.Join(lines, "\n")
}

// signIn runs the OAuth sign-in in the system browser.
func (a *accountsSection) signIn(acct account.Account) {
	if a.cfg.OpenBrowser == nil {
		a.status.SetText("Signing in needs a web browser, which is not available here.")
		return
	}
	a.start("Opening your browser to sign in to "+authText(acct.Auth)+"… finish there and come back.", func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if err := a.cfg.Store.SignIn(ctx, acct.Name, oauth.LoginOptions{OpenBrowser: a.cfg.OpenBrowser}); err != nil {
			return "Not signed in: " + sentence(err.Error())
		}
		return "Signed in to " + acct.Name + ". The sign-in is kept in the system keychain."
	})
}
