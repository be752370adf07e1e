package app

import (
	"bytes"
	"context"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/keychain/keychaintest"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/profile"

	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/oauth/oauthtest"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/receive"
)

// testKeychain is the real system keychain under a service name of the
// test's own (scripts/with-keyring.sh provides one without a desktop).
func testKeychain(t *testing.T) *keychain.Keychain { return keychaintest.Require(t) }

type memWriter struct {
	bytes.Buffer
	closed bool
}

func (m *memWriter) Close() error { m.closed = true; return nil }

func TestSettingsKeysGenerateExportImportPin(t *testing.T) {
	kc := testKeychain(t)
	st, err := pgp.OpenStore(t.TempDir(), kc, nil)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	u := newDemoUI(t, func(c *Config) {
		c.Keys = &KeysConfig{Store: st, Changed: func(what string, _ pgp.Entry) { changed = append(changed, what) }}
	})
	k := u.settings.keys
	if k == nil {
		t.Fatal("no keys section")
	}
	// Generate: name and address from the form.
	k.name.SetText("Dr Test Clinician")
	k.email.SetText("clinician@demo.test")
	done := expect(&k.done)
	test.Tap(k.genBtn)
	await(t, "generate", done)
	own, err := st.Own()
	if err != nil {
		t.Fatalf("no own key after Create my key: %v (%s)", err, k.status.Text)
	}
	if got := texts(k.own); !strings.Contains(got, own.Fingerprint.Grouped()) || !strings.Contains(got, "Dr Test Clinician <clinician@demo.test>") {
		t.Errorf("own key shown as:\n%s", got)
	}

	// Export: an armored public key, nothing secret.
	var w memWriter
	done = expect(&k.done)
	k.exportTo(&w, "my-public-key.asc")
	await(t, "export", done)
	if !w.closed || !strings.Contains(w.String(), "BEGIN PGP PUBLIC KEY BLOCK") || strings.Contains(w.String(), "PRIVATE") {
		t.Fatalf("exported %q (closed %v); status %q", w.String()[:min(60, w.Len())], w.closed, k.status.Text)
	}

	// Import the demo pharmacy's key: unverified, with its fingerprint
	// shown to compare, and pinned only after the user says it matches.
	ph, _ := u.sys.Identity(demomail.Pharmacy)
	pub, err := ph.Store.Public(ph.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	var armored bytes.Buffer
	if err := pub.WriteArmored(&armored); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pharmacy.asc")
	if err := os.WriteFile(file, armored.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	done = expect(&k.done)
	k.importFile(file)
	await(t, "import", done)
	e, err := st.Entry(ph.Fingerprint)
	if err != nil || e.Trust != pgp.Unverified {
		t.Fatalf("imported entry %+v, %v", e, err)
	}
	cmp := texts(k.compare)
	for _, want := range []string{"Compare this fingerprint with pharmacy@demo.test", ph.Fingerprint.Grouped()} {
		if !strings.Contains(cmp, want) {
			t.Errorf("compare panel lacks %q:\n%s", want, cmp)
		}
	}
	if !strings.Contains(texts(k.list), "Not verified yet") {
		t.Errorf("list:\n%s", texts(k.list))
	}
	done = expect(&k.done)
	test.Tap(findButton(t, k.compare, "It matches — pin this key"))
	await(t, "pin", done)
	if e, _ := st.Entry(ph.Fingerprint); e.Trust != pgp.Pinned {
		t.Fatalf("not pinned: %+v (%s)", e, k.status.Text)
	}
	if got := texts(k.list); !strings.Contains(got, "pharmacy@demo.test — Pinned") {
		t.Errorf("list after pin:\n%s", got)
	}
	if len(k.compare.Objects) != 0 {
		t.Error("compare panel still shown after pinning")
	}
	if strings.Join(changed, ",") != "generate,import,pin" {
		t.Errorf("changes reported: %v", changed)
	}

	// A file that is not a key is refused in plain words.
	bad := filepath.Join(t.TempDir(), "bad.asc")
	os.WriteFile(bad, []byte("hello"), 0o600)
	done = expect(&k.done)
	k.importFile(bad)
	await(t, "import", done)
	if !strings.HasPrefix(k.status.Text, "Not imported: ") {
		t.Errorf("bad key: %q", k.status.Text)
	}
}

func TestSettingsAccountsAddAndTest(t *testing.T) {
	kc := testKeychain(t)
	h := home.Home{Dir: t.TempDir()}
	store := account.NewStore(h, kc)
	u := newDemoUI(t, func(c *Config) { c.Accounts = &AccountsConfig{Store: storeAccounts{store}} })
	a := u.settings.accounts
	if a == nil {
		t.Fatal("no accounts section")
	}
	// The Microsoft preset fills the servers; it needs the client ID.
	a.preset.SetSelected(presetMicrosoft)
	a.name.SetText("practice")
	a.email.SetText("reception@practice.test")
	test.Tap(a.addBtn)
	if f := a.fields[a.clientID]; !f.err.Visible() || !strings.Contains(f.err.Text, "OAuth client) ID") || a.advanced.Checked {
		t.Errorf("without a client ID: %q, next to the field: %q", a.status.Text, f.err.Text)
	}
	a.clientID.SetText("00000000-1111-2222-3333-444444444444")
	done := expect(&a.done)
	test.Tap(a.addBtn)
	await(t, "add", done)
	got, err := store.Get("practice")
	if err != nil {
		t.Fatalf("not added: %v (%s)", err, a.status.Text)
	}
	if got.Auth != account.AuthMicrosoft || got.SMTP.Address != "smtp.office365.com:587" {
		t.Errorf("added %+v", got)
	}
	findButton(t, a.list, "Sign in with Microsoft")
	t.Cleanup(func() { store.Remove("practice") })

	// A custom account against the demo servers (its CA added as the
	// command line does), then Test connection.
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, u.sys.CAPEM, 0o600)
	ph, _ := u.sys.Account(demomail.Pharmacy)
	if err := store.Add(account.Account{
		Name: "pharmacy", Email: ph.Address, Auth: account.AuthPassword, CAFile: ca,
		SMTP: account.Server{Address: u.sys.SMTPAddr, Security: account.ImplicitTLS},
		IMAP: account.Server{Address: u.sys.IMAPAddr, Security: account.ImplicitTLS},
	}, account.Credentials{Password: ph.Password}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Remove("pharmacy") })
	accts, err := store.List()
	a.showAccounts(accts, err)
	done = expect(&a.done)
	// The pharmacy account (listed first, by name): Test connection.
	row := a.list.Objects[0]
	test.Tap(findButton(t, row, "Test connection"))
	await(t, "test", done)
	for _, want := range []string{"Account pharmacy works.", "Sending server " + u.sys.SMTPAddr + ": OK, TLS 1.3, signed in, REQUIRETLS offered", "Inbox server"} {
		if !strings.Contains(a.status.Text, want) {
			t.Errorf("test result lacks %q:\n%s", want, a.status.Text)
		}
	}

	// A custom account with a bad server address is refused before saving.
	a.preset.SetSelected(presetCustom)
	a.name.SetText("other")
	a.smtp.SetText("no-port")
	test.Tap(a.addBtn)
	if f := a.fields[a.smtp]; !strings.HasPrefix(a.status.Text, "Not added") || !strings.Contains(f.err.Text, "sending server as name:port") {
		t.Errorf("bad server: %q, next to the field: %q", a.status.Text, f.err.Text)
	}
}

