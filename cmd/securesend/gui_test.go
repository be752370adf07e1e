package main

import (
	"context"
	"image/color"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/app"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// TestGUIAccountConfig wires the app's functions to a real account (the
// demo pharmacy's mailbox, over TLS with a private CA) as runGUI does, and
// uses them: send, fetch into the encrypted inbox store, report.
func TestGUIAccountConfig(t *testing.T) {
	requireKeychain(t)
	sys, err := demomail.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, sys.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	h := home.Home{Dir: filepath.Join(dir, "home")}
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	kc := keychain.New(h.KeychainService())
	ph, _ := sys.Account(demomail.Pharmacy)
	a := account.Account{
		Name: "pharmacy", Email: ph.Address, User: ph.Address, Auth: account.AuthPassword, CAFile: ca,
		SMTP: account.Server{Address: sys.SMTPAddr, Security: account.ImplicitTLS},
		IMAP: account.Server{Address: sys.IMAPAddr, Security: account.ImplicitTLS},
	}
	st := account.NewStore(h, kc)
	if err := st.Add(a, account.Credentials{Password: ph.Password}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Remove("pharmacy") })

	accts, err := configuredAccounts(h)
	if err != nil || len(accts) != 1 {
		t.Fatalf("configured accounts: %v, %v", accts, err)
	}
	e := &env{stdout: new(strings.Builder), stderr: new(strings.Builder), getenv: func(k string) string {
		if k == home.EnvVar {
			return h.Dir
		}
		return ""
	}}
	g, cfg := loadGUIConfig(t, e, h)
	defer g.close()
	if cfg.From.Address != ph.Address || cfg.Fetch == nil || cfg.Verify == nil || cfg.Document == nil {
		t.Fatalf("config: %+v", cfg)
	}

	// The user has a key for the account's address: sends are signed.
	keysDir, err := h.Sub("keys")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := pgp.OpenStore(keysDir, kc, nil)
	if err != nil {
		t.Fatal(err)
	}
	own, err := ks.Generate("Demo Pharmacy", ph.Address)
	if err != nil {
		t.Fatal(err)
	}

	// Sending goes out through the account.
	doc := filepath.Join(dir, "note.pdf")
	os.WriteFile(doc, []byte("%PDF-1.4\n"), 0o600)
	// The app sends through the home's outbox: queued (signed, encrypted
	// at rest), then delivered with the account.
	if cfg.Outbox == nil {
		t.Fatal("no outbox wired")
	}
	id, err := cfg.Outbox.Box.Queue(context.Background(), &send.Message{
		From: cfg.From, To: []mail.Address{{Address: demomail.Clinician}}, Subject: "Acknowledgement",
		Documents: []send.Document{{Path: doc}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := cfg.Outbox.Box.Deliver(context.Background(), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != outbox.Sent || rec.Account != "pharmacy" || !rec.Signed || rec.Result == nil || rec.Result.SignerFingerprint != string(own.Fingerprint) {
		t.Errorf("outbox job: %+v", rec)
	}
	if res := rec.Result; res != nil && !strings.HasPrefix(res.QueueID, "DEMO") && !strings.Contains(res.Reply.Text, "queued as DEMO") {
		t.Errorf("reply %+v", res.Reply)
	}
	if _, err := os.Stat(h.Path("outbox")); err != nil {
		t.Errorf("the outbox is not in the home: %v", err)
	}

	// A message for the pharmacy arrives in the inbox with a verdict.
	clin, _ := sys.Identity(demomail.Clinician)
	if _, err := sys.Send(context.Background(), &send.Message{
		From: mail.Address{Address: clin.Address}, To: []mail.Address{{Address: demomail.Pharmacy}},
		Subject: "Prescription", Documents: []send.Document{{Path: doc}},
	}, nil); err != nil {
		t.Fatal(err)
	}
	items, err := cfg.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Report == nil || items[0].Report.Verdict == "" {
		t.Fatalf("inbox: %+v", items)
	}
	// Fetching again adds nothing.
	if again, err := cfg.Fetch(context.Background()); err != nil || len(again) != 1 {
		t.Errorf("second fetch: %d items, %v", len(again), err)
	}
}

// loadGUIConfig makes the app's configuration for e and h, as the GUI does
// at start, and loads it once. The caller closes it.
func loadGUIConfig(t *testing.T, e *env, h home.Home) (*guiConfig, app.Config) {
	t.Helper()
	g := newGUIConfig(context.Background(), e, guiTestDesk(t, e, h), guiTestTemp(t))
	cfg, err := g.Reload()
	if err != nil {
		g.close()
		t.Fatal(err)
	}
	return g, cfg
}

// guiEnv is the environment runGUI gets when u starts the app.
func guiEnv(u *user) *env {
	return u.env(strings.NewReader(""), new(strings.Builder), new(strings.Builder))
}

// TestGUIConfigFollowsAccountsAndKeys: the app's configuration is made
// from the home as it is each time it is reloaded: demo mode without an
// account, the account once one is added (and the same one while it
// exists), the user's key once it is created, demo mode again when the
// last account is removed; the outbox sends only for the account in use.
func TestGUIConfigFollowsAccountsAndKeys(t *testing.T) {
	requireKeychain(t)
	desk := newUser(t, "desk")
	e := guiEnv(desk)
	h, err := home.Resolve(e.getenv)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Ensure(); err != nil {
		t.Fatal(err)
	}
	g, cfg := loadGUIConfig(t, e, h)
	defer g.close()
	if !cfg.Demo || cfg.Account != "" || cfg.Outbox == nil {
		t.Fatalf("without an account: demo %v, account %q", cfg.Demo, cfg.Account)
	}
	demoOutbox := cfg.Outbox

	store := account.NewStore(h, keychain.New(h.KeychainService()))
	add := func(name string) {
		t.Helper()
		if err := store.Add(account.Account{
			Name: name, Email: name + "@example.org", Auth: account.AuthPassword,
			SMTP: account.Server{Address: "smtp.example.org:465", Security: account.ImplicitTLS},
			IMAP: account.Server{Address: "imap.example.org:993", Security: account.ImplicitTLS},
		}, account.Credentials{Password: "pw"}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Remove(name) })
	}
	setting := func(cfg app.Config, name string) string {
		for _, s := range cfg.Settings {
			if s.Name == name {
				return s.Value
			}
		}
		return ""
	}

	add("desk")
	if cfg, err = g.Reload(); err != nil {
		t.Fatal(err)
	}
	if cfg.Demo || cfg.Account != "desk" || cfg.From.Address != "desk@example.org" || cfg.InboxOwner != "desk@example.org" ||
		cfg.Fetch == nil || cfg.Outbox == nil || cfg.Outbox == demoOutbox || cfg.Home != h {
		t.Fatalf("after adding an account: %+v", cfg)
	}
	if cfg.OwnKey != "" || !strings.HasPrefix(setting(cfg, "Your key"), "none yet") {
		t.Errorf("own key before creating one: %q, %q", cfg.OwnKey, setting(cfg, "Your key"))
	}
	homeOutbox := cfg.Outbox

	ks, err := openKeyStore(e)
	if err != nil {
		t.Fatal(err)
	}
	own, err := ks.Generate("Desk TEST ONLY", "desk@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err = g.Reload(); err != nil {
		t.Fatal(err)
	}
	if g := own.Fingerprint.Grouped(); cfg.OwnKey != g || setting(cfg, "Your key") != g {
		t.Errorf("own key after creating it: %q, %q, want %q", cfg.OwnKey, setting(cfg, "Your key"), g)
	}

	// Another account (listed first, by name) does not take over the one
	// in use; when that one is removed, the other is used.
	add("another")
	if cfg, err = g.Reload(); err != nil || cfg.Account != "desk" {
		t.Fatalf("after adding a second account: %q, %v", cfg.Account, err)
	}
	// "Use this account" switches, and the choice outlives a restart.
	if err := g.use("nonexistent"); err == nil {
		t.Error("use of an unknown account: no error")
	}
	if err := g.use("another"); err != nil {
		t.Fatal(err)
	}
	if cfg, err = g.Reload(); err != nil || cfg.Account != "another" || cfg.From.Address != "another@example.org" {
		t.Fatalf("after using the second account: %q, %v", cfg.Account, err)
	}
	restarted := newGUIConfig(context.Background(), e, guiTestDesk(t, e, h), guiTestTemp(t))
	if cfg, err = restarted.Reload(); err != nil || cfg.Account != "another" {
		t.Fatalf("after a restart: %q, %v", cfg.Account, err)
	}
	restarted.close()
	if err := g.use("desk"); err != nil {
		t.Fatal(err)
	}
	store.Remove("desk")
	if cfg, err = g.Reload(); err != nil || cfg.Account != "another" || cfg.From.Address != "another@example.org" || cfg.Outbox != homeOutbox {
		t.Fatalf("after removing the account in use: %q, %v", cfg.Account, err)
	}
	if cfg.OwnKey != "" || !strings.Contains(setting(cfg, "Your key"), "none for another@example.org") {
		t.Errorf("own key for another address: %q, %q", cfg.OwnKey, setting(cfg, "Your key"))
	}
	// The outbox queues for the account in use only.
	doc := writeDoc(t)
	_, err = cfg.Outbox.Box.Queue(context.Background(), &send.Message{
		From: mail.Address{Address: "desk@example.org"}, To: []mail.Address{{Address: "pharmacy@example.org"}},
		Subject: "Referral", Documents: []send.Document{{Path: doc}},
	})
	if err == nil || !strings.Contains(err.Error(), "the account in use, another") {
		t.Errorf("queued from a removed account's address: %v", err)
	}

	store.Remove("another")
	if cfg, err = g.Reload(); err != nil || !cfg.Demo || cfg.Outbox != demoOutbox {
		t.Fatalf("after removing every account: demo %v, %v", cfg.Demo, err)
	}
}

// installDirectoryProfile installs for u, as installLockedProfile does, a signed
// organisation profile whose directory has the pharmacy with its key, but
// that leaves the mail accounts to the user.
func installDirectoryProfile(t *testing.T, u *user, pharmacyKey string) {
	t.Helper()
	installEditedProfile(t, u, pharmacyKey, func(t *testing.T, data string) string {
		const locked = `locked = ["policy.min_tls", "policy.encryption", "accounts"]`
		if !strings.Contains(data, locked) {
			t.Fatalf("the example profile changed: no %s", locked)
		}
		return strings.Replace(data, locked, `locked = ["policy.min_tls", "policy.encryption"]`, 1)
	})
}

// walk calls fn for o and everything shown below it (containers, tabs,
// splits, scrolls, forms).
func walk(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	if o == nil {
		return
	}
	fn(o)
	switch v := o.(type) {
	case *fyne.Container:
		for _, c := range v.Objects {
			walk(c, fn)
		}
	case *container.AppTabs:
		for _, it := range v.Items {
			walk(it.Content, fn)
		}
	case *container.Split:
		walk(v.Leading, fn)
		walk(v.Trailing, fn)
	case *container.Scroll:
		walk(v.Content, fn)
	case *widget.Form:
		for _, it := range v.Items {
			walk(it.Widget, fn)
		}
	}
}

// shownBanner is a verdict banner: its bold title and its border colour.
type shownBanner struct {
	title  string
	colour color.Color
}

// inboxVerdicts selects each message in the Inbox tab in turn, as the
// pharmacist does, and returns the verdict banner shown for it.
func inboxVerdicts(t *testing.T, u *app.UI) []shownBanner {
	t.Helper()
	var list *widget.List
	var detail fyne.CanvasObject
	walk(u.Window().Content(), func(o fyne.CanvasObject) {
		if tabs, ok := o.(*container.AppTabs); ok {
			for _, it := range tabs.Items {
				if it.Text == "Inbox" {
					// The tab's content is the list beside the detail
					// (a Split), possibly inside a sideways scroll.
					content := it.Content
					if sc, ok := content.(*container.Scroll); ok {
						content = sc.Content
					}
					split := content.(*container.Split)
					detail = split.Trailing
					walk(split.Leading, func(o fyne.CanvasObject) {
						if l, ok := o.(*widget.List); ok {
							list = l
						}
					})
				}
			}
		}
	})
	if list == nil || detail == nil {
		t.Fatal("no Inbox tab with a message list")
	}
	var out []shownBanner
	for i := 0; i < list.Length(); i++ {
		list.Select(i)
		var found []shownBanner
		walk(detail, func(o fyne.CanvasObject) {
			c, ok := o.(*fyne.Container)
			if !ok || len(c.Objects) != 3 {
				return
			}
			border, ok := c.Objects[1].(*canvas.Rectangle)
			if !ok || border.StrokeWidth == 0 {
				return
			}
			b := shownBanner{colour: border.StrokeColor}
			walk(c.Objects[2], func(o fyne.CanvasObject) {
				if l, ok := o.(*widget.Label); ok && l.TextStyle.Bold && b.title == "" {
					b.title = l.Text
				}
			})
			found = append(found, b)
		})
		if len(found) == 0 {
			t.Fatalf("message %d: no verdict banner", i)
		}
		out = append(out, found[0])
	}
	return out
}

// TestGUIInboxDirectoryKeyVerified: in the app's Inbox, as on the command
// line, mail signed with a key from the organisation's signed directory is
// Verified (the directory pins it) without the user importing anything,
// while mail signed with a key nobody pinned gets the amber "unknown
// key" verdict.
func TestGUIInboxDirectoryKeyVerified(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	creds := accounttest.Credentials{User: "reception", Password: "pw"}
	smtpSrv := accounttest.StartSMTP(t, pki, creds, accounttest.Options{})
	imapSrv := accounttest.StartIMAP(t, pki, creds, accounttest.Options{})

	pharmacy, stranger, reception := newUser(t, "pharmacy"), newUser(t, "stranger"), newUser(t, "reception")
	pharmacy.must(t, 0, "", "keys", "generate", "--name", "Main St Pharmacy TEST ONLY", "--email", "pharmacy@example.org")
	stranger.must(t, 0, "", "keys", "generate", "--name", "Stranger TEST ONLY", "--email", "stranger@example.org")
	pharmacyKey := filepath.Join(t.TempDir(), "pharmacy.asc")
	os.WriteFile(pharmacyKey, []byte(pharmacy.must(t, 0, "", "keys", "export")), 0o600)
	installDirectoryProfile(t, reception, pharmacyKey)
	reception.must(t, 0, "pw\n", "account", "add", "--name", "desk", "--email", "reception@example.org", "--user", "reception",
		"--smtp", smtpSrv.Addr, "--smtp-security", "tls", "--imap", imapSrv.Addr, "--imap-security", "tls",
		"--ca-file", pki.CAFile, "--auth", "password", "--password-stdin")
	t.Cleanup(func() { reception.run(t, "", "account", "remove", "desk") })
	doc := writeDoc(t)
	// from sends a signed (not encrypted) message to the reception's
	// mailbox.
	deliver := func(from *user, addr string) {
		t.Helper()
		from.must(t, 0, "pw\n", "send", "--server", smtpSrv.Addr, "--ca-file", pki.CAFile, "--user", "reception", "--password-stdin",
			"--from", addr, "--to", "reception@example.org", "--encrypt", "never", "--subject", "Dispensed", doc)
		msgs := smtpSrv.Messages()
		imapSrv.Deliver(t, msgs[len(msgs)-1])
	}

	e := guiEnv(reception)
	h, err := home.Resolve(e.getenv)
	if err != nil {
		t.Fatal(err)
	}
	g, cfg := loadGUIConfig(t, e, h)
	defer g.close()
	if cfg.Demo || cfg.Account != "desk" {
		t.Fatalf("not the reception's account: demo %v, %q", cfg.Demo, cfg.Account)
	}
	cfg.Reload = g.Reload
	u := app.New(test.NewTempApp(t), cfg)
	u.Window().Resize(fyne.NewSize(1024, 720))
	check := func() {
		t.Helper()
		done := make(chan struct{})
		u.CheckInbox(func() { close(done) })
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("the inbox check did not finish")
		}
	}
	green, amber := theme.Color(theme.ColorNameSuccess), theme.Color(theme.ColorNameWarning)

	deliver(pharmacy, "pharmacy@example.org")
	check()
	got := inboxVerdicts(t, u)
	if len(got) != 1 || !strings.HasPrefix(got[0].title, "Verified — signed by Main St Pharmacy TEST ONLY <pharmacy@example.org>") || got[0].colour != green {
		t.Fatalf("mail signed with the directory's key: %+v", got)
	}

	deliver(stranger, "stranger@example.org")
	check()
	got = inboxVerdicts(t, u)
	var verified, unknown int
	for _, b := range got {
		switch {
		case strings.HasPrefix(b.title, "Verified — signed by Main St Pharmacy") && b.colour == green:
			verified++
		case strings.HasPrefix(b.title, "Signed by an unknown key") && b.colour == amber:
			unknown++
		}
	}
	if len(got) != 2 || verified != 1 || unknown != 1 {
		t.Errorf("inbox verdicts: %+v", got)
	}
}

// guiTestDesk opens the Desk of e, whose home must be h.
func guiTestDesk(t *testing.T, e *env, h home.Home) *desk.Desk {
	t.Helper()
	d, err := openDesk(e)
	if err != nil {
		t.Fatal(err)
	}
	if d.Home() != h {
		t.Fatalf("the desk's home %v is not %v", d.Home(), h)
	}
	return d
}

// guiTestTemp is a private temp folder for the test, removed after it.
func guiTestTemp(t *testing.T) *privtemp.Dir {
	t.Helper()
	tmp, err := privtemp.New(t.TempDir())
	if tmp == nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tmp.Close() })
	return tmp
}

