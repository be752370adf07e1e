package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// user is one person's securesend installation in a test: a home, the
// system-wide profile directory and, optionally, a pinned admin key as an
// installer build would bake in.
type user struct {
	home, system string
	baked        *profile.Baked
}

func newUser(t *testing.T, name string) *user {
	t.Helper()
	dir := t.TempDir()
	return &user{home: filepath.Join(dir, name), system: filepath.Join(dir, "no-system-profile")}
}

// env is the environment the program gets when u runs it: u's home, u's
// system profile directory and, if set, u's baked admin key pin.
func (u *user) env(stdin io.Reader, stdout, stderr io.Writer) *env {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: func(k string) string {
		switch k {
		case home.EnvVar:
			return u.home
		case profile.SystemDirEnv:
			return u.system
		}
		return ""
	}}
	if u.baked != nil {
		b := *u.baked
		e.baked = func() (profile.Baked, error) { return b, nil }
	}
	return e
}

// run runs "securesend args..." in-process as u.
func (u *user) run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), u.env(strings.NewReader(stdin), &out, &errOut), args)
	return code, out.String(), errOut.String()
}

// must runs args and fails the test unless the exit code is want.
func (u *user) must(t *testing.T, want int, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := u.run(t, stdin, args...)
	if code != want {
		t.Fatalf("securesend %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out + errOut
}

// outboxJobs lists u's outbox.
func (u *user) outboxJobs(t *testing.T) []outbox.Record {
	t.Helper()
	out := u.must(t, 0, "", "outbox", "list", "--json")
	var recs []outbox.Record
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("outbox list --json: %v\n%s", err, out)
	}
	return recs
}

// keyPair gives the clinic and the pharmacy their own keys (TEST ONLY,
// generated now) and pins each one's public key at the other.
func keyPair(t *testing.T, clinic, pharmacy *user) (pharmacyKey string) {
	t.Helper()
	clinic.must(t, 0, "", "keys", "generate", "--name", "Dr A Ngata TEST ONLY", "--email", "clinic@example.org")
	pharmacy.must(t, 0, "", "keys", "generate", "--name", "Main St Pharmacy TEST ONLY", "--email", "pharmacy@example.org")
	dir := t.TempDir()
	pharmacyKey = filepath.Join(dir, "pharmacy.asc")
	os.WriteFile(pharmacyKey, []byte(pharmacy.must(t, 0, "", "keys", "export")), 0o600)
	clinicKey := filepath.Join(dir, "clinic.asc")
	os.WriteFile(clinicKey, []byte(clinic.must(t, 0, "", "keys", "export")), 0o600)
	clinic.must(t, 0, "", "keys", "import", pharmacyKey, "--email", "pharmacy@example.org", "--pin")
	pharmacy.must(t, 0, "", "keys", "import", clinicKey, "--email", "clinic@example.org", "--pin")
	return pharmacyKey
}

func writeDoc(t *testing.T) string {
	t.Helper()
	doc := filepath.Join(t.TempDir(), "referral.pdf")
	os.WriteFile(doc, []byte("%PDF-1.7\nreferral for NHI ZZZ0016\n%%EOF\n"), 0o600)
	return doc
}

// contentType is the top-level Content-Type and Subject of a delivered
// message.
func contentType(t *testing.T, raw []byte) (ctype, subject string) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return m.Header.Get("Content-Type"), m.Header.Get("Subject")
}