func TestSettingsAccountSignIn(t *testing.T) {
	kc := testKeychain(t)
	store := account.NewStore(home.Home{Dir: t.TempDir()}, kc)
	const user = "reception@practice.test"
	idp := oauthtest.New(user)
	defer idp.Close()
	if err := store.Add(account.Account{
		Name: "practice", Email: user, Auth: account.AuthOAuth,
		SMTP:  account.Server{Address: "smtp.practice.test:465", Security: account.ImplicitTLS},
		OAuth: &account.OAuthSettings{ClientID: oauthtest.ClientID, AuthURL: idp.AuthURL, TokenURL: idp.TokenURL, Scopes: []string{"mail", "offline_access"}},
	}, account.Credentials{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Remove("practice") })
	// The "browser" plays the user on the provider's page.
	u := newDemoUI(t, func(c *Config) { c.Accounts = &AccountsConfig{Store: storeAccounts{store}, OpenBrowser: idp.Browser()} })
	a := u.settings.accounts
	done := expect(&a.done)
	test.Tap(findButton(t, a.list, "Sign in"))
	await(t, "sign-in", done)
	if !strings.HasPrefix(a.status.Text, "Signed in to practice.") {
		t.Fatalf("status %q", a.status.Text)
	}
	acct, err := store.Get("practice")
	if err != nil {
		t.Fatal(err)
	}
	if rt, err := account.RefreshStore(acct, kc).Load(); err != nil || rt == "" {
		t.Errorf("no refresh token in the keychain after signing in: %v", err)
	}
}

