package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/send/outbox"
)

// accountTemplates are [[account]] entries of an organisation profile for
// the submission servers at addrs (implicit TLS, password sign-in), each
// trusting the test CA of pki through ca_pem.
func accountTemplates(t *testing.T, pki *accounttest.PKI, addrs ...string) string {
	t.Helper()
	ca, err := os.ReadFile(pki.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, addr := range addrs {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "\n[[account]]\nname = \"Practice server %d\"\nsmtp_host = %q\nsmtp_port = %s\nsmtp_security = \"tls\"\nauth = \"password\"\nca_pem = '''\n%s'''\n",
			i+1, host, port, ca)
	}
	return b.String()
}

// installLockedProfile installs for u the profile of installProfile (TLS
// 1.3, encryption always, mail only to example.org, accounts locked) with
// account templates for the servers at addrs.
func installLockedProfile(t *testing.T, u *user, pharmacyKey string, pki *accounttest.PKI, addrs ...string) {
	t.Helper()
	templates := accountTemplates(t, pki, addrs...)
	installEditedProfile(t, u, pharmacyKey, func(t *testing.T, data string) string {
		if !strings.Contains(data, `"accounts"]`) {
			t.Fatal("the example profile no longer locks accounts")
		}
		return strings.NewReplacer(`min_tls = "1.2"`, `min_tls = "1.3"`,
			`allowed_recipient_domains = []`, `allowed_recipient_domains = ["example.org"]`,
			`users_may_add_recipients = false`, `users_may_add_recipients = true`).Replace(data) + templates
	})
}

// watchedStdin is standard input that records whether anything read it.
type watchedStdin struct {
	r    *strings.Reader
	read atomic.Bool
}

func (w *watchedStdin) Read(p []byte) (int, error) {
	w.read.Store(true)
	return w.r.Read(p)
}

// runWatched runs "securesend args..." as u with the password on a
// standard input that records whether it was read.
func runWatched(u *user, stdin string, args ...string) (code int, out string, read bool) {
	in := &watchedStdin{r: strings.NewReader(stdin)}
	var stdout, stderr bytes.Buffer
	code = run(context.Background(), u.env(in, &stdout, &stderr), args)
	return code, stdout.String() + stderr.String(), in.read.Load()
}

// TestLockedAccountsServerFlag: with a signed profile that locks accounts
// to its templates, every way of sending with --server (send, outbox run,
// hotfolder) to a server that is not a template is refused before the
// password is read, nothing is queued and the server gets nothing; a
// template's server works without --ca-file (the template's CA applies),
// and --ca-file of one's own, or no sign-in, is refused even for it.
func TestLockedAccountsServerFlag(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	creds := accounttest.Credentials{User: "clinic", Password: "pw"}
	allowed := accounttest.StartSMTP(t, pki, creds, accounttest.Options{})
	other := accounttest.StartSMTP(t, pki, creds, accounttest.Options{})
	clinic, pharmacy := newUser(t, "clinic"), newUser(t, "pharmacy")
	pharmacyKey := keyPair(t, clinic, pharmacy)
	installLockedProfile(t, clinic, pharmacyKey, pki, allowed.Addr)
	doc := writeDoc(t)
	msg := []string{"--from", "clinic@example.org", "--to", "pharmacy@example.org", doc}
	scans := t.TempDir()
	os.WriteFile(filepath.Join(scans, "scan.pdf"), []byte("%PDF-1.7\nscan\n%%EOF\n"), 0o600)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"send to another server", append([]string{"send", "--server", other.Addr, "--user", "clinic", "--password-stdin"}, msg...),
			"server " + other.Addr + ": your organisation's profile locks the mail accounts"},
		{"send --queue-only to another server", append([]string{"send", "--queue-only", "--server", other.Addr, "--user", "clinic", "--password-stdin"}, msg...),
			"locks the mail accounts"},
		{"send with a CA of one's own", append([]string{"send", "--server", allowed.Addr, "--ca-file", pki.CAFile, "--user", "clinic", "--password-stdin"}, msg...),
			"certificates of your own (--ca-file) are not trusted"},
		{"send with STARTTLS instead of the template's TLS", append([]string{"send", "--server", allowed.Addr, "--security", "starttls", "--user", "clinic", "--password-stdin"}, msg...),
			"locks the mail accounts"},
		{"outbox run to another server", []string{"outbox", "run", "--server", other.Addr, "--user", "clinic", "--password-stdin"},
			"locks the mail accounts"},
		{"hotfolder to another server", []string{"hotfolder", "--once", "--settle", "0", "--dir", scans, "--doc-type", "referral",
			"--from", "clinic@example.org", "--to", "pharmacy@example.org", "--server", other.Addr, "--user", "clinic", "--password-stdin"},
			"locks the mail accounts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, read := runWatched(clinic, "pw\n", tc.args...)
			if code != 1 || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d, want 1 and %q:\n%s", code, tc.want, out)
			}
			if read {
				t.Error("the password was read before the server was checked")
			}
		})
	}
	// without a sign-in the template's server is refused too
	code, out, _ := runWatched(clinic, "", append([]string{"send", "--server", allowed.Addr}, msg...)...)
	if code != 1 || !strings.Contains(out, "give --user and --password-stdin") {
		t.Errorf("send without sign-in: exit %d\n%s", code, out)
	}
	if jobs := clinic.outboxJobs(t); len(jobs) != 0 {
		t.Errorf("refused messages were queued: %+v", jobs)
	}
	if _, err := os.Stat(filepath.Join(scans, "scan.pdf")); err != nil {
		t.Errorf("the scan was moved although nothing could be sent: %v", err)
	}

	// the template's server, with its CA from the profile
	out = clinic.must(t, 0, "pw\n", append([]string{"send", "--server", allowed.Addr, "--user", "clinic", "--password-stdin"}, msg...)...)
	if !strings.Contains(out, "Encrypted:     yes") || !strings.Contains(out, "TLS 1.3") {
		t.Errorf("send through the template's server:\n%s", out)
	}
	if len(allowed.Messages()) != 1 || len(other.Messages()) != 0 {
		t.Errorf("allowed server got %d messages, the other %d", len(allowed.Messages()), len(other.Messages()))
	}
	if got := other.SignIns(); len(got) != 0 {
		t.Errorf("signed in to the server the profile does not allow: %v", got)
	}
}