// TestSendEncryptCLI: --encrypt always without a recipient key is refused
// before anything is queued or sent; with keys the delivered message is
// PGP/MIME encrypted with a placeholder subject and the pharmacy's
// 'securesend verify' calls it verified; auto without a recipient key and
// never both sign only.
func TestSendEncryptCLI(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: "pw"}, accounttest.Options{})
	clinic, pharmacy := newUser(t, "clinic"), newUser(t, "pharmacy")
	keyPair(t, clinic, pharmacy)
	doc := writeDoc(t)
	server := []string{"--server", srv.Addr, "--ca-file", pki.CAFile, "--user", "clinic", "--password-stdin", "--from", "clinic@example.org"}
	sendAs := func(want int, args ...string) string {
		t.Helper()
		return clinic.must(t, want, "pw\n", append(append(append([]string{"send"}, server...), args...), doc)...)
	}

	// always, to someone without a key: refused, nothing leaves or is queued
	out := sendAs(1, "--encrypt", "always", "--to", "nokey@example.org", "--to", "pharmacy@example.org", "--subject", "Referral NHI ZZZ0016")
	if !strings.Contains(out, "nokey@example.org (no key)") || strings.Contains(out, "pharmacy@example.org (") {
		t.Errorf("refusal does not list the recipient without a key:\n%s", out)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("the server got %d messages", n)
	}
	if recs := clinic.outboxJobs(t); len(recs) != 0 {
		t.Fatalf("refused message queued: %+v", recs)
	}

	// always, with keys: encrypted, and verified by the pharmacy
	out = sendAs(0, "--encrypt", "always", "--to", "pharmacy@example.org", "--subject", "Referral NHI ZZZ0016")
	for _, want := range []string{"SENT", "Encrypted:     yes", "Signed:        yes, by your key", "SHA-256"} {
		if !strings.Contains(out, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, out)
		}
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages", len(msgs))
	}
	ctype, subject := contentType(t, msgs[0])
	if !strings.HasPrefix(ctype, "multipart/encrypted") || subject != send.PlaceholderSubject {
		t.Errorf("delivered Content-Type %q, Subject %q", ctype, subject)
	}
	if bytes.Contains(msgs[0], []byte("ZZZ0016")) {
		t.Error("the NHI is readable in the delivered message")
	}
	delivered := filepath.Join(t.TempDir(), "delivered.eml")
	os.WriteFile(delivered, msgs[0], 0o600)
	out = pharmacy.must(t, 0, "", "verify", delivered)
	if !strings.Contains(out, "VERIFIED") || !strings.Contains(out, "Referral NHI ZZZ0016") {
		t.Errorf("pharmacy's verify:\n%s", out)
	}
	// the pharmacy's key import, pin (by import --pin) and verification
	// are in its audit log, without the subject
	out = pharmacy.must(t, 0, "", "audit", "export", "--json")
	for _, want := range []string{`"key.import"`, `"receive.verified"`, `"verified"`, "clinic@example.org"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ZZZ0016") {
		t.Error("the subject (an NHI) is in the audit log")
	}
	pharmacy.must(t, 0, "", "audit", "verify")

	// auto without a key for every recipient: signed only
	out = sendAs(0, "--encrypt", "auto", "--to", "nokey@example.org", "--subject", "Note")
	if !strings.Contains(out, "Encrypted:     no") || !strings.Contains(out, "Signed:        yes") {
		t.Errorf("auto confirmation:\n%s", out)
	}
	// never: signed only, even with a key
	sendAs(0, "--encrypt", "never", "--to", "pharmacy@example.org", "--subject", "Note 2")
	msgs = srv.Messages()
	if len(msgs) != 3 {
		t.Fatalf("server got %d messages", len(msgs))
	}
	for _, raw := range msgs[1:] {
		if ctype, _ := contentType(t, raw); !strings.HasPrefix(ctype, "multipart/signed") {
			t.Errorf("auto/never sent %q", ctype)
		}
	}
	// a bad mode is a usage error
	if code, _, errOut := clinic.run(t, "pw\n", append(append([]string{"send", "--encrypt", "sometimes", "--to", "pharmacy@example.org"}, server...), doc)...); code != 2 || !strings.Contains(errOut, "--encrypt must be always, auto or never") {
		t.Errorf("--encrypt sometimes: %d %s", code, errOut)
	}
}

