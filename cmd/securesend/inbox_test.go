package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/receive"
)

// inboxKeys gives the home the TEST ONLY keys of receive's fixtures: Bob
// (the user, own secret key) and Alice (pinned sender).
func inboxKeys(t *testing.T, h home.Home) {
	t.Helper()
	keys := map[string]*pgp.Key{}
	for _, name := range []string{"bob", "alice"} {
		f, err := os.Open(filepath.Join("..", "..", "receive", "testdata", "keys", "test_only_"+name+".sec.asc"))
		if err != nil {
			t.Fatal(err)
		}
		keys[name], err = pgp.ReadSecretKey(f, nil)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	ks, err := pgp.OpenStore(h.Path("keys"), keychain.New(h.KeychainService()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.AddSecret(keys["bob"]); err != nil {
		t.Fatal(err)
	}
	alice := bytes.NewReader(pgptest.Armored(t, keys["alice"].Public()))
	if _, err := ks.Import(alice, pgp.ImportOptions{Pin: true}); err != nil {
		t.Fatal(err)
	}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "receive", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestInboxCLI fetches three messages (verified, unknown signer, tampered)
// as a user would, lists, shows and opens them, checks that a second fetch
// downloads nothing, and that a document sent again is flagged.
func TestInboxCLI(t *testing.T) {
	requireKeychain(t)
	const user, pw = "bob@pharmacy.test", "imap-pass-for-cli"
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartIMAP(t, pki, accounttest.Credentials{User: user, Password: pw}, accounttest.Options{StartTLS: true})
	ae := newAcctEnv(t)
	h := home.Home{Dir: ae.vars[home.EnvVar]}
	inboxKeys(t, h)
	step := func(wantCode int, args ...string) string {
		t.Helper()
		out, errOut, code := ae.run(t, "", args...)
		if code != wantCode {
			t.Fatalf("securesend %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out, errOut)
		}
		if strings.Contains(out+errOut, pw) {
			t.Errorf("the password appears in the output of %v", args)
		}
		return out + errOut
	}
	step(1, "inbox", "fetch") // no account yet
	if _, _, code := ae.run(t, pw+"\n", "account", "add", "--name", "pharmacy", "--email", user,
		"--smtp", "127.0.0.1:1", "--imap", srv.Addr, "--imap-security", "starttls", "--ca-file", pki.CAFile, "--password-stdin"); code != 0 {
		t.Fatal("account add failed")
	}

	srv.Deliver(t, fixture(t, "good_encrypted.eml"))
	srv.Deliver(t, fixture(t, "unknown_signer.eml"))
	srv.Deliver(t, fixture(t, "bad_signature_body_altered.eml"))
	out := step(0, "inbox", "fetch")
	if !strings.Contains(out, "3 new, 0 already stored") || !strings.Contains(out, "TLS 1.3") {
		t.Fatalf("first fetch:\n%s", out)
	}
	out = step(0, "inbox", "list")
	for _, want := range []string{"VERIFIED", "UNKNOWN SIGNER", "BAD SIGNATURE"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %s:\n%s", want, out)
		}
	}
	out = step(0, "inbox", "show", "1")
	if !strings.HasPrefix(out, "VERIFIED: signed by Dr Alice Test") || !strings.Contains(out, "prescription.pdf") {
		t.Errorf("show 1:\n%s", out)
	}
	var shown struct {
		Item   receive.Item   `json:"item"`
		Report receive.Report `json:"report"`
	}
	if err := json.Unmarshal([]byte(step(0, "inbox", "show", "--json", "1")), &shown); err != nil || len(shown.Item.Documents) != 1 {
		t.Fatalf("show --json: %v %+v", err, shown)
	}
	dir := t.TempDir()
	out = step(0, "inbox", "open", "1", "--out", dir)
	data, err := os.ReadFile(filepath.Join(dir, "prescription.pdf"))
	if err != nil {
		t.Fatalf("open --out wrote no file: %v\n%s", err, out)
	}
	got := sha256.Sum256(data)
	if hex.EncodeToString(got[:]) != shown.Item.Documents[0].SHA256 {
		t.Error("the opened document does not match its recorded SHA-256")
	}
	step(1, "inbox", "open", "1", "--out", dir) // never overwrites
	step(1, "inbox", "show", "99")

	out = step(0, "inbox", "fetch")
	if !strings.Contains(out, "0 new, 0 already stored") {
		t.Errorf("second fetch downloaded something:\n%s", out)
	}

	// The same prescription again, in a new message.
	srv.Deliver(t, fixture(t, "good_signed.eml"))
	out = step(0, "inbox", "fetch")
	if !strings.Contains(out, "1 new") || !strings.Contains(out, "DUPLICATE of #1") {
		t.Errorf("resent document not flagged:\n%s", out)
	}
	out = step(0, "inbox", "show", "4")
	if !strings.Contains(out, "arrived before in item #1") {
		t.Errorf("show of the duplicate lacks the pointer:\n%s", out)
	}
	if ch := srv.Changes(); len(ch) != 0 {
		t.Errorf("the inbox commands changed the server mailbox: %v", ch)
	}
	// Archiving is the one command that changes server mail.
	step(0, "inbox", "archive", "3")
	if ch := srv.Changes(); len(ch) != 1 || ch[0] != "MOVE Archive" {
		t.Errorf("archive: server changes %v", ch)
	}
	if out := step(0, "inbox", "list"); !strings.Contains(out, "archived to Archive") {
		t.Errorf("list does not show the archived item:\n%s", out)
	}
	step(1, "inbox", "archive", "3")

	// Each received message is in the audit log, without content.
	logData, err := os.ReadFile(h.Path("audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(logData), `"kind":"receive.verified"`); n != 4 {
		t.Errorf("audit log has %d receive.verified entries, want 4", n)
	}
	for _, leak := range []string{"prescription.pdf", pw} {
		if strings.Contains(string(logData), leak) {
			t.Errorf("audit log holds %q", leak)
		}
	}
	step(0, "audit", "verify")
}
