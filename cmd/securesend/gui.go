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

	fyneapp "fyne.io/fyne/v2/app"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/app"
	"github.com/securesend/securesend/assets"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/gate"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// appID is the application identifier (also in FyneApp.toml).
const appID = "nz.securesend.app"

// runGUI opens the desktop app, and in it the files in open (received
// messages). With no account in the home directory (or with
// SECURESEND_DEMO=1) it starts the loopback demo mail system and opens the
// app in demo mode.
func runGUI(ctx context.Context, e *env, open []string) int {
	if _, err := loadOrgProfile(e); err != nil {
		return errorf(e, "%v", err)
	}
	h, err := home.Resolve(e.getenv)
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
	tmp := tmpDir.Path()
	g := newGUIConfig(ctx, e, h, tmp)
	defer g.close()
	cfg, err := g.Reload()
	if err != nil {
		return errorf(e, "%v", err)
	}
	if cfg.Demo {
		fmt.Fprintln(e.stderr, "securesend: no account set up, so the app opens in demo mode (nothing leaves this computer)")
	}
	guiSettings(e, h, &cfg)
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
		fa.Quit()
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
// Imports and pins go to the audit log as on the command line.
func guiSettings(e *env, h home.Home, cfg *app.Config) {
	if ks, err := openKeyStore(e); err == nil {
		cfg.Keys = &app.KeysConfig{Store: ks, Changed: func(what string, ent pgp.Entry) {
			switch what {
			case "import":
				auditKey(e, audit.KeyImport, ent)
			case "pin":
				auditKey(e, audit.KeyPin, ent)
			}
		}}
		if cfg.Demo {
			cfg.Keys.Note = "These are your real keys, kept after the demo ends (the demo's own keys are made for this session)."
		}
	}
	cfg.Accounts = &app.AccountsConfig{
		Store:       account.NewStore(h, keychain.New(h.KeychainService())),
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
	h         home.Home
	tmp       string
	forceDemo bool
	secrets   *keychain.Keychain

	mu    sync.Mutex
	inUse string // the name of the account in use; "" in demo mode
	demo  *app.Config
	sys   *demomail.System
	ob    *app.OutboxConfig
	inbox *receive.Store
}

// accountInUseFile, in the home, names the account the user chose under
// Settings ("Use this account"); without it the app uses the first one.
const accountInUseFile = "account-in-use"

func newGUIConfig(ctx context.Context, e *env, h home.Home, tmp string) *guiConfig {
	g := &guiConfig{ctx: ctx, e: e, h: h, tmp: tmp, forceDemo: e.getenv("SECURESEND_DEMO") == "1", secrets: keychain.New(h.KeychainService())}
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

// current is the account in use, as the account store has it now.
func (g *guiConfig) current() (*account.Account, error) {
	g.mu.Lock()
	name := g.inUse
	g.mu.Unlock()
	if name == "" {
		return nil, errors.New("no mail account is in use")
	}
	a, err := account.NewStore(g.h, g.secrets).Get(name)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", name, err)
	}
	return a, nil
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
// the send package and the home's outbox, the inbox through receive.Inbox
// into the home's encrypted store, verification as 'securesend inbox
// fetch' and 'securesend verify' do it (guiVerifier). The functions look
// the account up in the store each time they run, so its current settings
// are used. Received documents are decrypted into g.tmp only when the user
// opens or saves one.
func (g *guiConfig) accountConfig(a account.Account) (app.Config, error) {
	e, secrets, tmp := g.e, g.secrets, g.tmp
	if g.inbox == nil {
		st, _, _, err := openInbox(e)
		if err != nil {
			return app.Config{}, err
		}
		g.inbox = st
	}
	st := g.inbox
	if g.ob == nil {
		ob, err := guiOutbox(e, g.current)
		if err != nil {
			return app.Config{}, err
		}
		g.ob = ob
	}
	name := a.Name
	get := func() (*account.Account, error) {
		acct, err := account.NewStore(g.h, secrets).Get(name)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", name, err)
		}
		return acct, nil
	}
	cfg := app.Config{
		Account: a.Name,
		From:    mail.Address{Address: a.Email},
		Send: func(ctx context.Context, m *send.Message, progress func(int64)) (*send.Result, error) {
			acct, err := get()
			if err != nil {
				return nil, err
			}
			return guiSend(ctx, e, acct, secrets, m, progress)
		},
		Outbox:     g.ob,
		InboxOwner: a.Email,
		Verify: func(ctx context.Context, r io.Reader) (*receive.Report, error) {
			verify, _, err := guiVerifier(e)
			if err != nil {
				return nil, err
			}
			return verify(ctx, r, nil)
		},
		Document: func(id string, n int) (string, error) {
			it, err := st.Get(id)
			if err != nil {
				return "", err
			}
			if n < 0 || n >= len(it.Documents) {
				return "", fmt.Errorf("no document %d", n+1)
			}
			dir, err := os.MkdirTemp(tmp, "doc-")
			if err != nil {
				return "", err
			}
			rep, err := st.Report(id)
			if err != nil {
				return "", err
			}
			name := fmt.Sprintf("document-%d", n+1)
			if n < len(rep.Documents) {
				name = receive.SanitizeName(rep.Documents[n].Name)
			}
			p := filepath.Join(dir, name)
			return p, writeDocument(st, id, n, p)
		},
		Settings: []app.Setting{
			{Name: "Account", Value: a.Name},
			{Name: "Mail server (sending)", Value: fmt.Sprintf("%s (%s)", a.SMTP.Address, a.SMTP.Security)},
			{Name: "Mail server (inbox)", Value: fmt.Sprintf("%s (%s)", a.IMAP.Address, a.IMAP.Security)},
			{Name: "REQUIRETLS required", Value: fmt.Sprint(a.RequireTLS)},
		},
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
			acct, err := get()
			if err != nil {
				return nil, err
			}
			verify, pol, err := guiVerifier(e)
			if err != nil {
				return nil, err
			}
			iopts, err := imapOptions(pol, acct)
			if err != nil {
				return nil, err
			}
			conn, err := acct.DialIMAP(ctx, secrets, iopts)
			if err != nil {
				return nil, err
			}
			defer conn.Close()
			in := &receive.Inbox{Store: st, Verify: verify}
			res, err := in.Fetch(ctx, conn.Client, receive.FetchOptions{Account: acct.Name})
			if res != nil {
				auditReceived(e, acct.Name, res.New)
			}
			if err != nil {
				return nil, err
			}
			return storedItems(st)
		}
	}
	return cfg, nil
}

// guiVerifier is the inbox's verifier, built as 'securesend inbox fetch'
// and 'securesend verify' build it: the organisation profile is loaded
// and verified and its directory keys pinned in the home's key store
// (receivePolicy), then messages are verified against that store, and
// decrypted with the user's own key (inboxVerifier). It also returns the
// effective policy, whose IMAP settings fetching must use. It is made
// afresh for each use, so keys changed in Settings count at once.
func guiVerifier(e *env) (receive.VerifyFunc, profile.Policy, error) {
	ks, err := openKeyStore(e)
	if err != nil {
		return nil, profile.Policy{}, err
	}
	pol, err := receivePolicy(e, ks) // pins the directory's keys
	if err != nil {
		return nil, profile.Policy{}, err
	}
	h, kc, err := openHome(e)
	if err != nil {
		return nil, profile.Policy{}, err
	}
	verify, err := inboxVerifier(h, kc)
	if err != nil {
		return nil, profile.Policy{}, err
	}
	return verify, pol, nil
}

// guiOutbox wires the app to the home's outbox (encrypted, key in the
// keychain, audited), as 'securesend send --account' uses it: Enqueue runs
// the organisation policy gate and signs/encrypts (guiProtect) and queues
// the job for the account in use (current, asked each time); Submit
// delivers each job through the policy gate in force at that moment
// (gate.Guard: a job the current policy forbids fails with the reasons,
// nothing is sent) with its own account's options, read per attempt after
// the gate allowed the account (so OAuth tokens refresh) and raised to the
// policy's TLS floor. Jobs queued without an account (securesend send
// --server) are delivered with the account in use only when they are from
// its address; others are left deferred for 'securesend outbox run'.
func guiOutbox(e *env, current func() (*account.Account, error)) (*app.OutboxConfig, error) {
	ev := &app.OutboxEvents{}
	ob, err := openOutbox(e, outbox.Options{Notify: ev.Notify})
	if err != nil {
		return nil, fmt.Errorf("outbox: %s", outboxTrim(err, "outbox: "))
	}
	enqueue := func(ctx context.Context, m *send.Message) (string, error) {
		a, err := current()
		if err != nil {
			return "", err
		}
		if !strings.EqualFold(m.From.Address, a.Email) {
			return "", fmt.Errorf("the message is from %s but the account in use, %s, sends as %s; check the account under Settings", m.From.Address, a.Name, a.Email)
		}
		prot, _, _, err := guiProtect(e, a, m)
		if err != nil {
			return "", err
		}
		job, err := outboxJob(m, a.Name, time.Now())
		if err != nil {
			return "", err
		}
		var r send.Result
		r.SetProtection(prot)
		job.Encrypted, job.Signed, job.SignerFingerprint = r.Encrypted, r.Signed, r.SignerFingerprint
		job.EncryptedTo = gate.EncryptedTo(m, prot)
		return ob.Enqueue(ctx, job, func(w io.Writer) ([]send.DocumentInfo, error) {
			return send.ComposeProtected(w, m, prot)
		})
	}
	policyNow := func() (*gate.Gate, error) {
		pol, _, err := policyForCommand(e, profile.UserSettings{})
		if err != nil {
			return nil, err
		}
		return gate.New(pol, nil), nil
	}
	route := func(_ context.Context, job outbox.Record) (gate.Route, error) {
		name := job.Account
		if name == "" {
			a, err := current()
			if err != nil || !strings.EqualFold(job.Envelope.From, a.Email) {
				return gate.Route{}, fmt.Errorf("this message was queued by 'securesend send --server' from %s; deliver it with 'securesend outbox run'", job.Envelope.From)
			}
			name = a.Name
		}
		_, a, err := storedAccount(e, name)
		if err != nil {
			return gate.Route{}, fmt.Errorf("account %s: %w", name, err)
		}
		return gate.AccountRoute(a), nil
	}
	submit := func(progress func(int64)) outbox.SubmitFunc {
		return gate.Guard(policyNow, route, func(ctx context.Context, g *gate.Gate, r gate.Route, env send.Envelope, body io.Reader) (*send.Result, error) {
			s, err := accountStore(e)
			if err != nil {
				return nil, err
			}
			opts, err := r.Stored.SendOptions(ctx, s.Secrets())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r, err)
			}
			g.Transport(r, &opts)
			opts.Progress = progress
			return send.Submit(ctx, opts, env, body)
		})
	}
	return &app.OutboxConfig{Box: ob, Events: ev, Enqueue: enqueue, Submit: submit}, nil
}

