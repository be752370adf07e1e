package app

import (
	"context"
	"fmt"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/profile"
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
	// Templates are the organisation's account templates (the profile's
	// policy.Templates()); adding an account offers them first and asks
	// only for the name, address and (for password sign-in) password.
	Templates []profile.AccountTemplate
}

// AccountStore is what the Settings tab does with mail accounts:
// desk.AccountManager, which checks accounts against the organisation
// policy (adding, and testing over its TLS floor) and records changes in
// the audit log.
type AccountStore interface {
	List() ([]account.Account, error)
	Add(a account.Account, c account.Credentials) error
	// AddFromTemplate adds account name, address email, on the
	// organisation's template t (its servers, sign-in and CA), as
	// 'securesend account add --template' does.
	AddFromTemplate(t profile.AccountTemplate, name, email string, c account.Credentials) (account.Account, error)
	Remove(name string) error
	SignIn(ctx context.Context, name string, opts oauth.LoginOptions) error
	// Test connects to both servers and signs in; it sends no mail.
	Test(ctx context.Context, name string) (*account.TestReport, error)
}

// Providers offered when adding an account, after the organisation's
// templates (each "NAME (from your organisation)").
const (
	presetMicrosoft = "Microsoft 365"
	presetGoogle    = "Google Workspace"
	presetCustom    = "Other mail server (password)"
	// templateSuffix marks a template of the organisation's profile.
	templateSuffix = " (from your organisation)"
)

// accountField is one field of the add-account form with the line under
// it that says what is wrong with it.
type accountField struct {
	label string
	entry *focusEntry
	err   *widget.Label
	item  *widget.FormItem
}

