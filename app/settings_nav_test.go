package app

import (
	"context"
	"image/color"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile"
)

// settingsUI is a demo window whose Settings tab manages a key store and
// an account store (secrets in memory), built.
func settingsUI(t *testing.T, kc bool, edit func(*Config)) (*demoUI, *account.Store) {
	t.Helper()
	var ks *pgp.Store
	var err error
	if kc {
		ks, err = pgp.OpenStore(t.TempDir(), testKeychain(t), nil)
	} else {
		ks, err = pgp.OpenStore(t.TempDir(), nil, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	accts := account.NewStore(home.Home{Dir: t.TempDir()}, demomail.NewSecrets())
	u := newDemoUI(t, func(c *Config) {
		c.Keys = &KeysConfig{Store: ks}
		c.Accounts = &AccountsConfig{Store: storeAccounts{accts}}
		if edit != nil {
			edit(c)
		}
	})
	return u, accts
}

// formLabels are the labels of a form's rows, in order.
func formLabels(u *demoUI) []string {
	var out []string
	for _, it := range u.settings.accounts.form.Items[1:] { // after Provider
		out = append(out, it.Text)
	}
	return out
}

// TestSettingsNavigationByKeyboard: the Settings sections are listed on
// the left and reached with Tab; Enter on one shows it, and Tab goes on
// into it.
func TestSettingsNavigationByKeyboard(t *testing.T) {
	u, _ := settingsUI(t, false, nil)
	var titles []string
	for _, s := range u.settings.sections {
		titles = append(titles, s.title)
	}
	if want := []string{sectionOwnKey, sectionAccounts, sectionKeys}; !slices.Equal(titles, want) {
		t.Fatalf("sections %v, want %v", titles, want)
	}
	u.win.Resize(fyne.NewSize(800, 600))
	u.selectTab(slices.Index(u.tabs.Items, u.settings.item))
	c := u.win.Canvas()
	if c.Focused() != u.settings.sections[0].button {
		t.Fatalf("the first control of Settings is %T, not the first section's button", c.Focused())
	}
	mail := u.settings.sections[1].button
	for i := 0; i < 5 && c.Focused() != mail; i++ {
		c.FocusNext()
	}
	if c.Focused() != mail {
		t.Fatal("Tab does not reach the Mail accounts button")
	}
	c.Focused().TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	if u.settings.current.title != sectionAccounts || mail.Importance != widget.HighImportance {
		t.Fatalf("Enter showed %q", u.settings.current.title)
	}
	// Tab goes on into the section, to the provider first.
	for i := 0; i < 20 && c.Focused() != u.settings.accounts.preset; i++ {
		c.FocusNext()
	}
	if c.Focused() != u.settings.accounts.preset {
		t.Error("Tab does not reach the provider choice")
	}
	// Each section fits the window's width at 800×600.
	for _, s := range u.settings.sections {
		u.settings.show(s)
		if m := u.win.Content().MinSize(); m.Width > 800 || m.Height > 600 {
			t.Errorf("%s needs %v", s.title, m)
		}
	}
}

// TestAccountFormProviderFirst: the form asks what the chosen provider
// needs: Microsoft 365 a name, address and application ID (its servers
// are known; the optional tenant folded away), Other the servers and
// password; an organisation's template comes first and needs only the
// name, address and password, and its servers are used.
func TestAccountFormProviderFirst(t *testing.T) {
	tmpl := profile.AccountTemplate{Name: "Practice mailbox", SMTPHost: "mail.practice.test", SMTPPort: 587, SMTPSecurity: "starttls",
		IMAPHost: "mail.practice.test", IMAPPort: 993, IMAPSecurity: "tls", Auth: "password"}
	// The demo desk's own account manager, as the app has it: templates
	// go through desk.AccountManager.AddFromTemplate.
	cfg, _ := openDemo(t, desk.DemoOptions{})
	cfg.Keys, cfg.Reload = nil, nil
	rec := &recordingAccounts{AccountManager: cfg.Accounts.Store.(*desk.AccountManager)}
	cfg.Accounts.Store, cfg.Accounts.Templates = rec, []profile.AccountTemplate{tmpl}
	u := &demoUI{UI: newUI(t, cfg)}
	u.tabs.Select(u.settings.item)
	store := rec.AccountManager
	a := u.settings.accounts
	if a.preset.Selected != "Practice mailbox (from your organisation)" {
		t.Errorf("first choice %q", a.preset.Selected)
	}
	for _, tc := range []struct {
		preset   string
		advanced bool
		want     []string
	}{
		{"Practice mailbox (from your organisation)", false, []string{"Name", "E-mail", "Password"}},
		{presetMicrosoft, false, []string{"Name", "E-mail", "Application ID"}},
		{presetMicrosoft, true, []string{"Name", "E-mail", "Application ID", "Tenant"}},
		{presetGoogle, false, []string{"Name", "E-mail", "Application ID"}},
		{presetCustom, false, []string{"Name", "E-mail", "Password", "Sending server", "Inbox server"}},
	} {
		a.advanced.SetChecked(false)
		a.preset.SetSelected(tc.preset)
		if tc.advanced {
			if !a.advanced.Visible() {
				t.Errorf("%s: no advanced settings to unfold", tc.preset)
			}
			a.advanced.SetChecked(true)
		}
		if got := formLabels(u); !slices.Equal(got, tc.want) {
			t.Errorf("%s (advanced %v): fields %v, want %v", tc.preset, tc.advanced, got, tc.want)
		}
		if tc.preset == presetCustom && a.advanced.Visible() {
			t.Error("Other has nothing advanced to unfold")
		}
	}
	// The template's servers, with the name, address and password typed.
	a.preset.SetSelected("Practice mailbox (from your organisation)")
	a.name.SetText("practice")
	a.email.SetText("reception@practice.test")
	a.password.SetText("pw")
	done := expect(&a.done)
	test.Tap(a.addBtn)
	await(t, "add", done)
	got, err := store.Get("practice")
	if err != nil {
		t.Fatalf("not added: %v (%s)", err, a.status.Text)
	}
	if got.SMTP != (account.Server{Address: "mail.practice.test:587", Security: account.StartTLS}) ||
		got.IMAP != (account.Server{Address: "mail.practice.test:993", Security: account.ImplicitTLS}) || got.Auth != account.AuthPassword {
		t.Errorf("added %+v", got)
	}
	if got.CAFile != "" {
		t.Errorf("a CA file without the template's certificate: %q", got.CAFile)
	}
	if want := []string{"AddFromTemplate practice"}; !slices.Equal(rec.calls, want) {
		t.Errorf("the Settings tab called %q on the desk, want %q (the command line's path)", rec.calls, want)
	}
	// A template with the organisation's own CA: its certificate is kept
	// in the home and the account trusts it.
	ca, err := os.ReadFile(accounttest.NewPKI(t).CAFile)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.Name, tmpl.CAPEM = "Clinic mailbox", string(ca)
	a.cfg.Templates = append(a.cfg.Templates, tmpl)
	a.preset.Options = append([]string{"Clinic mailbox (from your organisation)"}, a.preset.Options...)
	a.preset.SetSelected("Clinic mailbox (from your organisation)")
	a.name.SetText("clinic")
	a.password.SetText("pw")
	done = expect(&a.done)
	test.Tap(a.addBtn)
	await(t, "add", done)
	got, err = store.Get("clinic")
	if err != nil {
		t.Fatalf("not added: %v (%s)", err, a.status.Text)
	}
	if pem, err := os.ReadFile(got.CAFile); err != nil || string(pem) != string(ca) || !strings.HasPrefix(got.CAFile, u.cfg.Home.Dir) {
		t.Errorf("CA file %q: %v", got.CAFile, err)
	}
	// The same name again, from a template with another CA: refused, and
	// the existing account still trusts its own CA (the file was once
	// overwritten before Add refused the name).
	other, err := os.ReadFile(accounttest.NewPKI(t).CAFile)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.Name, tmpl.CAPEM = "Other mailbox", string(other)
	a.cfg.Templates = append(a.cfg.Templates, tmpl)
	a.preset.Options = append([]string{"Other mailbox (from your organisation)"}, a.preset.Options...)
	a.preset.SetSelected("Other mailbox (from your organisation)")
	a.name.SetText("clinic")
	a.password.SetText("pw")
	done = expect(&a.done)
	test.Tap(a.addBtn)
	await(t, "add", done)
	if !strings.Contains(a.status.Text, "Not added") {
		t.Errorf("a second account named clinic: %q", a.status.Text)
	}
	if pem, err := os.ReadFile(got.CAFile); err != nil || string(pem) != string(ca) {
		t.Errorf("the existing account's CA file was changed by a refused add: %v", err)
	}
}

// TestAccountFormErrorsInOrderAndClearing: each problem shows under its
// field, in the order of the fields, the first field gets the focus, and
// an error goes as soon as its field is mended; the summary goes with
// the last one.
func TestAccountFormErrorsInOrderAndClearing(t *testing.T) {
	u, _ := settingsUI(t, false, nil)
	u.tabs.Select(u.settings.item)
	u.settings.showSection(sectionAccounts)
	a := u.settings.accounts
	a.preset.SetSelected(presetCustom)
	a.imap.SetText("no port")
	test.Tap(a.addBtn)
	var marked []string
	for _, it := range a.form.Items {
		for e, f := range a.fields {
			if f.item == it && f.err.Visible() {
				marked = append(marked, it.Text)
				_ = e
			}
		}
	}
	if want := []string{"Name", "E-mail", "Password", "Sending server", "Inbox server"}; !slices.Equal(marked, want) {
		t.Errorf("errors under %v, want %v", marked, want)
	}
	if a.status.Text != "Not added: correct the 5 fields marked in red." {
		t.Errorf("summary %q", a.status.Text)
	}
	if u.win.Canvas().Focused() != a.name {
		t.Errorf("focus on %T, not the first field with a problem", u.win.Canvas().Focused())
	}
	errOf := func(e *focusEntry) string {
		if f := a.fields[e]; f.err.Visible() {
			return f.err.Text
		}
		return ""
	}
	test.Type(a.name, "practice")
	if errOf(a.name) != "" || errOf(a.email) == "" {
		t.Errorf("after typing the name: name %q, e-mail %q", errOf(a.name), errOf(a.email))
	}
	a.email.SetText("reception at practice")
	if !strings.Contains(errOf(a.email), "not an e-mail address") {
		t.Errorf("a wrong address: %q", errOf(a.email))
	}
	a.email.SetText("reception@practice.test")
	a.password.SetText("pw")
	a.smtp.SetText("mail.practice.test:465")
	if errOf(a.email) != "" || errOf(a.smtp) != "" || a.status.Text == "" {
		t.Errorf("mended: e-mail %q, server %q; summary %q (one field is still wrong)", errOf(a.email), errOf(a.smtp), a.status.Text)
	}
	a.imap.SetText("")
	if errOf(a.imap) != "" || a.status.Text != "" {
		t.Errorf("all mended: inbox server %q, summary %q", errOf(a.imap), a.status.Text)
	}
}

// TestYourKeyOneSource: the Your key section is the one place that shows
// the key: in demo mode it says which key signs now and that the user has
// none of their own yet, without claiming that what is sent is not signed
// (it is, with the demo's key); the form to create one is not filled with the
// demo's identity; Export is off until there is a key.
func TestYourKeyOneSource(t *testing.T) {
	u, _ := settingsUI(t, true, nil)
	k := u.settings.keys
	if got := texts(u.settings.form); strings.Contains(got, "Your key") {
		t.Errorf("the account's settings list the key as well:\n%s", got)
	}
	u.tabs.Select(u.settings.item)
	own := texts(u.settings.item.Content)
	if !strings.Contains(own, u.cfg.OwnKey) || !strings.Contains(own, "You have no key of your own yet") || strings.Contains(own, "not signed") {
		t.Errorf("Your key section:\n%s", own)
	}
	if k.name.Text != "" || k.email.Text != "" {
		t.Errorf("create-key form filled with %q, %q", k.name.Text, k.email.Text)
	}
	if !k.exportBtn.Disabled() {
		t.Error("Export is on without a key")
	}
	k.name.SetText("Reception TEST ONLY")
	k.email.SetText("reception@practice.test")
	done := expect(&k.done)
	test.Tap(k.genBtn)
	await(t, "generate", done)
	if k.exportBtn.Disabled() || !strings.Contains(texts(k.own), "Reception TEST ONLY") {
		t.Errorf("after creating the key: export disabled %v:\n%s", k.exportBtn.Disabled(), texts(k.own))
	}
}

// TestSelectionColourNeutral: the selected list row's colour is a
// neutral grey in both variants, whatever the primary colour, not the
// dark red-brown that read as an error on Verified rows.
func TestSelectionColourNeutral(t *testing.T) {
	th := newTheme(nil)
	for _, v := range []fyne.ThemeVariant{theme.VariantLight, theme.VariantDark} {
		c := color.NRGBAModel.Convert(th.Color(theme.ColorNameSelection, v)).(color.NRGBA)
		lo, hi := min(c.R, c.G, c.B), max(c.R, c.G, c.B)
		if hi-lo > 0x20 || c.A > 0x60 || c.A == 0 {
			t.Errorf("variant %v: selection %v is not a light neutral tint", v, c)
		}
	}
}

// TestInboxChecksWhenOpened: opening the Inbox tab checks for new mail,
// unless it did a moment ago.
func TestInboxChecksWhenOpened(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	u := newDemoUI(t, func(c *Config) { c.Now = func() time.Time { return now } })
	calls := 0
	fetch := u.cfg.Fetch
	u.cfg.Fetch = func(ctx context.Context) ([]Received, error) { calls++; return fetch(ctx) }
	open := func() {
		u.tabs.Select(u.send.item)
		fetched := expect(&u.inbox.fetchDone)
		u.tabs.Select(u.inbox.item)
		if u.inbox.isFetching() {
			await(t, "fetch", fetched)
		}
	}
	open()
	if calls != 1 {
		t.Fatalf("opening the Inbox checked %d times", calls)
	}
	now = now.Add(2 * time.Second)
	open()
	if calls != 1 {
		t.Errorf("opened again 2 s later: %d checks", calls)
	}
	now = now.Add(recheckAfter)
	open()
	if calls != 2 {
		t.Errorf("opened again later: %d checks", calls)
	}
}

// TestFingerprintGroups: a fingerprint is shown in groups of four
// whatever spaces it came with, so it wraps only between groups.
func TestFingerprintGroups(t *testing.T) {
	for in, want := range map[string]string{
		"C512C5B599A93A7536E40D945806522738FE618E":           "C512 C5B5 99A9 3A75 36E4 0D94 5806 5227 38FE 618E",
		"C512C5B599A93A7536E40D9458065227 38FE618E":          "C512 C5B5 99A9 3A75 36E4 0D94 5806 5227 38FE 618E",
		"C512 C5B5 99A9 3A75 36E4  0D94 5806 5227 38FE 618E": "C512 C5B5 99A9 3A75 36E4 0D94 5806 5227 38FE 618E",
	} {
		if got := groupFingerprint(in); got != want {
			t.Errorf("groupFingerprint(%q) = %q", in, got)
		}
	}
}

// recordingAccounts is the desk's account manager that notes which of its
// ways to add an account the Settings tab takes.
type recordingAccounts struct {
	*desk.AccountManager
	calls []string
}

func (r *recordingAccounts) Add(a account.Account, c account.Credentials) error {
	r.calls = append(r.calls, "Add "+a.Name)
	return r.AccountManager.Add(a, c)
}

func (r *recordingAccounts) AddFromTemplate(t profile.AccountTemplate, name, email string, c account.Credentials) (account.Account, error) {
	r.calls = append(r.calls, "AddFromTemplate "+name)
	return r.AccountManager.AddFromTemplate(t, name, email, c)
}
