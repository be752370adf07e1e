package main

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
)

// installEditedProfile installs for u, signed with a TEST ONLY admin key,
// the example organisation profile as edit rewrites it, with the pharmacy
// and its key added to the directory; u's baked admin key pin is set as an
// installer build would carry it.
func installEditedProfile(t *testing.T, u *user, pharmacyKey string, edit func(t *testing.T, data string) string) {
	t.Helper()
	admin := newUser(t, "admin")
	dir := t.TempDir()
	const pass = "TEST ONLY admin passphrase\n"
	out := admin.must(t, 0, pass, "admin", "key", "generate", "--name", "Kowhai IT", "--email", "it@kowhai.example.nz", "--passphrase-stdin", "--out", dir)
	fpr := regexp.MustCompile(`fingerprint: ([0-9A-F]{40})`).FindStringSubmatch(out)
	if fpr == nil {
		t.Fatalf("no fingerprint: %s", out)
	}
	prof := filepath.Join(dir, profile.ProfileFile)
	admin.must(t, 0, "", "admin", "profile", "init", "--org", "Kowhai Medical Centre", "--out", prof)
	data, _ := os.ReadFile(prof)
	os.WriteFile(prof, []byte(edit(t, string(data))), 0o600)
	admin.must(t, 0, "", "admin", "profile", "add-recipient", "--profile", prof, "--email", "pharmacy@example.org", "--name", "Main St Pharmacy", "--key", pharmacyKey)
	admin.must(t, 0, pass, "admin", "profile", "sign", "--profile", prof, "--key", filepath.Join(dir, "admin-key.private.asc"), "--passphrase-stdin")
	u.system = t.TempDir()
	for _, name := range []string{profile.ProfileFile, profile.SignatureFile} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(u.system, name), b, 0o644)
	}
	pub, err := os.ReadFile(filepath.Join(dir, "admin-key.asc"))
	if err != nil {
		t.Fatal(err)
	}
	u.baked = &profile.Baked{Fingerprint: fpr[1], AdminKey: pub}
}

