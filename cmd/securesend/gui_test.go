package main

import (
	"context"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/home"
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
	cfg, err := accountConfig(e, h, accts[0], t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
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
	res, err := cfg.Send(context.Background(), &send.Message{
		From: cfg.From, To: []mail.Address{{Address: demomail.Clinician}}, Subject: "Acknowledgement",
		Documents: []send.Document{{Path: doc}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.QueueID, "DEMO") && !strings.Contains(res.Reply.Text, "queued as DEMO") {
		t.Errorf("reply %+v", res.Reply)
	}
	if !res.Signed || res.SignerFingerprint != string(own.Fingerprint) {
		t.Errorf("not signed with the user's key: signed %v by %q", res.Signed, res.SignerFingerprint)
	}

	// The app sends through the home's outbox: queued (signed, encrypted
	// at rest), then delivered with the account.
	if cfg.Outbox == nil {
		t.Fatal("no outbox wired")
	}
	id, err := cfg.Outbox.Enqueue(context.Background(), &send.Message{
		From: cfg.From, To: []mail.Address{{Address: demomail.Clinician}}, Subject: "Acknowledgement",
		Documents: []send.Document{{Path: doc}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := cfg.Outbox.Box.Deliver(context.Background(), id, cfg.Outbox.Submit(nil))
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != outbox.Sent || rec.Account != "pharmacy" || !rec.Signed || rec.Result == nil || rec.Result.SignerFingerprint != string(own.Fingerprint) {
		t.Errorf("outbox job: %+v", rec)
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
