package desk

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/keychain/keychaintest"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/receive"
)

// requireKeychain fails (or, with SECURESEND_NO_KEYCHAIN_OK=1, skips)
// without a running, unlocked Secret Service (scripts/with-keyring.sh).
func requireKeychain(t *testing.T) { keychaintest.Require(t) }

// testDesk opens a Desk in a new home (an unconfigured build: no
// organisation profile), collecting its warnings.
func testDesk(t *testing.T) (*Desk, *[]error) {
	t.Helper()
	var warnings []error
	dir := t.TempDir()
	d, err := Open(Options{
		Getenv: func(k string) string {
			if k == home.EnvVar {
				return dir
			}
			return ""
		},
		Warn: func(err error) { warnings = append(warnings, err) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return d, &warnings
}

// testdata reads a file of desk/testdata, or else of receive/testdata.
func testdata(t *testing.T, name string) []byte {
	t.Helper()
	if data, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
		return data
	}
	data, err := os.ReadFile(filepath.Join("..", "receive", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// testKey reads the TEST ONLY secret key of name ("alice", "bob",
// "mallory") from testdata/keys.
func testKey(t *testing.T, name string) *pgp.Key {
	t.Helper()
	k, err := pgp.ReadSecretKey(bytes.NewReader(testdata(t, filepath.Join("keys", "test_only_"+name+".sec.asc"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pinPublic imports k's public key into ks, pinned to its addresses.
func pinPublic(t *testing.T, ks *pgp.Store, k *pgp.Key) {
	t.Helper()
	var buf bytes.Buffer
	if err := k.Public().WriteArmored(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Import(&buf, pgp.ImportOptions{Pin: true}); err != nil {
		t.Fatal(err)
	}
}

// ownKeys gives d the TEST ONLY secret key of own and pins the public
// keys of pinned.
func ownKeys(t *testing.T, d *Desk, own string, pinned ...string) {
	t.Helper()
	ks, err := d.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.AddSecret(testKey(t, own)); err != nil {
		t.Fatal(err)
	}
	for _, name := range pinned {
		pinPublic(t, ks, testKey(t, name))
	}
}

// bobsKeys gives d Bob's TEST ONLY secret key and Alice's public key,
// pinned: d is Bob's, the pharmacist's.
func bobsKeys(t *testing.T, d *Desk) { ownKeys(t, d, "bob", "alice") }

// addIMAPAccount starts an in-process IMAP server (STARTTLS with a
// private CA, IDLE) for user with password pw and adds it to d as the
// account name, removed again at the test's end.
func addIMAPAccount(t *testing.T, d *Desk, name, user, pw string) *accounttest.IMAPServer {
	t.Helper()
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartIMAP(t, pki, accounttest.Credentials{User: user, Password: pw}, accounttest.Options{StartTLS: true})
	a := account.Account{Name: name, Email: user, Auth: account.AuthPassword,
		SMTP: account.Server{Address: "127.0.0.1:1", Security: account.StartTLS},
		IMAP: account.Server{Address: srv.Addr, Security: account.StartTLS}, CAFile: pki.CAFile}
	if err := d.Accounts().Add(a, account.Credentials{Password: pw}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Accounts().Remove(name) })
	return srv
}

// fetchFixtures fetches the named receive/testdata messages into a new
// Desk of Bob's over a real IMAP server (STARTTLS, a private CA) and
// returns it with the items by fixture name and the server.
func fetchFixtures(t *testing.T, names ...string) (*Desk, map[string]*receive.Item, *accounttest.IMAPServer) {
	t.Helper()
	d, warnings, srv := bobsIMAPDesk(t)
	for _, n := range names {
		srv.Deliver(t, testdata(t, n))
	}
	var progress []int
	res, err := d.Fetch(context.Background(), FetchOptions{Progress: func(done, _ int) { progress = append(progress, done) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.New) != len(names) || res.Account.Name != "pharmacy" || res.TLSVersion == "" || len(progress) != len(names) {
		t.Fatalf("fetch: %d new of %d, account %q, TLS %q, progress %v", len(res.New), len(names), res.Account.Name, res.TLSVersion, progress)
	}
	if len(*warnings) != 0 {
		t.Errorf("warnings: %v", *warnings)
	}
	items := map[string]*receive.Item{}
	for i := range res.New {
		items[names[i]] = &res.New[i]
	}
	return d, items, srv
}

// TestFetchVerifiesStoresAndAudits: Fetch picks the only IMAP account,
// verifies with the user's unlocked key and own address (an encrypted
// message signed by a pinned key for Bob is verified), stores the
// messages and records one receive.verified event each, with no content.
func TestFetchVerifiesStoresAndAudits(t *testing.T) {
	names := []string{"good_encrypted.eml", "unknown_signer.eml", "bad_signature_body_altered.eml"}
	d, items, srv := fetchFixtures(t, names...)
	want := map[string]receive.Verdict{
		"good_encrypted.eml":             receive.Verified,
		"unknown_signer.eml":             receive.UnknownSigner,
		"bad_signature_body_altered.eml": receive.BadSignature,
	}
	for n, v := range want {
		if items[n].Verdict != v {
			t.Errorf("%s: %s, want %s", n, items[n].Verdict, v)
		}
	}
	all, err := d.ReceivedAll()
	if err != nil || len(all) != 3 {
		t.Fatalf("inbox: %d items, %v", len(all), err)
	}
	l, err := d.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := l.Export(&log, audit.JSON, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(log.String(), string(audit.ReceiveVerified)); got != 3 {
		t.Errorf("%d receive.verified events, want 3:\n%s", got, log.String())
	}
	if strings.Contains(log.String(), "Please dispense") || strings.Contains(log.String(), "prescription.pdf") {
		t.Errorf("the audit log holds message content:\n%s", log.String())
	}
	// Fetching again stores nothing new.
	res, err := d.Fetch(context.Background(), FetchOptions{Account: "pharmacy"})
	if err != nil || len(res.New) != 0 {
		t.Errorf("second fetch: %+v, %v", res, err)
	}
	// Fetching changed nothing on the server; archiving is the one
	// journey that does, and it keeps the local copy.
	if ch := srv.Changes(); len(ch) != 0 {
		t.Errorf("fetching changed the server mailbox: %v", ch)
	}
	id := items["unknown_signer.eml"].ID
	a, err := d.Archive(context.Background(), id, "Archive")
	if err != nil || a.Name != "pharmacy" {
		t.Fatalf("archive: %v, %v", a, err)
	}
	if ch := srv.Changes(); len(ch) != 1 || ch[0] != "MOVE Archive" {
		t.Errorf("archive: server changes %v", ch)
	}
	if r, err := d.Received(id); err != nil || r.Item.Archived != "Archive" {
		t.Errorf("archived item: %+v, %v", r, err)
	}
	if _, err := d.Archive(context.Background(), id, "Archive"); err == nil {
		t.Error("archiving twice: no error")
	}
}

// TestFetchAccountChoice: no IMAP account, and an unknown one, are
// refused with what to do, before any connection.
func TestFetchAccountChoice(t *testing.T) {
	requireKeychain(t)
	d, _ := testDesk(t)
	if _, err := d.Fetch(context.Background(), FetchOptions{}); !errors.Is(err, ErrNoIMAPAccount) {
		t.Errorf("no account: %v", err)
	}
	if _, err := d.Fetch(context.Background(), FetchOptions{Account: "nope"}); err == nil {
		t.Error("unknown account: no error")
	}
	if _, err := d.Fetch(context.Background(), FetchOptions{Timeout: -1}); err == nil {
		t.Error("negative time limit: no error")
	}
}

// TestOpenDocumentRules: a verified message's document is written; a
// message that is not verified only after a confirmation; a withheld
// (bad-signature) one never, confirmed or not; a file that is not an
// openable type is never written for a viewer, only saved; and a redacted
// report carries nothing from a withheld message.
func TestOpenDocumentRules(t *testing.T) {
	names := []string{"good_encrypted.eml", "unknown_signer.eml", "bad_signature_body_altered.eml", "hostile_not_signed.eml"}
	d, items, _ := fetchFixtures(t, names...)
	good, unknown, bad, hostile := items[names[0]].ID, items[names[1]].ID, items[names[2]].ID, items[names[3]].ID
	tmp, err := privtemp.New(t.TempDir())
	if tmp == nil {
		t.Fatal(err)
	}
	defer tmp.Close()
	var withheld *WithheldError
	var unconfirmed *UnconfirmedError
	var notOpenable *NotOpenableError
	both := Confirmations{Unverified: true, Superseded: true}
	tests := []struct {
		name    string
		id      string
		n       int
		opts    OpenOptions
		wantErr any // nil, or a pointer to the error type wanted
	}{
		{"verified, to a folder", good, 0, OpenOptions{}, nil},
		{"verified, for a viewer", good, 0, OpenOptions{View: true, Temp: tmp}, nil},
		{"no such document", good, 7, OpenOptions{Confirmed: both}, "has 1 document(s)"},
		{"unknown signer, not confirmed", unknown, 0, OpenOptions{}, &unconfirmed},
		{"unknown signer, not confirmed, viewer", unknown, 0, OpenOptions{View: true, Temp: tmp}, &unconfirmed},
		{"unknown signer, confirmed", unknown, 0, OpenOptions{Confirmed: Confirmations{Unverified: true}}, nil},
		{"unknown signer, only the other question answered", unknown, 0, OpenOptions{Confirmed: Confirmations{Superseded: true}}, &unconfirmed},
		{"bad signature", bad, 0, OpenOptions{}, &withheld},
		{"bad signature, confirmed", bad, 0, OpenOptions{Confirmed: both}, &withheld},
		{"bad signature, confirmed, viewer", bad, 0, OpenOptions{Confirmed: both, View: true, Temp: tmp}, &withheld},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.opts.Temp == nil {
				tt.opts.Dir = dir
			}
			doc, err := d.OpenDocument(tt.id, tt.n, tt.opts)
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Fatal(err)
				}
				data, rerr := os.ReadFile(doc.Path)
				if rerr != nil || !bytes.HasPrefix(data, []byte("%PDF")) || !doc.Openable || doc.Kind != "PDF" {
					t.Errorf("document %+v: %q..., %v", doc, firstBytes(data), rerr)
				}
			case string:
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want one saying %q", err, want)
				}
			case **WithheldError:
				if !errors.As(err, want) {
					t.Errorf("error %v, want a WithheldError", err)
				}
			case **UnconfirmedError:
				if !errors.As(err, want) || (*want).Report == nil {
					t.Errorf("error %v, want an UnconfirmedError with the report", err)
				}
			}
			if err != nil {
				if entries, _ := os.ReadDir(dir); len(entries) != 0 {
					t.Errorf("a refused document left %v", entries)
				}
			}
		})
	}
	// The hostile message's executable: refused for a viewer, saved
	// (with Openable false) when the user chose a folder.
	rep, err := d.Received(hostile)
	if err != nil {
		t.Fatal(err)
	}
	exe := -1
	for i, doc := range rep.Report.Documents {
		if strings.HasSuffix(doc.Name, ".exe") {
			exe = i
		}
	}
	if exe < 0 {
		t.Fatalf("no .exe in %+v", rep.Report.Documents)
	}
	if _, err := d.OpenDocument(hostile, exe, OpenOptions{Temp: tmp, View: true, Confirmed: Confirmations{Unverified: true}}); !errors.As(err, &notOpenable) {
		t.Errorf("executable for a viewer: %v", err)
	}
	dir := t.TempDir()
	doc, err := d.OpenDocument(hostile, exe, OpenOptions{Dir: dir, Confirmed: Confirmations{Unverified: true}})
	if err != nil || doc.Openable {
		t.Errorf("executable saved: %+v, %v", doc, err)
	}
	// Never overwriting: the same document again into the same folder.
	if _, err := d.OpenDocument(hostile, exe, OpenOptions{Dir: dir, Confirmed: Confirmations{Unverified: true}}); !errors.Is(err, os.ErrExist) {
		t.Errorf("second save over the first: %v", err)
	}
	// The withheld item's shown report carries nothing from inside.
	r, err := d.Received(bad)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Report.Withheld || r.Report.Note != "" || len(r.Report.Documents) != 0 || r.Report.Subject != "" {
		t.Errorf("withheld report shown: %+v", r.Report)
	}
}

func firstBytes(b []byte) []byte { return b[:min(len(b), 8)] }

// bobsIMAPDesk is a Desk of Bob's (his keys, Alice's pinned) with an
// account on an in-process IMAP server (STARTTLS with a private CA,
// IDLE), nothing fetched yet; it returns the Desk's warnings too.
func bobsIMAPDesk(t *testing.T) (*Desk, *[]error, *accounttest.IMAPServer) {
	t.Helper()
	requireKeychain(t)
	d, warnings := testDesk(t)
	bobsKeys(t, d)
	srv := addIMAPAccount(t, d, "pharmacy", "bob@pharmacy.test", "imap-pass-for-desk")
	return d, warnings, srv
}