// TestSendPolicyCLI: with a signed organisation profile installed
// system-wide, flags cannot loosen it (--min-tls 1.2 against TLS 1.3,
// --encrypt never against encryption always), a recipient outside the
// allowed domains is refused before anything is queued, and a tampered
// profile stops every command but admin, the GUI included.
func TestSendPolicyCLI(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	creds := accounttest.Credentials{User: "clinic", Password: "pw"}
	srv := accounttest.StartSMTP(t, pki, creds, accounttest.Options{})
	old := accounttest.StartSMTP(t, pki, creds, accounttest.Options{MaxTLSVersion: tls.VersionTLS12})
	clinic, pharmacy := newUser(t, "clinic"), newUser(t, "pharmacy")
	pharmacyKey := keyPair(t, clinic, pharmacy)
	installLockedProfile(t, clinic, pharmacyKey, pki, srv.Addr, old.Addr) // accounts locked to these two
	doc := writeDoc(t)
	sendVia := func(addr string, want int, args ...string) string {
		t.Helper()
		base := []string{"send", "--server", addr, "--user", "clinic", "--password-stdin", "--from", "clinic@example.org"}
		return clinic.must(t, want, "pw\n", append(append(base, args...), doc)...)
	}

	// --min-tls 1.2 cannot lower the policy's 1.3
	out := sendVia(old.Addr, 1, "--min-tls", "1.2", "--to", "pharmacy@example.org")
	if !strings.Contains(out, "outdated TLS version") || len(old.Messages()) != 0 {
		t.Fatalf("TLS 1.2 server with a 1.3 policy:\n%s", out)
	}
	out = sendVia(old.Addr, 1, "--json", "--min-tls", "1.2", "--to", "pharmacy@example.org")
	if !strings.Contains(out, `"kind": "tls_version"`) {
		t.Errorf("--json: %s", out)
	}

	// --encrypt never cannot turn off required encryption
	out = sendVia(srv.Addr, 0, "--encrypt", "never", "--to", "pharmacy@example.org", "--subject", "Script NHI ZZZ0016")
	if !strings.Contains(out, "Encrypted:     yes") || !strings.Contains(out, "TLS 1.3") {
		t.Errorf("confirmation:\n%s", out)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages", len(msgs))
	}
	if ctype, subject := contentType(t, msgs[0]); !strings.HasPrefix(ctype, "multipart/encrypted") || subject != send.PlaceholderSubject {
		t.Errorf("sent %q %q despite the policy", ctype, subject)
	}

	// outside the allowed domains, or without a key: refused, nothing queued
	before := len(clinic.outboxJobs(t))
	out = sendVia(srv.Addr, 1, "--to", "someone@gmail.com")
	if !strings.Contains(out, "refused by your organisation's policy") || !strings.Contains(out, "someone@gmail.com: your organisation's policy does not allow sending to this domain") {
		t.Errorf("outside the allowed domains:\n%s", out)
	}
	out = sendVia(srv.Addr, 1, "--to", "nokey@example.org")
	if !strings.Contains(out, "nokey@example.org: your organisation's policy requires encryption") {
		t.Errorf("no key:\n%s", out)
	}
	if n := len(clinic.outboxJobs(t)); n != before || len(srv.Messages()) != 1 {
		t.Errorf("a refused message was queued (%d jobs, %d before) or sent", n, before)
	}

	// the new profile was recorded as a policy change, once
	out = clinic.must(t, 0, "", "audit", "export", "--csv")
	if n := strings.Count(out, "policy.change"); n != 1 || !strings.Contains(out, clinic.baked.Fingerprint) {
		t.Errorf("%d policy.change events:\n%s", n, out)
	}

	// the profile locks accounts (to its templates): adding another is
	// refused
	code, _, stderr := clinic.run(t, "pw\n", "account", "add", "--name", "own", "--email", "clinic@example.org",
		"--smtp", srv.Addr, "--ca-file", pki.CAFile, "--auth", "password", "--password-stdin")
	if code != 1 || !strings.Contains(stderr, "locks the mail accounts") {
		t.Errorf("account add under a locking profile: exit %d %s", code, stderr)
	}

	// at another desk of the same organisation, with no keys imported,
	// mail signed by the pharmacy verifies: the directory key is pinned
	reception := newUser(t, "reception")
	reception.system, reception.baked = clinic.system, clinic.baked
	// (its own key says which address is this desk's: mail signed for
	// someone else would be "not addressed to you")
	reception.must(t, 0, "", "keys", "generate", "--name", "Reception", "--email", "reception@example.org")
	pharmacy.must(t, 0, "pw\n", "send", "--server", srv.Addr, "--ca-file", pki.CAFile, "--user", "clinic", "--password-stdin",
		"--from", "pharmacy@example.org", "--to", "reception@example.org", "--encrypt", "never", "--subject", "Dispensed", doc)
	msgs = srv.Messages()
	signed := filepath.Join(t.TempDir(), "signed.eml")
	os.WriteFile(signed, msgs[len(msgs)-1], 0o600)
	if out := reception.must(t, 0, "", "verify", signed); !strings.Contains(out, "VERIFIED") {
		t.Errorf("verify with the directory key:\n%s", out)
	}
	if out := reception.must(t, 0, "", "keys", "list"); !strings.Contains(out, "pinned") || !strings.Contains(out, "pharmacy@example.org") {
		t.Errorf("directory key not pinned:\n%s", out)
	}

	// a tampered profile: nothing but admin starts
	p := filepath.Join(clinic.system, profile.ProfileFile)
	data, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(data), `encryption = "always"`, `encryption = "auto"  `, 1)), 0o644)
	for _, args := range [][]string{
		{"send", "--server", srv.Addr, "--from", "clinic@example.org", "--to", "pharmacy@example.org", doc},
		{"outbox", "run", "--server", srv.Addr},
		{"outbox", "list"}, {"keys", "list"}, {"verify", doc}, {"account", "list"}, {"inbox", "list"}, {"audit", "verify"},
		{"demo"}, {}, // no arguments: the desktop app
	} {
		code, stdout, stderr := clinic.run(t, "pw\n", args...)
		if code != 1 || !strings.Contains(stderr, "altered since it was signed") || stdout != "" {
			t.Errorf("securesend %s with a tampered profile: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	if len(srv.Messages()) != 2 {
		t.Error("sent with a tampered profile")
	}
	if code, _, stderr := clinic.run(t, "", "admin", "profile", "init", "--out", filepath.Join(t.TempDir(), "new.toml")); code != 0 {
		t.Errorf("admin does not start with a tampered profile: %s", stderr)
	}
}