// TestGUISettingsFollowPolicy: the Settings tab adds accounts through the
// desk, so a signed profile that locks the mail accounts refuses an own
// account there as 'securesend account add' does (before, the app stored
// it).
func TestGUISettingsFollowPolicy(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	clinic, pharmacy := newUser(t, "clinic"), newUser(t, "pharmacy")
	installLockedProfile(t, clinic, keyPair(t, clinic, pharmacy), pki)
	e := clinic.env(strings.NewReader(""), io.Discard, io.Discard)
	d, err := openDesk(e)
	if err != nil {
		t.Fatal(err)
	}
	var cfg app.Config
	guiSettings(e, d, &cfg)
	err = cfg.Accounts.Store.Add(account.Account{Name: "own", Email: "clinic@example.org", Auth: account.AuthPassword,
		SMTP: account.Server{Address: "smtp.elsewhere.test:465", Security: account.ImplicitTLS}}, account.Credentials{Password: "pw"})
	if err == nil || !strings.Contains(err.Error(), "locks the mail accounts") {
		t.Errorf("own account under a profile that locks accounts: %v", err)
	}
	if accts, err := cfg.Accounts.Store.List(); err != nil || len(accts) != 0 {
		t.Errorf("accounts stored: %+v, %v", accts, err)
	}
}