// accountsSection is the Settings tab's part about mail accounts.
type accountsSection struct {
	ui  *UI
	cfg *AccountsConfig

	root   *fyne.Container
	list   *fyne.Container
	status *widget.Label

	preset   *focusSelect
	name     *focusEntry
	email    *focusEntry
	password *focusEntry
	smtp     *focusEntry
	imap     *focusEntry
	clientID *focusEntry
	tenant   *focusEntry
	fields   map[*focusEntry]*accountField
	// form is the one form of every field the choice needs, so that their
	// labels line up; advanced unfolds the fields few need.
	form         *widget.Form
	providerItem *widget.FormItem
	advanced     *focusCheck
	addBtn       *focusButton

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

// field makes an entry of the form with its error line; editing the
// field clears its error once what it says is mended.
func (a *accountsSection) field(label, placeholder string, password bool) *focusEntry {
	e := newEntry(false, placeholder)
	if password {
		e.Password = true
	}
	f := &accountField{label: label, entry: e, err: fieldError()}
	f.item = widget.NewFormItem(label, container.NewVBox(e, f.err))
	a.fields[e] = f
	e.OnChanged = func(string) {
		if f.err.Visible() {
			a.recheck(e)
		}
	}
	return e
}

func (a *accountsSection) buildUI() {
	a.fields = map[*focusEntry]*accountField{}
	a.list = container.NewVBox()
	a.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	a.name = a.field("Name", "a short name, e.g. practice", false)
	a.email = a.field("E-mail", "the mailbox's address, e.g. reception@practice.co.nz", false)
	a.password = a.field("Password", "the mailbox's password (kept in the system keychain only)", true)
	a.smtp = a.field("Sending server", "e.g. mail.practice.co.nz:465", false)
	a.imap = a.field("Inbox server", "e.g. mail.practice.co.nz:993 (optional)", false)
	a.clientID = a.field("Application ID", "from your IT provider, who registered securesend", false)
	a.tenant = a.field("Tenant", "your organisation's domain or tenant ID (optional)", false)
	a.form = widget.NewForm()
	a.advanced = newCheck("Advanced settings", func(bool) { a.layoutForm() })
	var options []string
	for _, t := range a.cfg.Templates {
		options = append(options, t.Name+templateSuffix)
	}
	options = append(options, presetMicrosoft, presetGoogle, presetCustom)
	a.preset = newSelect(options, "")
	a.preset.PlaceHolder = "Choose your mail provider"
	a.preset.OnChanged = func(string) { a.layoutForm() }
	a.providerItem = widget.NewFormItem("Provider", a.preset)
	a.addBtn = newButton("Add account", theme.ContentAddIcon(), widget.MediumImportance, a.onAdd)
	a.root = container.NewVBox(
		heading("Mail accounts"),
		a.list,
		heading("Add an account"),
		a.form,
		a.advanced,
		container.NewHBox(a.addBtn),
	)
	a.preset.SetSelected(options[0])
	accts, err := a.cfg.Store.List() // a small file
	a.showAccounts(accts, err)
}

// template is the organisation's template chosen, if one is.
func (a *accountsSection) template() (profile.AccountTemplate, bool) {
	for _, t := range a.cfg.Templates {
		if a.preset.Selected == t.Name+templateSuffix {
			return t, true
		}
	}
	return profile.AccountTemplate{}, false
}

// wanted lists the fields the chosen provider needs, in order, and those
// it may need that "Show advanced settings" unfolds.
func (a *accountsSection) wanted() (basic, advanced []*focusEntry) {
	basic = []*focusEntry{a.name, a.email}
	if t, ok := a.template(); ok {
		if t.Auth != "oauth2" {
			basic = append(basic, a.password)
		}
		return basic, nil
	}
	// The application ID has no default, so it is asked for with the
	// name and address: folded away, it surfaced only as a third error
	// after Add account. The tenant is optional and stays folded.
	switch a.preset.Selected {
	case presetMicrosoft:
		return append(basic, a.clientID), []*focusEntry{a.tenant}
	case presetGoogle:
		return append(basic, a.clientID), nil
	}
	return append(basic, a.password, a.smtp, a.imap), nil
}

// layoutForm shows the fields the chosen provider needs (onPreset): its
// servers are known for Microsoft 365, Google and the organisation's
// templates, so only Other asks for them; Microsoft 365 and Google ask for
// the application ID, and Microsoft 365's optional tenant is folded away
// under the advanced settings.
func (a *accountsSection) layoutForm() {
	basic, adv := a.wanted()
	if len(adv) == 0 {
		a.advanced.Hide()
	} else {
		a.advanced.Show()
	}
	shown := basic
	if a.advanced.Checked {
		shown = append(append([]*focusEntry(nil), basic...), adv...)
	}
	a.form.Items = []*widget.FormItem{a.providerItem}
	for _, e := range shown {
		a.form.Items = append(a.form.Items, a.fields[e].item)
	}
	for _, f := range a.fields {
		if !slices.Contains(shown, f.entry) {
			setErr(f.err, "")
		}
	}
	a.form.Refresh()
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

// problem is what is wrong with one field.
type problem struct {
	field *focusEntry
	msg   string
}

// check returns what is wrong with the fields the chosen provider needs,
// in the order they are shown (advanced ones last), or the account.
func (a *accountsSection) check() (account.Account, account.Credentials, []problem) {
	var probs []problem
	bad := func(e *focusEntry, msg string) { probs = append(probs, problem{e, msg}) }
	acct := account.Account{Name: strings.TrimSpace(a.name.Text), Email: strings.TrimSpace(a.email.Text)}
	var creds account.Credentials
	switch {
	case acct.Name == "":
		bad(a.name, "Enter a short name for this account, e.g. practice.")
	case !account.ValidName(acct.Name):
		bad(a.name, "Use letters, digits, dots, dashes or underscores only, e.g. practice.")
	}
	if acct.Email == "" {
		bad(a.email, "Enter the mailbox's address, e.g. reception@practice.co.nz.")
	} else if ad, err := mail.ParseAddress(acct.Email); err != nil || ad.Address != acct.Email || ad.Name != "" {
		bad(a.email, "This is not an e-mail address. Enter it as name@domain, e.g. reception@practice.co.nz.")
	}
	needPassword := func() {
		creds.Password = a.password.Text
		if creds.Password == "" {
			bad(a.password, "Enter the mailbox's password.")
		}
	}
	server := func(e *focusEntry, implicitPort, what string, optional bool) account.Server {
		text := strings.TrimSpace(e.Text)
		if text == "" {
			if !optional {
				bad(e, "Enter the "+what+", e.g. mail.practice.co.nz:"+implicitPort+".")
			}
			return account.Server{}
		}
		srv, err := serverFromText(text)
		if err != nil {
			bad(e, "Enter the "+what+" as name:port, e.g. mail.practice.co.nz:"+implicitPort+".")
		}
		return srv
	}
	if t, ok := a.template(); ok {
		acct = desk.AccountFromTemplate(t, acct.Name, acct.Email)
		if t.Auth != "oauth2" {
			needPassword()
		}
		return acct, creds, probs
	}
	switch a.preset.Selected {
	case presetMicrosoft, presetGoogle:
		acct.Auth = account.AuthGoogle
		if a.preset.Selected == presetMicrosoft {
			acct.Auth = account.AuthMicrosoft
		}
		acct.OAuth = &account.OAuthSettings{ClientID: strings.TrimSpace(a.clientID.Text), Tenant: strings.TrimSpace(a.tenant.Text)}
		if acct.OAuth.ClientID == "" {
			bad(a.clientID, "Enter the application (OAuth client) ID your IT provider registered for securesend.")
		}
		desk.AccountDefaults(&acct)
	case presetCustom:
		acct.Auth = account.AuthPassword
		needPassword()
		acct.SMTP = server(a.smtp, "465", "sending server", false)
		acct.IMAP = server(a.imap, "993", "inbox server", true)
		desk.AccountDefaults(&acct)
	default:
		probs = append([]problem{{nil, "Choose your mail provider first."}}, probs...)
	}
	return acct, creds, probs
}

// showProblems shows each problem next to its field (unfolding the
// advanced settings when one is there) and clears the others; the first
// field with a problem gets the focus.
func (a *accountsSection) showProblems(probs []problem) {
	byField := map[*focusEntry]string{}
	for _, p := range probs {
		if p.field != nil {
			if _, seen := byField[p.field]; !seen {
				byField[p.field] = p.msg
			}
		}
	}
	_, adv := a.wanted()
	for _, e := range adv {
		if byField[e] != "" && !a.advanced.Checked {
			a.advanced.SetChecked(true)
		}
	}
	for e, f := range a.fields {
		setErr(f.err, byField[e])
	}
	if len(probs) > 0 && probs[0].field != nil && a.ui.win != nil {
		a.ui.win.Canvas().Focus(probs[0].field)
	}
}

// recheck clears or updates the error of field e as it is edited, and the
// summary once no problem is left.
func (a *accountsSection) recheck(e *focusEntry) {
	_, _, probs := a.check()
	msg := ""
	for _, p := range probs {
		if p.field == e {
			msg = p.msg
			break
		}
	}
	setErr(a.fields[e].err, msg)
	if strings.HasPrefix(a.status.Text, "Not added") {
		left := 0
		for _, f := range a.fields {
			if f.err.Visible() {
				left++
			}
		}
		if left == 0 {
			a.status.SetText("")
		}
	}
}

// serverFromText reads host:port; its security is left for
// desk.AccountDefaults to pick from the port.
func serverFromText(text string) (account.Server, error) {
	text = strings.TrimSpace(text)
	host, port, err := net.SplitHostPort(text)
	if err != nil || host == "" || port == "" {
		return account.Server{}, fmt.Errorf("%q is not host:port", text)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return account.Server{}, fmt.Errorf("%q has no valid port", text)
	}
	return account.Server{Address: text}, nil
}

func (a *accountsSection) onAdd() {
	acct, creds, probs := a.check()
	a.showProblems(probs)
	if len(probs) > 0 {
		msg := "Not added: correct the field marked in red."
		switch {
		case probs[0].field == nil:
			msg = "Not added: " + sentence(probs[0].msg)
		case len(probs) > 1:
			msg = fmt.Sprintf("Not added: correct the %d fields marked in red.", len(probs))
		}
		a.status.SetText(msg)
		return
	}
	tmpl, isTemplate := a.template()
	a.start("Adding the account…", func() string {
		var err error
		if isTemplate {
			// One path with the command line's --template: the desk
			// checks the name is free before it keeps the template's
			// CA, and removes the CA again if the account is refused.
			acct, err = a.cfg.Store.AddFromTemplate(tmpl, acct.Name, acct.Email, creds)
		} else {
			err = a.cfg.Store.Add(acct, creds)
		}
		if err != nil {
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
	d, _ := a.ui.askDialog("Remove account "+acct.Name+"?",
		&widget.Label{Wrapping: fyne.TextWrapWord, Text: "securesend forgets the account and its password or sign-in (kept in the system keychain). Mail already received stays in the inbox; messages waiting in the outbox for this account are not sent until it is added again."},
		"No", "Yes", func() { a.remove(acct.Name) })
	d.Resize(fyne.NewSize(min(480, a.ui.win.Canvas().Size().Width-40), 0))
	a.ui.showDialog(d)
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