// guiProtect is the policy gate and protection of every GUI send: nothing
// leaves that the organisation policy refuses; the account is checked
// before its secrets are read. The message is signed with the user's key
// for From and encrypted when every recipient has a key the policy accepts
// (always, when the policy says so). The caller applies g.Transport(r,
// &opts) to the options it sends with.
func guiProtect(e *env, a *account.Account, m *send.Message) (send.Protection, *gate.Gate, gate.Route, error) {
	pol, _, err := policyForCommand(e, profile.UserSettings{})
	if err != nil {
		return send.Protection{}, nil, gate.Route{}, err
	}
	ks, err := openKeyStore(e)
	if err != nil {
		return send.Protection{}, nil, gate.Route{}, err
	}
	g, r := gate.New(pol, ks), gate.AccountRoute(a)
	if err := g.CheckRoute(r); err != nil {
		return send.Protection{}, nil, gate.Route{}, fmt.Errorf("your organisation's policy does not allow account %s: %w", a.Name, err)
	}
	must, err := g.CheckMessage(m)
	if err != nil {
		return send.Protection{}, nil, gate.Route{}, fmt.Errorf("refused by your organisation's policy, so nothing was sent: %w", err)
	}
	mode := ""
	if must {
		mode = string(send.EncryptAlways)
	}
	prot, err := protectionFor(ks, m, mode, g.Keys())
	return prot, g, r, err
}