// TestOutboxRunRechecksPolicy: jobs queued while the installation was
// unmanaged are checked again at delivery against the profile installed
// since: one to a domain the profile forbids and one unencrypted where it
// requires encryption fail with the reasons and reach no server; one the
// profile allows (encrypted to the directory's key) is delivered. 'outbox
// retry' of a refused job fails again: the policy holds.
func TestOutboxRunRechecksPolicy(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	creds := accounttest.Credentials{User: "clinic", Password: "pw"}
	srv := accounttest.StartSMTP(t, pki, creds, accounttest.Options{})
	clinic, pharmacy := newUser(t, "clinic"), newUser(t, "pharmacy")
	pharmacyKey := keyPair(t, clinic, pharmacy)
	doc := writeDoc(t)
	queue := func(args ...string) string {
		t.Helper()
		base := []string{"send", "--queue-only", "--server", srv.Addr, "--ca-file", pki.CAFile, "--from", "clinic@example.org"}
		out := clinic.must(t, 0, "", append(append(base, args...), doc)...)
		id := strings.TrimSuffix(strings.Fields(strings.TrimPrefix(out, "Queued as job "))[0], ";")
		return id
	}
	gmail := queue("--to", "ward@gmail.example.com", "--encrypt", "never")
	plain := queue("--to", "pharmacy@example.org", "--encrypt", "never")
	sealed := queue("--to", "pharmacy@example.org", "--encrypt", "always")
	if len(srv.Messages()) != 0 {
		t.Fatal("--queue-only sent")
	}

	installEditedProfile(t, clinic, pharmacyKey, func(t *testing.T, data string) string {
		return strings.NewReplacer(`allowed_recipient_domains = []`, `allowed_recipient_domains = ["example.org"]`,
			`users_may_add_recipients = false`, `users_may_add_recipients = true`,
			`locked = ["policy.min_tls", "policy.encryption", "accounts"]`, `locked = ["policy.min_tls", "policy.encryption"]`).Replace(data)
	})
	code, out, _ := clinic.run(t, "pw\n", "outbox", "run", "--server", srv.Addr, "--ca-file", pki.CAFile, "--user", "clinic", "--password-stdin")
	if code != 1 {
		t.Errorf("outbox run: exit %d, want 1\n%s", code, out)
	}
	jobs := map[string]outbox.Record{}
	for _, r := range clinic.outboxJobs(t) {
		jobs[r.ID] = r
	}
	for id, want := range map[string][]string{
		gmail: {"ward@gmail.example.com: your organisation's policy does not allow sending to this domain",
			"ward@gmail.example.com: your organisation's policy requires encryption, and this message was queued unencrypted"},
		plain: {"pharmacy@example.org: your organisation's policy requires encryption, and this message was queued unencrypted"},
	} {
		r := jobs[id]
		if r.State != outbox.Failed || !strings.Contains(r.LastError, "refused by your organisation's policy at delivery") {
			t.Errorf("job %s: %s %q", id, r.State, r.LastError)
		}
		for _, w := range want {
			if !strings.Contains(r.LastError, w) {
				t.Errorf("job %s: reason lacks %q: %q", id, w, r.LastError)
			}
		}
	}
	if r := jobs[sealed]; r.State != outbox.Sent || !r.Encrypted {
		t.Errorf("the allowed job: %s %q", r.State, r.LastError)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want only the allowed one", len(msgs))
	}
	if ctype, _ := contentType(t, msgs[0]); !strings.HasPrefix(ctype, "multipart/encrypted") {
		t.Errorf("delivered %s", ctype)
	}

	// retrying a refused job: refused again
	clinic.must(t, 0, "", "outbox", "retry", plain)
	clinic.run(t, "pw\n", "outbox", "run", "--server", srv.Addr, "--ca-file", pki.CAFile, "--user", "clinic", "--password-stdin")
	for _, r := range clinic.outboxJobs(t) {
		if r.ID == plain && r.State != outbox.Failed {
			t.Errorf("retried job: %s", r.State)
		}
	}
	if len(srv.Messages()) != 1 {
		t.Error("a retried refused job was sent")
	}
}

