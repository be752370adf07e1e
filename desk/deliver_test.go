package desk

import (
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// testDesk opens a Desk over a fresh home in a temporary directory (its
// keychain namespace is the home's); it needs the Secret Service
// (scripts/with-keyring.sh).
func sendDesk(t *testing.T) *Desk {
	t.Helper()
	k := keychain.New("securesend-test:" + t.Name())
	if err := k.Set("probe", "x"); err != nil {
		if os.Getenv("SECURESEND_NO_KEYCHAIN_OK") == "1" {
			t.Skipf("no keychain: %v", err)
		}
		t.Fatalf("the tests need a running, unlocked Secret Service (scripts/with-keyring.sh): %v", err)
	}
	k.Delete("probe")
	dir := t.TempDir()
	d, err := Open(Options{Getenv: func(k string) string {
		switch k {
		case home.EnvVar:
			return dir
		case "SECURESEND_SYSTEM_DIR":
			return filepath.Join(dir, "no-system-profile")
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// testDraft is a message with one document from clinic@example.org to
// pharmacy@example.org through srv (password sign-in, the test CA).
func testDraft(t *testing.T, pki *accounttest.PKI, addr string, enc send.EncryptMode) Draft {
	t.Helper()
	doc := filepath.Join(t.TempDir(), "script.pdf")
	if err := os.WriteFile(doc, []byte("%PDF-1.7\nscript\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return Draft{
		Message: &send.Message{From: mail.Address{Address: "clinic@example.org"}, To: []mail.Address{{Address: "pharmacy@example.org"}},
			Subject: "Prescription", Documents: []send.Document{{Path: doc}}},
		Via: Via{Server: &Server{Address: addr, Security: send.ImplicitTLS, User: "clinic", CAFile: pki.CAFile,
			Password: func() (string, error) { return "pw", nil }}},
		Encrypt: enc,
	}
}

// TestDeliverRechecksPolicy: delivery goes through the policy gate in
// force at that moment, also right after Send ('securesend send' queues
// and delivers in one go): a message queued unencrypted while the policy
// allowed it fails with the reason once the user's security.toml requires
// encryption, and the server receives nothing, not even a sign-in.
func TestDeliverRechecksPolicy(t *testing.T) {
	d := sendDesk(t)
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: "pw"}, accounttest.Options{})
	dr := testDraft(t, pki, srv.Addr, send.EncryptNever)
	ob, err := d.Outbox(OutboxOptions{Via: dr.Via})
	if err != nil {
		t.Fatal(err)
	}
	id, err := ob.Send(t.Context(), dr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.Home().Path("security.toml"), []byte("encryption = \"always\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec, err := ob.Deliver(t.Context(), id, nil)
	if !errors.Is(err, outbox.ErrRefused) || rec == nil || rec.State != outbox.Failed ||
		!strings.Contains(rec.LastError, "queued unencrypted") {
		t.Fatalf("delivery of a job the policy now forbids: %v; %+v", err, rec)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("the server received %d messages", n)
	}
	if got := srv.SignIns(); len(got) != 0 {
		t.Errorf("signed in although the job was refused: %v", got)
	}
}

// TestSendDeliver: Send queues the message (the job records how it is
// protected and the hash of the composed message) and Deliver sends it.
func TestSendDeliver(t *testing.T) {
	d := sendDesk(t)
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: "pw"}, accounttest.Options{})
	dr := testDraft(t, pki, srv.Addr, "")
	ob, err := d.Outbox(OutboxOptions{Via: dr.Via})
	if err != nil {
		t.Fatal(err)
	}
	id, err := ob.Send(t.Context(), dr)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ob.Get(id)
	if err != nil || rec.State != outbox.Queued || rec.MessageSHA256 == "" || rec.Encrypted {
		t.Fatalf("queued job: %v %+v", err, rec)
	}
	if rec, err = ob.Deliver(t.Context(), id, nil); err != nil || rec.State != outbox.Sent {
		t.Fatalf("deliver: %v %+v", err, rec)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("the server received %d messages", n)
	}
}

// TestSendRefused: a policy refusal is a *Refused carrying the reasons,
// and nothing is queued.
func TestSendRefused(t *testing.T) {
	d := sendDesk(t)
	pki := accounttest.NewPKI(t)
	if err := os.WriteFile(d.Home().Path("security.toml"), []byte("allowed_recipient_domains = [\"example.net\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dr := testDraft(t, pki, "127.0.0.1:1", "")
	_, err := d.Send(t.Context(), dr)
	var r *Refused
	if !errors.As(err, &r) || !r.Policy || len(r.Reasons()) == 0 || !strings.Contains(err.Error(), "pharmacy@example.org") {
		t.Fatalf("send to a domain the policy does not allow: %v", err)
	}
	ob, err := d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if recs, err := ob.List(); err != nil || len(recs) != 0 {
		t.Errorf("outbox after a refusal: %d jobs, %v", len(recs), err)
	}
}