// guiSend sends m from the app as 'securesend send --account' does: the
// organisation policy gate (nothing leaves that it refuses; the account is
// checked before its secrets are read, the TLS settings are raised to the
// policy's floor and encryption is required where it says so), then signed
// with the user's key for From and encrypted when every recipient has a
// key the policy accepts, streamed to the account's server.
func guiSend(ctx context.Context, e *env, a *account.Account, secrets account.Secrets, m *send.Message, progress func(int64)) (*send.Result, error) {
	prot, g, r, err := guiProtect(e, a, m)
	if err != nil {
		return nil, err
	}
	opts, err := a.SendOptions(ctx, secrets)
	if err != nil {
		return nil, err
	}
	g.Transport(r, &opts)
	opts.Progress = progress
	return send.SendProtected(ctx, opts, m, prot)
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

// storedItems lists the store with each item's report.
func storedItems(st *receive.Store) ([]app.Received, error) {
	items, err := st.List()
	if err != nil {
		return nil, err
	}
	var out []app.Received
	for i := range items {
		it := &items[i]
		rep, err := st.Report(it.ID)
		if err != nil {
			return nil, err
		}
		dup := ""
		if note := duplicateNote(it); note != "" {
			dup = "This message or one of its documents arrived before (" + strings.TrimPrefix(note, "DUPLICATE of ") + " in the inbox)."
		}
		out = append(out, app.Received{Key: it.ID, Received: it.Received, Report: rep, Source: "mailbox", Duplicate: dup})
	}
	return out, nil
}