// TestSendQueueOnlyCLI: --queue-only writes the protected message to the
// outbox and sends nothing; 'outbox run' delivers it and the stored
// confirmation says encrypted, signed, with the document hashes.
func TestSendQueueOnlyCLI(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: "pw"}, accounttest.Options{})
	clinic, pharmacy := newUser(t, "clinic"), newUser(t, "pharmacy")
	keyPair(t, clinic, pharmacy)
	doc := writeDoc(t)
	server := []string{"--server", srv.Addr, "--ca-file", pki.CAFile, "--user", "clinic", "--password-stdin"}

	out := clinic.must(t, 0, "pw\n", append(append([]string{"send", "--queue-only", "--from", "clinic@example.org", "--to", "pharmacy@example.org", "--subject", "Script"}, server...), doc)...)
	id := regexp.MustCompile(`Queued as job ([0-9a-f]{32})`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no job id:\n%s", out)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("--queue-only sent %d messages", n)
	}
	var queued struct{ Job, State string }
	out = clinic.must(t, 0, "pw\n", append(append([]string{"send", "--queue-only", "--json", "--from", "clinic@example.org", "--to", "pharmacy@example.org"}, server...), doc)...)
	if err := json.Unmarshal([]byte(out), &queued); err != nil || len(queued.Job) != 32 || queued.State != "queued" {
		t.Fatalf("--queue-only --json: %v\n%s", err, out)
	}
	out = clinic.must(t, 0, "pw\n", append([]string{"outbox", "run"}, server...)...)
	if !strings.Contains(out, "SENT to pharmacy@example.org") || len(srv.Messages()) != 2 {
		t.Fatalf("outbox run:\n%s", out)
	}
	if ctype, _ := contentType(t, srv.Messages()[0]); !strings.HasPrefix(ctype, "multipart/encrypted") {
		t.Errorf("queued message delivered as %q", ctype)
	}
	var rec outbox.Record
	if err := json.Unmarshal([]byte(clinic.must(t, 0, "", "outbox", "show", "--json", id[1])), &rec); err != nil {
		t.Fatal(err)
	}
	res := rec.Result
	if rec.State != outbox.Sent || res == nil || !res.Encrypted || !res.Signed || len(res.SignerFingerprint) != 40 ||
		len(res.Documents) != 1 || len(res.Documents[0].SHA256) != 64 {
		t.Fatalf("stored confirmation: %+v %+v", rec, res)
	}
	out = clinic.must(t, 0, "", "outbox", "show", id[1])
	for _, want := range []string{"Encrypted:     yes", "Signed:        yes, by", "  SHA-256:     " + res.Documents[0].SHA256} {
		if !strings.Contains(out, want) {
			t.Errorf("outbox show lacks %q:\n%s", want, out)
		}
	}
}

// TestSendAccountCLI: 'send --account NAME' uses the stored account's
// server, CA, sign-in (password from the keychain) and address.
func TestSendAccountCLI(t *testing.T) {
	requireKeychain(t)
	const pw = "pa55-for-send-account"
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic@example.org", Password: pw}, accounttest.Options{StartTLS: true})
	clinic := newUser(t, "clinic")
	clinic.must(t, 0, pw+"\n", "account", "add", "--name", "clinic", "--email", "clinic@example.org",
		"--smtp", srv.Addr, "--smtp-security", "starttls", "--ca-file", pki.CAFile, "--auth", "password", "--password-stdin")
	doc := writeDoc(t)
	out := clinic.must(t, 0, "", "send", "--account", "clinic", "--to", "pharmacy@example.org", "--subject", "Via account", "--min-tls", "1.3", doc)
	for _, want := range []string{"SENT", "STARTTLS", "TLS 1.3", "Signed in:     yes (PLAIN)", "Signed:        no"} {
		if !strings.Contains(out, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, pw) {
		t.Fatal("the password is in the output")
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages", len(msgs))
	}
	m, _ := mail.ReadMessage(bytes.NewReader(msgs[0]))
	if from, _ := mail.ParseAddress(m.Header.Get("From")); from == nil || from.Address != "clinic@example.org" {
		t.Errorf("From %q, want the account's address", m.Header.Get("From"))
	}
	// --server with --account is a usage error; an unknown account says so
	if code, _, errOut := clinic.run(t, "", "send", "--account", "clinic", "--server", srv.Addr, "--to", "x@example.org", doc); code != 2 || !strings.Contains(errOut, "drop --server") {
		t.Errorf("--account with --server: %d %s", code, errOut)
	}
	if code, _, errOut := clinic.run(t, "", "send", "--account", "nosuch", "--to", "x@example.org", doc); code != 1 || !strings.Contains(errOut, "nosuch") {
		t.Errorf("unknown account: %d %s", code, errOut)
	}
	// a queued job remembers its account; 'outbox run --account' delivers it
	clinic.must(t, 0, "", "send", "--queue-only", "--account", "clinic", "--to", "pharmacy@example.org", doc)
	out = clinic.must(t, 0, "", "outbox", "run", "--account", "clinic")
	if !strings.Contains(out, "SENT to pharmacy@example.org") || len(srv.Messages()) != 2 {
		t.Fatalf("outbox run --account:\n%s", out)
	}
}