// TestAccountTestTLSFloor: 'account test' signs in only over the policy's
// lowest TLS version: against a server capped at TLS 1.2 under a profile
// that requires 1.3 it fails on the TLS version and the server sees no
// sign-in; the same account passes without the profile.
func TestAccountTestTLSFloor(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	creds := accounttest.Credentials{User: "clinic@example.org", Password: "pw"}
	old := accounttest.StartSMTP(t, pki, creds, accounttest.Options{MaxTLSVersion: tls.VersionTLS12})
	clinic, pharmacy := newUser(t, "clinic"), newUser(t, "pharmacy")
	pharmacyKey := keyPair(t, clinic, pharmacy)
	clinic.must(t, 0, "pw\n", "account", "add", "--name", "old", "--email", "clinic@example.org",
		"--smtp", old.Addr, "--smtp-security", "tls", "--ca-file", pki.CAFile, "--auth", "password", "--password-stdin")
	if out := clinic.must(t, 0, "", "account", "test", "old"); !strings.Contains(out, "TLS 1.2") {
		t.Fatalf("without a profile:\n%s", out)
	}
	signIns := len(old.SignIns())

	installEditedProfile(t, clinic, pharmacyKey, func(t *testing.T, data string) string {
		return strings.NewReplacer(`min_tls = "1.2"`, `min_tls = "1.3"`,
			`locked = ["policy.min_tls", "policy.encryption", "accounts"]`, `locked = ["policy.min_tls", "policy.encryption"]`).Replace(data)
	})
	code, out, errOut := clinic.run(t, "", "account", "test", "old")
	if code != 1 || !strings.Contains(out+errOut, "TLS") || strings.Contains(out, "works") {
		t.Errorf("account test under a TLS 1.3 policy: exit %d\n%s%s", code, out, errOut)
	}
	if n := len(old.SignIns()); n != signIns {
		t.Errorf("signed in over TLS 1.2 under a TLS 1.3 policy (%d sign-ins, %d before)", n, signIns)
	}
}

// TestGUIDeliveryRechecksPolicy: the desktop app's delivery (the desk session's
// outbox, as the Outbox tab and its watcher use it) re-checks every job
// against the policy in force now: a job queued unencrypted with an
// account while unmanaged fails with the reason once a profile requiring
// encryption is installed, and the account's server receives nothing.
func TestGUIDeliveryRechecksPolicy(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic@example.org", Password: "pw"}, accounttest.Options{})
	clinic, pharmacy := newUser(t, "clinic"), newUser(t, "pharmacy")
	pharmacyKey := keyPair(t, clinic, pharmacy)
	clinic.must(t, 0, "pw\n", "account", "add", "--name", "practice", "--email", "clinic@example.org",
		"--smtp", srv.Addr, "--smtp-security", "tls", "--ca-file", pki.CAFile, "--auth", "password", "--password-stdin")
	out := clinic.must(t, 0, "", "send", "--queue-only", "--account", "practice", "--to", "pharmacy@example.org", "--encrypt", "never", writeDoc(t))
	id := strings.TrimSuffix(strings.Fields(strings.TrimPrefix(out, "Queued as job "))[0], ";")

	installEditedProfile(t, clinic, pharmacyKey, func(t *testing.T, data string) string {
		return strings.NewReplacer(`locked = ["policy.min_tls", "policy.encryption", "accounts"]`, `locked = ["policy.min_tls", "policy.encryption"]`).Replace(data)
	})
	e := clinic.env(strings.NewReader(""), io.Discard, io.Discard)
	cfg := openGUI(t, e)
	if cfg.Account != "practice" {
		t.Fatalf("the app does not use the account: %q", cfg.Account)
	}
	rec, err := cfg.Outbox.Box.Deliver(t.Context(), id, nil)
	if !errors.Is(err, outbox.ErrRefused) || rec.State != outbox.Failed ||
		!strings.Contains(rec.LastError, "pharmacy@example.org: your organisation's policy requires encryption, and this message was queued unencrypted") {
		t.Errorf("GUI delivery of a job the policy now forbids: %v; %s %q", err, rec.State, rec.LastError)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("the server received %d messages", n)
	}
	if got := srv.SignIns(); len(got) != 0 {
		t.Errorf("signed in although the job was refused: %v", got)
	}
}
