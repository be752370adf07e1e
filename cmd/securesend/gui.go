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
	"time"

	fyneapp "fyne.io/fyne/v2/app"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/app"
	"github.com/securesend/securesend/assets"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// appID is the application identifier (also in FyneApp.toml).
const appID = "nz.securesend.app"

// runGUI opens the desktop app. With no account in the home directory (or
// with SECURESEND_DEMO=1) it starts the loopback demo mail system and opens
// the app in demo mode.
func runGUI(ctx context.Context, e *env) int {
	if _, err := loadOrgProfile(e); err != nil {
		return errorf(e, "%v", err)
	}
	h, err := home.Resolve(e.getenv)
	if err != nil {
		return errorf(e, "%v", err)
	}
	accounts, err := configuredAccounts(h)
	if err != nil {
		return errorf(e, "%v", err)
	}
	fa := fyneapp.NewWithID(appID)
	tmp, err := os.MkdirTemp("", "securesend-app-")
	if err != nil {
		return errorf(e, "%v", err)
	}
	defer os.RemoveAll(tmp)
	var cfg app.Config
	if len(accounts) == 0 || e.getenv("SECURESEND_DEMO") == "1" {
		sys, err := demomail.Start(ctx)
		if err != nil {
			return errorf(e, "demo mode: %v", err)
		}
		defer sys.Close()
		samples, err := assets.WriteSamples(filepath.Join(tmp, "samples"))
		if err != nil {
			return errorf(e, "demo mode: %v", err)
		}
		cfg = app.DemoConfig(sys, samples, filepath.Join(tmp, "received"))
		// The demo's outbox lives in its temporary home, with a key in memory.
		if cfg.Outbox, err = app.DemoOutbox(sys, filepath.Join(tmp, "home", "outbox")); err != nil {
			return errorf(e, "demo mode: %v", err)
		}
		fmt.Fprintln(e.stderr, "securesend: no account set up, so the app opens in demo mode (nothing leaves this computer)")
	} else {
		if cfg, err = accountConfig(e, h, accounts[0], tmp); err != nil {
			return errorf(e, "%v", err)
		}
	}
	cfg.Home = h
	cfg.TempDir = tmp
	guiSettings(e, h, &cfg)
	u := app.New(fa, cfg)
	if dir := e.getenv("SECURESEND_SCREENSHOT_TOUR"); dir != "" {
		go u.Tour(dir)
	}
	guiDiagnostics(e, u)
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
	restart := "Start the app again to send and receive with it."
	if cfg.Demo {
		restart = "Close the app and start it again: it then opens with this account instead of the demo."
	}
	cfg.Accounts = &app.AccountsConfig{
		Store:       account.NewStore(h, keychain.New(h.KeychainService())),
		OpenBrowser: oauth.SystemBrowser(e.getenv),
		Restart:     restart,
	}
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
// the send package, the inbox through receive.Inbox into the home's
// encrypted store, verification with the home's key store. Received
// documents are decrypted into tmp only when the user opens or saves one.
func accountConfig(e *env, h home.Home, a account.Account, tmp string) (app.Config, error) {
	secrets := keychain.New(h.KeychainService())
	st, _, kc, err := openInbox(e)
	if err != nil {
		return app.Config{}, err
	}
	verify, err := inboxVerifier(h, kc)
	if err != nil {
		return app.Config{}, err
	}
	ob, err := guiOutbox(e, a)
	if err != nil {
		return app.Config{}, err
	}
	cfg := app.Config{
		From: mail.Address{Address: a.Email},
		Send: func(ctx context.Context, m *send.Message, progress func(int64)) (*send.Result, error) {
			return guiSend(ctx, e, &a, secrets, m, progress)
		},
		Outbox:     ob,
		InboxOwner: a.Email,
		Verify: func(ctx context.Context, r io.Reader) (*receive.Report, error) {
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
	if cfg.Recipients, err = keyRecipients(e, a.Email); err != nil {
		return app.Config{}, err
	}
	cfg.Settings = append(cfg.Settings, app.Setting{Name: "Your key", Value: ownKeyText(e)})
	if a.IMAP.Address != "" {
		cfg.Fetch = func(ctx context.Context) ([]app.Received, error) {
			conn, err := a.DialIMAP(ctx, secrets, account.IMAPOptions{})
			if err != nil {
				return nil, err
			}
			defer conn.Close()
			in := &receive.Inbox{Store: st, Verify: verify}
			res, err := in.Fetch(ctx, conn.Client, receive.FetchOptions{Account: a.Name})
			if res != nil {
				auditReceived(e, a.Name, res.New)
			}
			if err != nil {
				return nil, err
			}
			return storedItems(st)
		}
	}
	return cfg, nil
}

// guiOutbox wires the app to the home's outbox (encrypted, key in the
// keychain, audited), as 'securesend send --account' uses it: Enqueue runs
// the organisation policy gate and signs/encrypts (guiProtect) and queues
// the job for account a; Submit delivers each job with its own account's
// options, fetched per attempt (so OAuth tokens refresh), checked against
// the policy and raised to its TLS floor. Jobs queued without an account
// (securesend send --server) are delivered with a only when they are from
// a's address; others are left deferred for 'securesend outbox run'.
func guiOutbox(e *env, a account.Account) (*app.OutboxConfig, error) {
	ev := &app.OutboxEvents{}
	ob, err := openOutbox(e, outbox.Options{Notify: ev.Notify})
	if err != nil {
		return nil, fmt.Errorf("outbox: %s", outboxTrim(err, "outbox: "))
	}
	enqueue := func(ctx context.Context, m *send.Message) (string, error) {
		prot, err := guiProtect(e, &a, m, &send.Options{})
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
		return ob.Enqueue(ctx, job, func(w io.Writer) ([]send.DocumentInfo, error) {
			return send.ComposeProtected(w, m, prot)
		})
	}
	submit := func(progress func(int64)) outbox.SubmitFunc {
		return func(ctx context.Context, env send.Envelope, body io.Reader) (*send.Result, error) {
			name := outbox.JobAccount(ctx)
			if name == "" {
				if !strings.EqualFold(env.From, a.Email) {
					return nil, fmt.Errorf("this message was queued by 'securesend send --server' from %s; deliver it with 'securesend outbox run'", env.From)
				}
				name = a.Name
			}
			acct, opts, err := accountSendOptions(ctx, e, name)
			if err != nil {
				return nil, fmt.Errorf("account %s: %w", name, err)
			}
			pol, _, err := policyForCommand(e, profile.UserSettings{})
			if err != nil {
				return nil, err
			}
			if err := pol.CheckAccount(accountPolicySettings(acct)); err != nil {
				return nil, fmt.Errorf("your organisation's policy does not allow account %s: %w", name, err)
			}
			opts.MinTLSVersion = max(opts.MinTLSVersion, pol.MinTLS())
			opts.RequireTLS = opts.RequireTLS || pol.RequireTLS()
			opts.Progress = progress
			return send.Submit(ctx, opts, env, body)
		}
	}
	return &app.OutboxConfig{Box: ob, Events: ev, Enqueue: enqueue, Submit: submit}, nil
}

// guiProtect is the policy gate and protection of every GUI send: nothing
// leaves that the organisation policy refuses (it may raise opts' TLS
// settings and require encryption); the message is signed with the user's
// key for From and encrypted when every recipient has a key the policy
// accepts (always, when the policy says so).
func guiProtect(e *env, a *account.Account, m *send.Message, opts *send.Options) (send.Protection, error) {
	pol, _, err := policyForCommand(e, profile.UserSettings{})
	if err != nil {
		return send.Protection{}, err
	}
	if err := pol.CheckAccount(accountPolicySettings(a)); err != nil {
		return send.Protection{}, fmt.Errorf("your organisation's policy does not allow account %s: %w", a.Name, err)
	}
	ks, err := openKeyStore(e)
	if err != nil {
		return send.Protection{}, err
	}
	keys := policyKeys{pol: pol, store: ks}
	must, err := enforceSendPolicy(pol, m, opts, keys.Has)
	if err != nil {
		return send.Protection{}, fmt.Errorf("refused by your organisation's policy, so nothing was sent: %w", err)
	}
	mode := ""
	if must {
		mode = string(send.EncryptAlways)
	}
	return protectionFor(ks, m, mode, keys)
}

// guiSend sends m from the app as 'securesend send --account' does: the
// organisation policy gate (nothing leaves that it refuses; it may raise
// the TLS settings and require encryption), then signed with the user's
// key for From and encrypted when every recipient has a key the policy
// accepts (always, when the policy says so), streamed to the account's
// server.
func guiSend(ctx context.Context, e *env, a *account.Account, secrets account.Secrets, m *send.Message, progress func(int64)) (*send.Result, error) {
	opts, err := a.SendOptions(ctx, secrets)
	if err != nil {
		return nil, err
	}
	opts.Progress = progress
	prot, err := guiProtect(e, a, m, &opts)
	if err != nil {
		return nil, err
	}
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

// ownKeyText describes the user's own key for the Settings tab.
func ownKeyText(e *env) string {
	ks, err := openKeyStore(e)
	if err != nil {
		return "cannot open the key store: " + err.Error()
	}
	own, err := ks.Own()
	if err != nil {
		return "none yet: create one below under Your key (messages are sent unsigned until then)"
	}
	return own.Fingerprint.Grouped()
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
