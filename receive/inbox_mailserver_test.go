package receive_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/mailserver"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// TestInboxPostfixDovecot is the end-to-end path through real servers: two
// password accounts (keychain) are tested against a private Postfix and
// Dovecot, three PGP/MIME messages (verified, unknown signer, tampered) are
// submitted over TLS through Postfix, fetched from Dovecot over IMAPS and
// verified; a second fetch downloads nothing; a resent prescription is
// flagged as a duplicate of the first.
func TestInboxPostfixDovecot(t *testing.T) {
	kc := keychain.New("securesend-test:" + t.Name())
	if err := kc.Set("probe", "x"); err != nil {
		t.Fatalf("the tests need a running, unlocked Secret Service (scripts/with-keyring.sh): %v", err)
	}
	kc.Delete("probe")
	srv := mailserver.StartT(t, mailserver.Options{})
	store := account.NewStore(home.Home{Dir: t.TempDir()}, kc)
	doctor := account.Account{
		Name: "doctor", Email: "doctor@" + srv.Domain, Auth: account.AuthPassword, CAFile: srv.CAFile,
		SMTP: account.Server{Address: mailserver.Addr(srv.SMTPS), Security: account.ImplicitTLS},
		IMAP: account.Server{Address: mailserver.Addr(srv.IMAPS), Security: account.ImplicitTLS},
	}
	pharmacy := doctor
	pharmacy.Name, pharmacy.Email = "pharmacy", "pharmacy@"+srv.Domain
	pharmacy.SMTP = account.Server{Address: mailserver.Addr(srv.Submission), Security: account.StartTLS}
	for _, a := range []account.Account{doctor, pharmacy} {
		if err := store.Add(a, account.Credentials{Password: srv.Password}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Remove(a.Name) })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// account test against the real servers.
	acct, err := store.Get("pharmacy")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := acct.Test(ctx, kc, account.TestOptions{})
	if err != nil {
		t.Fatalf("account test: %v", err)
	}
	if rep.SMTP.TLS.Version == "" || rep.SMTP.SignedInWith == "" || rep.IMAP.SignedInWith == "" || !rep.IMAP.IDLE {
		t.Errorf("account test report: %+v %+v", rep.SMTP, *rep.IMAP)
	}

	sender, err := store.Get("doctor")
	if err != nil {
		t.Fatal(err)
	}
	submit := func(fixture string) {
		t.Helper()
		raw, err := os.ReadFile(filepath.Join("testdata", fixture))
		if err != nil {
			t.Fatal(err)
		}
		opts, err := sender.SendOptions(ctx, kc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := send.Submit(ctx, opts, send.Envelope{From: sender.Email, To: []string{pharmacy.Email}}, bytes.NewReader(raw)); err != nil {
			t.Fatalf("submit %s: %v", fixture, err)
		}
	}
	order := []string{"good_encrypted.eml", "unknown_signer.eml", "bad_signature_body_altered.eml"}
	want := []receive.Verdict{receive.Verified, receive.UnknownSigner, receive.BadSignature}
	for _, f := range order {
		submit(f)
	}
	if _, err := srv.WaitForMessages(ctx, pharmacy.Email, 3); err != nil {
		t.Fatal(err)
	}

	in, _ := newInbox(t)
	fetchReal := func() *receive.FetchResult {
		t.Helper()
		conn, err := acct.DialIMAP(ctx, kc, account.IMAPOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		res, err := in.Fetch(ctx, conn.Client, receive.FetchOptions{Account: acct.Name})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := fetchReal()
	if len(res.New) != 3 {
		t.Fatalf("first fetch: %d new, want 3", len(res.New))
	}
	// Delivery order through Postfix is not guaranteed: match by verdict.
	got := map[receive.Verdict]int{}
	for _, it := range res.New {
		got[it.Verdict]++
	}
	for _, v := range want {
		if got[v] != 1 {
			t.Errorf("verdicts %v; want one each of %v", got, want)
			break
		}
	}
	if res := fetchReal(); len(res.New)+res.Known != 0 {
		t.Errorf("second fetch: %d new, %d known; want nothing", len(res.New), res.Known)
	}

	// The verified prescription is sent again (same document, new message).
	first := map[string]bool{}
	for _, it := range res.New {
		first[it.ID] = true
	}
	submit("good_signed.eml")
	if _, err := srv.WaitForMessages(ctx, pharmacy.Email, 4); err != nil {
		t.Fatal(err)
	}
	res = fetchReal()
	if len(res.New) != 1 {
		t.Fatalf("after resend: %d new, want 1", len(res.New))
	}
	flagged := false
	for _, d := range res.New[0].Duplicates {
		if d.Kind == "document" {
			flagged = true
			if !first[d.Of] {
				t.Errorf("duplicate points at #%s, not at an earlier item %v", d.Of, first)
			}
		}
	}
	if !flagged {
		t.Errorf("resent prescription not flagged: %+v", res.New[0].Duplicates)
	}
}
