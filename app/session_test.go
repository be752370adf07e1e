package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/receive"
)

// TestOpenDeskFollowsSession: OpenDesk's configuration is the desk
// session's: the demo without an account (the pharmacy's inbox, the
// demo's locked settings, the home's keys and accounts under Settings),
// the account once one is added (its own outbox, kept across reloads),
// and "Use this account" is the session's Use.
func TestOpenDeskFollowsSession(t *testing.T) {
	testKeychain(t)
	sys, err := demomail.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close() })
	tmp, err := privtemp.New(t.TempDir())
	if tmp == nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tmp.Close() })
	dir := t.TempDir()
	d, err := desk.Open(desk.Options{Getenv: func(k string) string {
		if k == home.EnvVar {
			return dir
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, s, err := OpenDesk(context.Background(), d, desk.SessionOptions{Temp: tmp, System: sys}, DeskOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !cfg.Demo || cfg.Account != "" || cfg.From.Address != demomail.Clinician || !strings.HasPrefix(cfg.InboxOwner, demomail.Pharmacy) ||
		cfg.Fetch == nil || cfg.Failures == nil || cfg.Document == nil || cfg.Verify == nil || cfg.Outbox == nil ||
		cfg.Keys == nil || cfg.Accounts == nil || cfg.Accounts.Use == nil || cfg.Reload == nil || len(cfg.Samples) == 0 || cfg.Home != d.Home() {
		t.Fatalf("demo configuration: %+v", cfg)
	}
	if len(cfg.Recipients) != 1 || cfg.Recipients[0].String() != "Demo Pharmacy <pharmacy@demo.test> (key checked)" {
		t.Errorf("demo recipients: %+v", cfg.Recipients)
	}
	locked := 0
	for _, st := range cfg.Settings {
		if st.Locked {
			locked++
		}
	}
	if locked != 3 {
		t.Errorf("demo settings: %+v", cfg.Settings)
	}

	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, sys.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ph, _ := sys.Account(demomail.Pharmacy)
	if err := cfg.Accounts.Store.Add(account.Account{
		Name: "pharmacy", Email: ph.Address, User: ph.Address, Auth: account.AuthPassword, CAFile: ca,
		SMTP: account.Server{Address: sys.SMTPAddr, Security: account.ImplicitTLS},
		IMAP: account.Server{Address: sys.IMAPAddr, Security: account.ImplicitTLS},
	}, account.Credentials{Password: ph.Password}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Accounts().Remove("pharmacy") })
	n, err := cfg.Reload()
	if err != nil {
		t.Fatal(err)
	}
	if n.Demo || n.Account != "pharmacy" || n.From.Address != ph.Address || n.InboxOwner != ph.Address || n.Outbox == cfg.Outbox ||
		n.Fetch == nil || n.Failures == nil || len(n.Samples) != 0 {
		t.Fatalf("account configuration: %+v", n)
	}
	if again, err := cfg.Reload(); err != nil || again.Outbox != n.Outbox {
		t.Errorf("a reload to the same account changed the outbox: %v", err)
	}
	if err := cfg.Accounts.Use("nonexistent"); err == nil {
		t.Error("use of an unknown account: no error")
	}
	if err := cfg.Accounts.Use("pharmacy"); err != nil {
		t.Error(err)
	}
	if name, err := s.InUse(); name != "pharmacy" || err != nil {
		t.Errorf("in use: %q, %v", name, err)
	}
}

// TestReloadSwitchesFailuresAndOpenFile: a reload takes the new
// configuration's Failures and OpenFile too (before, the inbox kept
// listing the failures of the mailbox it had switched away from).
func TestReloadSwitchesFailuresAndOpenFile(t *testing.T) {
	var failuresAsked, opened bool
	u := newDemoUI(t, func(c *Config) {
		n := *c
		c.Failures, c.OpenFile = nil, nil
		n.Failures = func() ([]receive.Failure, error) { failuresAsked = true; return nil, nil }
		n.OpenFile = func(string) error { opened = true; return nil }
		c.Reload = func() (Config, error) { return n, nil }
	})
	done := expect(&u.reloadDone)
	u.reload()
	await(t, "reload", done)
	if u.cfg.Failures == nil || u.cfg.OpenFile == nil {
		t.Fatalf("after the reload: Failures %v, OpenFile %v", u.cfg.Failures != nil, u.cfg.OpenFile != nil)
	}
	u.cfg.Failures()
	u.cfg.OpenFile("x.pdf")
	if !failuresAsked || !opened {
		t.Error("not the reloaded functions")
	}
}
