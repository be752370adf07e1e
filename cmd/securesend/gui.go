package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/app"
	"github.com/securesend/securesend/assets"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/receive"
)

// appID is the application identifier (also in FyneApp.toml).
const appID = "nz.securesend.app"

// runGUI opens the desktop app, and in it the files in open (received
// messages). With no account in the home directory (or with
// SECURESEND_DEMO=1) it starts the loopback demo mail system and opens the
// app in demo mode.
func runGUI(ctx context.Context, e *env, open []string) int {
	go preloadSystemFonts()
	if _, err := loadOrgProfile(e); err != nil {
		return errorf(e, "%v", err)
	}
	d, err := openDesk(e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	fa := fyneapp.NewWithID(appID)
	// Decrypted and combined documents live in this process's private
	// folder: removed at exit, or by the next start after a crash.
	tmpDir, err := privtemp.New("")
	if tmpDir == nil {
		return errorf(e, "%v", err)
	} else if err != nil {
		fmt.Fprintf(e.stderr, "securesend: warning: %v\n", err)
	}
	defer tmpDir.Close()
	g := newGUIConfig(ctx, e, d, tmpDir)
	defer g.close()
	cfg, err := g.Reload()
	if err != nil {
		return errorf(e, "%v", err)
	}
	if cfg.Demo {
		fmt.Fprintln(e.stderr, "securesend: no account set up, so the app opens in demo mode (nothing leaves this computer)")
	}
	guiSettings(e, d, &cfg)
	cfg.Reload = g.Reload
	if cfg.Accounts != nil {
		cfg.Accounts.Use = g.use
	}
	u := app.New(fa, cfg)
	if dir := e.getenv("SECURESEND_SCREENSHOT_TOUR"); dir != "" {
		go u.Tour(dir)
	}
	guiDiagnostics(e, u)
	if len(open) > 0 {
		fa.Lifecycle().SetOnStarted(func() { u.OpenFiles(open) })
	}
	go func() {
		<-ctx.Done()
		fyne.Do(fa.Quit) // Fyne's calls belong on its goroutine
	}()
	u.ShowAndRun()
	return 0
}

// guiDiagnostics frees the memory startup left behind once the first frame
// is up, and serves bench/gui-startup (hidden options, not for users):
//
//   - SECURESEND_REPORT_FIRST_FRAME=1 prints, when the first frame is
//     drawn, "securesend: first-frame unix-ns=N" (the wall clock, which
//     the script compares with its own reading just before it started the
//     process) and, 5 s later, the Go runtime's view of memory next to
//     the process's RSS, so the part that is not Go (the GL driver, C
//     libraries) can be told apart.
//   - SECURESEND_HEAPPROFILE=FILE writes a Go heap profile 5 s after the
//     first frame (go tool pprof FILE).
func guiDiagnostics(e *env, u *app.UI) {
	report := e.getenv("SECURESEND_REPORT_FIRST_FRAME") == "1"
	profile := e.getenv("SECURESEND_HEAPPROFILE")
	u.OnFirstFrame(func() {
		if report {
			fmt.Fprintf(e.stderr, "securesend: first-frame unix-ns=%d\n", time.Now().UnixNano())
		}
		go func() {
			// Starting up (parsing fonts, building the tabs) leaves garbage
			// that an idle app would otherwise keep resident until the next
			// GC: collect it and give the pages back once the window is up.
			time.Sleep(2 * time.Second)
			debug.FreeOSMemory()
			if !report && profile == "" {
				return
			}
			time.Sleep(3 * time.Second)
			if report {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				rss := ""
				if b, err := os.ReadFile("/proc/self/status"); err == nil {
					for _, l := range strings.Split(string(b), "\n") {
						if strings.HasPrefix(l, "VmRSS:") {
							rss = strings.Join(strings.Fields(l)[1:], " ")
						}
					}
				}
				fmt.Fprintf(e.stderr, "securesend: idle go-sys=%d go-heap-inuse=%d go-heap-released=%d go-stack=%d go-gc=%d rss=%q\n",
					ms.Sys, ms.HeapInuse, ms.HeapReleased, ms.StackSys, ms.NumGC, rss)
			}
			if profile != "" {
				runtime.GC()
				if f, err := os.Create(profile); err == nil {
					_ = pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
		}()
	})
}

// guiSettings lets the Settings tab manage the home's key store and
// accounts (the ones 'securesend keys' and 'securesend account' use), also
// in demo mode, so that a new user can set up for real from the demo.
// The desk's key and account use cases record imports, pins and account
// changes in the audit log, and check accounts against the policy, as on
// the command line.
func guiSettings(e *env, d *desk.Desk, cfg *app.Config) {
	if km, err := d.ManageKeys(); err == nil {
		cfg.Keys = &app.KeysConfig{Store: km}
		if cfg.Demo {
			cfg.Keys.Note = "These are your real keys, kept after the demo ends (the demo's own keys are made for this session)."
		}
	}
	cfg.Accounts = &app.AccountsConfig{
		Store:       d.ManageAccounts(),
		OpenBrowser: oauth.SystemBrowser(e.getenv),
	}
}

// guiConfig makes the app's configuration from the home as it is each time
// it is asked (its Reload method is app.Config.Reload): the account in use
// while it exists, else the first one, or demo mode when there is none
// (always with SECURESEND_DEMO=1). So an account added, removed or signed
// in under Settings, or a key created, imported or pinned there, is used
// at once. What must exist once is made when first needed and kept: the
// demo mail system, the home's outbox and inbox store.
type guiConfig struct {
	ctx       context.Context
	e         *env
	d         *desk.Desk
	h         home.Home
	tmpDir    *privtemp.Dir
	tmp       string
	forceDemo bool
	secrets   *keychain.Keychain

	mu    sync.Mutex
	inUse string // the name of the account in use; "" in demo mode
	demo  *app.Config
	sys   *demomail.System
	ob    *app.OutboxConfig
}

// accountInUseFile, in the home, names the account the user chose under
// Settings ("Use this account"); without it the app uses the first one.
const accountInUseFile = "account-in-use"

func newGUIConfig(ctx context.Context, e *env, d *desk.Desk, tmp *privtemp.Dir) *guiConfig {
	h := d.Home()
	g := &guiConfig{ctx: ctx, e: e, d: d, h: h, tmpDir: tmp, tmp: tmp.Path(), forceDemo: e.getenv("SECURESEND_DEMO") == "1", secrets: d.Keychain()}
	if b, err := os.ReadFile(h.Path(accountInUseFile)); err == nil {
		g.inUse = strings.TrimSpace(string(b))
	}
	return g
}

// use makes the account name the one in use, now and after a restart
// (Settings' "Use this account"; the app reloads after it).
func (g *guiConfig) use(name string) error {
	if _, err := account.NewStore(g.h, g.secrets).Get(name); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(g.h.Path(accountInUseFile), []byte(name+"\n")); err != nil {
		return fmt.Errorf("remember the account in use: %w", err)
	}
	g.mu.Lock()
	g.inUse = name
	g.mu.Unlock()
	return nil
}

// close stops the demo mail system, if it was started.
func (g *guiConfig) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sys != nil {
		g.sys.Close()
		g.sys = nil
	}
}

// Reload is the configuration for the accounts and keys as they are now.
func (g *guiConfig) Reload() (app.Config, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	accounts, err := configuredAccounts(g.h)
	if err != nil {
		return app.Config{}, err
	}
	var cfg app.Config
	if len(accounts) == 0 || g.forceDemo {
		if cfg, err = g.demoConfig(); err != nil {
			return app.Config{}, err
		}
		g.inUse = ""
	} else {
		a := accounts[0]
		for _, x := range accounts {
			if x.Name == g.inUse {
				a = x
			}
		}
		if cfg, err = g.accountConfig(a); err != nil {
			return app.Config{}, err
		}
		g.inUse = a.Name
	}
	cfg.Home, cfg.TempDir = g.h, g.tmp
	return cfg, nil
}

// current is the name of the account in use.
func (g *guiConfig) current() (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inUse == "" {
		return "", errors.New("no mail account is in use")
	}
	return g.inUse, nil
}

// demoConfig starts the loopback demo mail system the first time and
// returns its configuration (the same each time, so the demo's inbox and
// outbox stay).
func (g *guiConfig) demoConfig() (app.Config, error) {
	if g.demo == nil {
		sys, err := demomail.Start(g.ctx)
		if err != nil {
			return app.Config{}, fmt.Errorf("demo mode: %w", err)
		}
		samples, err := assets.WriteSamples(filepath.Join(g.tmp, "samples"))
		if err != nil {
			sys.Close()
			return app.Config{}, fmt.Errorf("demo mode: %w", err)
		}
		cfg := app.DemoConfig(sys, samples, filepath.Join(g.tmp, "received"))
		// The demo's outbox lives in its temporary home, with a key in memory.
		if cfg.Outbox, err = app.DemoOutbox(sys, filepath.Join(g.tmp, "home", "outbox")); err != nil {
			sys.Close()
			return app.Config{}, fmt.Errorf("demo mode: %w", err)
		}
		g.sys, g.demo = sys, &cfg
	}
	return *g.demo, nil
}

// configuredAccounts lists the accounts in h; none when accounts.json does
// not exist.
func configuredAccounts(h home.Home) ([]account.Account, error) {
	if _, err := os.Stat(h.Path(account.FileName)); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return account.NewStore(h, keychain.New(h.KeychainService())).List()
}

// accountConfig wires the app to a real account: sending through it with
// the send package and the home's outbox; fetching, verifying a dropped
// .eml and opening a received document through the desk, as 'securesend
// inbox fetch', 'securesend verify' and 'securesend inbox open' do
// (desk.Desk.Fetch, Verify, OpenDocument). The functions look the account
// up in the store each time they run, so its current settings are used.
// Received documents are decrypted into g.tmpDir only when the user opens
// or saves one.
func (g *guiConfig) accountConfig(a account.Account) (app.Config, error) {
	e, d := g.e, g.d
	if _, err := d.Inbox(); err != nil {
		return app.Config{}, err
	}
	if g.ob == nil {
		ob, err := guiOutbox(e, g.current)
		if err != nil {
			return app.Config{}, err
		}
		g.ob = ob
	}
	name := a.Name
	cfg := app.Config{
		Account:    a.Name,
		From:       mail.Address{Address: a.Email},
		Outbox:     g.ob,
		InboxOwner: a.Email,
		Verify: func(ctx context.Context, r io.Reader) (*receive.Report, error) {
			v, err := d.Verify(ctx, r, desk.VerifyOptions{})
			if err != nil {
				return nil, err
			}
			return v.Report, nil
		},
		Document: func(id string, n int, confirmed bool) (string, error) {
			doc, err := d.OpenDocument(id, n, desk.OpenOptions{Temp: g.tmpDir, Confirmed: confirmed})
			if err != nil {
				return "", err
			}
			return doc.Path, nil
		},
		Settings: []app.Setting{
			{Name: "Account", Value: a.Name},
			{Name: "Mail server (sending)", Value: fmt.Sprintf("%s (%s)", a.SMTP.Address, a.SMTP.Security)},
			{Name: "Mail server (inbox)", Value: fmt.Sprintf("%s (%s)", a.IMAP.Address, a.IMAP.Security)},
			{Name: "REQUIRETLS required", Value: fmt.Sprint(a.RequireTLS)},
		},
	}
	if runtime.GOOS == "windows" {
		cfg.OpenFile = shellOpen // viewer_windows.go: ShellExecuteW
	}
	var err error
	if cfg.Recipients, err = keyRecipients(e, a.Email); err != nil {
		return app.Config{}, err
	}
	var keyText string
	cfg.OwnKey, keyText = ownKey(e, a.Email)
	cfg.Settings = append(cfg.Settings, app.Setting{Name: "Your key", Value: keyText})
	if a.IMAP.Address != "" {
		cfg.Fetch = func(ctx context.Context) ([]app.Received, error) {
			if _, err := d.Fetch(ctx, desk.FetchOptions{Account: name}); err != nil {
				return nil, err
			}
			return storedItems(d)
		}
		cfg.Failures = d.Failures
	}
	return cfg, nil
}

// guiOutbox wires the app to the desk's outbox (encrypted, key in the
// keychain, audited), as 'securesend send --account' uses it: Queue is
// desk's Send with the account in use (inUse, asked each time), and
// delivery goes through the policy gate in force at each attempt (see
// desk.Outbox.Deliver). Jobs queued without an account (securesend send
// --server) are delivered with the account in use only when they are from
// its address; others are left for 'securesend outbox run'.
func guiOutbox(e *env, inUse func() (string, error)) (*app.OutboxConfig, error) {
	d, err := openDesk(e)
	if err != nil {
		return nil, err
	}
	ev := &app.OutboxEvents{}
	ob, err := d.Outbox(desk.OutboxOptions{Notify: ev.Notify, Via: desk.Via{InUse: inUse}})
	if err != nil {
		return nil, err
	}
	return &app.OutboxConfig{Box: ob, Events: ev}, nil
}

// keyRecipients offers every correspondent in the home's key store (not
// the user's own keys), with the key's trust as its state.
func keyRecipients(e *env, self string) ([]app.Recipient, error) {
	ks, err := openKeyStore(e)
	if err != nil {
		return nil, err
	}
	entries, err := ks.List()
	if err != nil {
		return nil, err
	}
	var out []app.Recipient
	for _, en := range entries {
		if en.Secret {
			continue
		}
		for _, addr := range en.Emails {
			if strings.EqualFold(addr, self) {
				continue
			}
			name := ""
			if len(en.UserIDs) > 0 {
				if a, err := mail.ParseAddress(en.UserIDs[0]); err == nil {
					name = a.Name
				}
			}
			out = append(out, app.Recipient{Name: name, Address: addr, KeyState: string(en.Trust)})
		}
	}
	return out, nil
}

// ownKey finds the user's own key for addr: its fingerprint in groups of
// four (empty when there is none, so messages are sent unsigned) and how
// the Settings tab describes it.
func ownKey(e *env, addr string) (grouped, text string) {
	ks, err := openKeyStore(e)
	if err != nil {
		return "", "cannot open the key store: " + err.Error()
	}
	entries, err := ks.List()
	if err != nil {
		return "", "cannot read the key store: " + err.Error()
	}
	var other []string
	for _, en := range entries {
		if !en.Secret {
			continue
		}
		if containsFold(en.Emails, addr) {
			g := en.Fingerprint.Grouped()
			return g, g
		}
		other = append(other, en.Fingerprint.Grouped()+" ("+strings.Join(en.Emails, ", ")+")")
	}
	if len(other) > 0 {
		return "", "none for " + addr + " (yours: " + strings.Join(other, "; ") + "): create one below under Your key"
	}
	return "", "none yet: create one below under Your key (messages are sent unsigned until then)"
}

// storedItems lists the inbox with each item's report.
func storedItems(d *desk.Desk) ([]app.Received, error) {
	all, err := d.ReceivedAll()
	if err != nil {
		return nil, err
	}
	out := make([]app.Received, 0, len(all))
	for _, r := range all {
		dup := ""
		if note := desk.DuplicateNote(r.Item); note != "" {
			dup = "This message or one of its documents arrived before (" + strings.TrimPrefix(note, "DUPLICATE of ") + " in the inbox)."
		}
		out = append(out, app.Received{Key: r.Item.ID, Received: r.Item.Received, Report: r.Report, Source: "mailbox", Duplicate: dup})
	}
	return out, nil
}