// TestSettingsChangesTakeEffectAtOnce: an account added under Settings is
// used at once (demo mode ends; the Send tab, the Inbox and the outbox
// follow it), a key created there is shown as the signing key on the Send
// tab and in the Your key row, and removing the account goes back to the
// demo, all without a restart. Reload is played by the test as
// desk.Session's Setup does it (app.OpenDesk): from the account and key stores.
func TestSettingsChangesTakeEffectAtOnce(t *testing.T) {
	kc := testKeychain(t)
	h := home.Home{Dir: t.TempDir()}
	accts := account.NewStore(h, kc)
	keys, err := pgp.OpenStore(t.TempDir(), kc, nil)
	if err != nil {
		t.Fatal(err)
	}
	var demo Config
	var realOutbox *OutboxConfig
	var fetchedFor []string
	reload := func() (Config, error) {
		list, err := accts.List()
		if err != nil || len(list) == 0 {
			return demo, err
		}
		a := list[0]
		cfg := Config{
			Account: a.Name, From: mail.Address{Address: a.Email}, InboxOwner: a.Email, Outbox: realOutbox,
			Recipients: []Recipient{{Address: "dispensary@pharmacy.test", KeyState: "none"}},
			Fetch: func(context.Context) ([]Received, error) {
				fetchedFor = append(fetchedFor, a.Name)
				return []Received{{Key: "1", Source: "mailbox", Received: time.Now(), Report: &receive.Report{
					Verdict: receive.NotSigned, From: "dispensary@pharmacy.test", Subject: "Dispensed"}}}, nil
			},
		}
		own := "none yet"
		if es, err := keys.List(); err == nil {
			for _, e := range es {
				if e.Secret && len(e.Emails) > 0 && e.Emails[0] == a.Email {
					cfg.OwnKey, own = e.Fingerprint.Grouped(), e.Fingerprint.Grouped()
				}
			}
		}
		cfg.Settings = []Setting{{Name: "Account", Value: a.Name}, {Name: "Your key", Value: own}}
		return cfg, nil
	}
	u := newDemoUI(t, func(c *Config) {
		demo = *c
		c.Accounts = &AccountsConfig{Store: storeAccounts{accts}}
		c.Keys = &KeysConfig{Store: keys}
		c.Reload = reload
	})
	// Another desk's outbox stands for the account's.
	other, err := desk.OpenDemo(u.sys, t.TempDir(), desk.DemoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev := &OutboxEvents{}
	box, err := other.Outbox(desk.OutboxOptions{Notify: ev.Notify, Via: desk.Via{Account: desk.DemoAccount}})
	if err != nil {
		t.Fatal(err)
	}
	realOutbox = &OutboxConfig{Box: box, Events: ev}
	if !u.banner.Visible() || u.cfg.Outbox != demo.Outbox {
		t.Fatal("not in demo mode at start")
	}

	// Add an account under Settings: the app switches to it.
	a := u.settings.accounts
	a.preset.SetSelected(presetCustom)
	a.name.SetText("practice")
	a.email.SetText("reception@practice.test")
	a.smtp.SetText("smtp.practice.test:465")
	a.imap.SetText("imap.practice.test:993")
	a.password.SetText("pw")
	done, reloaded := expect(&a.done), expect(&u.reloadDone)
	test.Tap(a.addBtn)
	await(t, "add", done)
	await(t, "reload", reloaded)
	t.Cleanup(func() { accts.Remove("practice") })
	if u.banner.Visible() || u.cfg.Demo || u.send.samplesBtn.Visible() {
		t.Error("still in demo mode after adding an account")
	}
	if got := u.send.from.Text; got != "From: reception@practice.test" {
		t.Errorf("Send tab: %q", got)
	}
	if got := u.send.signing.Text; !strings.HasPrefix(got, "Not signed") {
		t.Errorf("signing without a key: %q", got)
	}
	if u.send.to.Text != "dispensary@pharmacy.test" || !strings.HasPrefix(u.send.keyState.Text, "No key") {
		t.Errorf("recipient picked: %q", u.send.to.Text)
	}
	if got := u.inbox.title.Text; got != "Inbox of reception@practice.test" {
		t.Errorf("Inbox: %q", got)
	}
	if u.cfg.Outbox != realOutbox {
		t.Error("the outbox did not switch to the account's")
	}
	if !strings.Contains(a.status.Text, "Demo mode has ended: the app now sends and receives with account practice.") {
		t.Errorf("status: %q", a.status.Text)
	}
	if got := texts(u.settings.form); !strings.Contains(got, "Account: practice") || !strings.Contains(got, "Sending as: reception@practice.test") {
		t.Errorf("Settings rows:\n%s", got)
	}
	// The Inbox fetches the account's mailbox.
	fetched := expect(&u.inbox.fetchDone)
	test.Tap(u.inbox.check)
	await(t, "fetch", fetched)
	if strings.Join(fetchedFor, ",") != "practice" || len(u.inbox.items) != 1 {
		t.Errorf("fetched for %v: %d items (%s)", fetchedFor, len(u.inbox.items), u.inbox.status.Text)
	}

	// Create the user's key: the Your key row and the Send tab show it.
	k := u.settings.keys
	if k.email.Text != "reception@practice.test" {
		t.Errorf("key form address: %q", k.email.Text)
	}
	k.name.SetText("Reception TEST ONLY")
	done, reloaded = expect(&k.done), expect(&u.reloadDone)
	test.Tap(k.genBtn)
	await(t, "generate", done)
	await(t, "reload", reloaded)
	own, err := keys.Own()
	if err != nil {
		t.Fatal(err)
	}
	g := own.Fingerprint.Grouped()
	if got := texts(k.ownRoot); !strings.Contains(got, g) {
		t.Errorf("Your key section after creating the key %s:\n%s", g, got)
	}
	if got := texts(u.settings.form); strings.Contains(got, "Your key") {
		t.Errorf("the key is shown a second time among the account's settings:\n%s", got)
	}
	if got := u.send.signing.Text; got != "Signed with your key "+g {
		t.Errorf("Send tab after creating the key: %q", got)
	}

	// Remove the account: back to the demo.
	done, reloaded = expect(&a.done), expect(&u.reloadDone)
	a.remove("practice")
	await(t, "remove", done)
	await(t, "reload", reloaded)
	if !u.banner.Visible() || !u.cfg.Demo || u.cfg.Outbox != demo.Outbox || !u.send.samplesBtn.Visible() {
		t.Error("not back in demo mode after removing the account")
	}
	if !strings.Contains(u.send.from.Text, "clinician@demo.test") || !strings.Contains(a.status.Text, "demo mode again") {
		t.Errorf("after removing: %q, %q", u.send.from.Text, a.status.Text)
	}
	if len(u.inbox.items) != 0 {
		t.Errorf("the account's messages are still listed: %d", len(u.inbox.items))
	}
}

// TestSettingsImportOwnKey: the user's existing key (exported from GnuPG)
// is imported under Settings with its passphrase; Your key and the Send
// tab's signing line show it at once. A wrong passphrase imports nothing.
func TestSettingsImportOwnKey(t *testing.T) {
	kc := testKeychain(t)
	st, err := pgp.OpenStore(t.TempDir(), kc, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := pgptest.New(t)
	fpr := g.GenerateKey("Dr Test Clinician <clinician@demo.test>", "gpg pass")
	file := filepath.Join(t.TempDir(), "my-key.asc")
	if err := os.WriteFile(file, g.Run(nil, "--passphrase", "gpg pass", "--armor", "--export-secret-keys", string(fpr)), 0o600); err != nil {
		t.Fatal(err)
	}
	var demo Config
	u := newDemoUI(t, func(c *Config) {
		demo = *c
		c.Keys = &KeysConfig{Store: st}
		c.Reload = func() (Config, error) {
			cfg := demo
			cfg.OwnKey = ""
			if own, err := st.Own(); err == nil {
				cfg.OwnKey = own.Fingerprint.Grouped()
			}
			return cfg, nil
		}
	})
	k := u.settings.keys

	done, reloaded := expect(&k.done), expect(&u.reloadDone)
	k.importOwnFile(file, "wrong")
	await(t, "import", done)
	await(t, "reload", reloaded)
	if _, err := st.Own(); err == nil || !strings.HasPrefix(k.status.Text, "Your key was not imported") {
		t.Errorf("wrong passphrase: %v, %q", err, k.status.Text)
	}
	if !strings.HasPrefix(u.send.signing.Text, "Not signed") {
		t.Errorf("Send tab without a key: %q", u.send.signing.Text)
	}

	done, reloaded = expect(&k.done), expect(&u.reloadDone)
	k.importOwnFile(file, "gpg pass")
	await(t, "import", done)
	await(t, "reload", reloaded)
	t.Cleanup(func() { st.Delete(fpr) })
	grouped := fpr.Grouped()
	if !strings.Contains(texts(k.own), grouped) || !strings.Contains(k.status.Text, "Imported your key "+grouped) {
		t.Errorf("after importing: %q\n%s", k.status.Text, texts(k.own))
	}
	if got := u.send.signing.Text; got != "Signed with your key "+grouped {
		t.Errorf("Send tab after importing: %q", got)
	}
}

// TestSettingsUseAnotherAccount: with two accounts, Settings marks the one
// in use and offers "Use this account" on the other, which switches the
// app to it.
func TestSettingsUseAnotherAccount(t *testing.T) {
	kc := testKeychain(t)
	h := home.Home{Dir: t.TempDir()}
	accts := account.NewStore(h, kc)
	for _, name := range []string{"branch", "main"} {
		if err := accts.Add(account.Account{
			Name: name, Email: name + "@practice.test", Auth: account.AuthPassword,
			SMTP: account.Server{Address: "smtp.practice.test:465", Security: account.ImplicitTLS},
		}, account.Credentials{Password: "pw"}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { accts.Remove(name) })
	}
	inUse := "branch"
	var used []string
	reload := func() (Config, error) {
		a, err := accts.Get(inUse)
		if err != nil {
			return Config{}, err
		}
		return Config{Account: a.Name, From: mail.Address{Address: a.Email}, InboxOwner: a.Email,
			Recipients: []Recipient{{Address: "dispensary@pharmacy.test", KeyState: "none"}}}, nil
	}
	u := newDemoUI(t, func(c *Config) {
		c.Accounts = &AccountsConfig{Store: storeAccounts{accts}, Use: func(name string) error {
			if _, err := accts.Get(name); err != nil {
				return err
			}
			used = append(used, name)
			inUse = name
			return nil
		}}
		c.Reload = reload
	})
	// Take the accounts into use as the app does at start.
	reloaded := expect(&u.reloadDone)
	u.reload()
	await(t, "reload", reloaded)
	a := u.settings.accounts
	list := texts(a.list)
	if !strings.Contains(list, "branch — branch@practice.test (in use for sending and the inbox)") ||
		strings.Contains(list, "main — main@practice.test (in use") {
		t.Fatalf("account list:\n%s", list)
	}
	done, reloaded := expect(&a.done), expect(&u.reloadDone)
	test.Tap(findButton(t, a.list, "Use this account"))
	await(t, "use", done)
	await(t, "reload", reloaded)
	if len(used) != 1 || used[0] != "main" || u.cfg.Account != "main" {
		t.Fatalf("used %v, account in use %q", used, u.cfg.Account)
	}
	if got := u.send.from.Text; got != "From: main@practice.test" {
		t.Errorf("Send tab: %q", got)
	}
	if list := texts(a.list); !strings.Contains(list, "main — main@practice.test (in use for sending and the inbox)") {
		t.Errorf("account list after switching:\n%s", list)
	}
	if !strings.Contains(a.status.Text, "The app now sends and receives with account main.") {
		t.Errorf("status: %q", a.status.Text)
	}
}

// storeAccounts is an account.Store as the Settings tab's AccountStore
// without an organisation policy (desk.AccountManager adds the policy and
// the audit log): Test tests with no TLS floor beyond account's own.
type storeAccounts struct{ *account.Store }

// AddFromTemplate is refused: templates are the desk's (the tests that add
// from one use the demo desk's desk.AccountManager).
func (s storeAccounts) AddFromTemplate(t profile.AccountTemplate, name, email string, c account.Credentials) (account.Account, error) {
	return account.Account{}, errors.New("storeAccounts has no organisation templates: use the desk's AccountManager")
}

func (s storeAccounts) Test(ctx context.Context, name string) (*account.TestReport, error) {
	a, err := s.Get(name)
	if err != nil {
		return nil, err
	}
	return a.Test(ctx, s.Secrets(), account.TestOptions{})
}
