//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/mailserver"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/relay/relaytest"
	"github.com/securesend/securesend/send/outbox"
)

// relayDevicePW is the test device's password (TEST ONLY).
const relayDevicePW = "front-desk-mfd-TEST-ONLY-7c2q"

// relayScan is the scan the MFD sends.
var relayScan = filepath.Join("..", "..", "relay", "testdata", "good_scan.pdf")

// relaySetup gives the clinic and the pharmacy keys (each pinned at the
// other), the clinic an account on an in-process SMTP server and a relay
// device "frontdesk".
func relaySetup(t *testing.T) (clinic, pharmacy *user, srv *accounttest.SMTPServer) {
	t.Helper()
	requireKeychain(t)
	relaytest.RequirePython(t)
	const pw = "account pass TEST ONLY"
	pki := accounttest.NewPKI(t)
	srv = accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic@example.org", Password: pw}, accounttest.Options{})
	clinic, pharmacy = newUser(t, "clinic"), newUser(t, "pharmacy")
	keyPair(t, clinic, pharmacy)
	clinic.must(t, 0, pw+"\n", "account", "add", "--name", "clinic", "--email", "clinic@example.org",
		"--smtp", srv.Addr, "--smtp-security", "tls", "--ca-file", pki.CAFile, "--auth", "password", "--password-stdin")
	clinic.must(t, 0, relayDevicePW+"\n", "relay", "device", "add", "frontdesk", "--password-stdin")
	return clinic, pharmacy, srv
}

var (
	relayListening   = regexp.MustCompile(`Listening on (\S+) `)
	relayFingerprint = regexp.MustCompile(`fingerprint \(pin it on each device\): (\S+)`)
)

// startRelayCLI runs 'securesend relay args...' in-process as u until the
// test ends, and returns its address, certificate fingerprint and output.
func startRelayCLI(t *testing.T, u *user, args ...string) (addr, fingerprint string, out *relaytest.SyncBuffer) {
	t.Helper()
	out = &relaytest.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, u.env(strings.NewReader(""), out, out), append([]string{"relay"}, args...)) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("relay: exit %d\n%s", code, out)
		}
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := relayFingerprint.FindStringSubmatch(out.String()); m != nil {
			return relayListening.FindStringSubmatch(out.String())[1], m[1], out
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("relay exited %d:\n%s", code, out)
		default:
		}
	}
	t.Fatalf("relay did not start:\n%s", out)
	return "", "", nil
}

// pharmacyVerifies has the pharmacy verify the delivered message and
// extract its document: verified, and byte for byte the scan.
func pharmacyVerifies(t *testing.T, pharmacy *user, raw []byte) {
	t.Helper()
	dir := t.TempDir()
	eml := filepath.Join(dir, "delivered.eml")
	os.WriteFile(eml, raw, 0o600)
	out := filepath.Join(dir, "out")
	got := pharmacy.must(t, 0, "", "verify", "--extract", out, eml)
	if !strings.Contains(strings.ToLower(got), "verified") {
		t.Fatalf("verify:\n%s", got)
	}
	want, _ := os.ReadFile(relayScan)
	doc, err := os.ReadFile(filepath.Join(out, "good_scan.pdf"))
	if err != nil || !bytes.Equal(doc, want) {
		entries, _ := os.ReadDir(out)
		t.Fatalf("extracted document differs from the scan (%v; in %s: %v)\n%s", err, out, entries, got)
	}
}

// TestRelayCLI: an MFD's scan to an alias goes through the real outbox to
// the account's server, encrypted, and the pharmacy verifies it with
// identical bytes; the relay's refusals reach the device as SMTP replies
// and queue nothing.
func TestRelayCLI(t *testing.T) {
	clinic, pharmacy, srv := relaySetup(t)
	addr, fp, out := startRelayCLI(t, clinic, "--account", "clinic", "--listen", "127.0.0.1:0",
		"--alias", "mainst=pharmacy@example.org", "--max-size", "1")

	r := relaytest.MFD(t, addr, fp, relayDevicePW, "--user", "frontdesk", "--to", "mainst@relay", "--subject", "prescription", "--attach", relayScan)
	if r.Stage != "sent" || r.Code != 250 || !strings.Contains(r.Message, "Queued securely as job") {
		t.Fatalf("reply %+v\nrelay:\n%s", r, out)
	}
	for deadline := time.Now().Add(30 * time.Second); len(srv.Messages()) == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages\nrelay:\n%s", len(msgs), out)
	}
	if ct, _ := contentType(t, msgs[0]); !strings.HasPrefix(ct, "multipart/encrypted") {
		t.Errorf("delivered as %q, want PGP/MIME encrypted", ct)
	}
	pharmacyVerifies(t, pharmacy, msgs[0])
	audit := clinic.must(t, 0, "", "audit", "export", "--json")
	if !strings.Contains(audit, `"relay.received"`) || !strings.Contains(audit, `"frontdesk"`) || !strings.Contains(audit, sha256Hex(t, relayScan)) {
		t.Errorf("audit log lacks the relay entry:\n%s", audit)
	}

	big := filepath.Join(t.TempDir(), "big.pdf")
	b, _ := os.ReadFile(relayScan)
	os.WriteFile(big, append(b, make([]byte, 2<<20)...), 0o600)
	for _, c := range []struct {
		name, password string
		args           []string
		stage          string
		code           int
		contains       string
	}{
		{"AUTH before STARTTLS", relayDevicePW, []string{"--auth-first", "--user", "frontdesk", "--to", "mainst@relay", "--attach", relayScan}, "auth", 530, "STARTTLS"},
		{"wrong password", "wrong-password-TEST-ONLY", []string{"--user", "frontdesk", "--to", "mainst@relay", "--attach", relayScan}, "auth", 535, "5.7.8"},
		{"unknown recipient", relayDevicePW, []string{"--user", "frontdesk", "--to", "someone@example.org", "--attach", relayScan}, "rcpt", 550, "5.1.1"},
		{"oversize", relayDevicePW, []string{"--user", "frontdesk", "--to", "pharmacy@example.org", "--attach", big}, "mail", 552, "5.3.4"},
		{"no document", relayDevicePW, []string{"--user", "frontdesk", "--to", "pharmacy@example.org"}, "data", 554, "5.6.0"},
	} {
		r := relaytest.MFD(t, addr, fp, c.password, c.args...)
		if r.Stage != c.stage || r.Code != c.code || !strings.Contains(r.Message, c.contains) {
			t.Errorf("%s: reply %+v, want %s %d %q", c.name, r, c.stage, c.code, c.contains)
		}
	}
	if jobs := clinic.outboxJobs(t); len(jobs) != 1 {
		t.Errorf("%d outbox jobs, want the one sent", len(jobs))
	}
	if strings.Contains(out.String(), relayDevicePW) {
		t.Errorf("the relay printed the device password")
	}
}

// TestRelayCLIAllowList: a --listen address reachable from the network
// needs --allow, and a client outside it is refused before the greeting.
func TestRelayCLIAllowList(t *testing.T) {
	clinic, _, srv := relaySetup(t)
	code, _, errOut := clinic.run(t, "", "relay", "--account", "clinic", "--listen", "0.0.0.0:0")
	if code != 2 || !strings.Contains(errOut, "--allow") {
		t.Fatalf("without --allow: exit %d\n%s", code, errOut)
	}
	addr, fp, out := startRelayCLI(t, clinic, "--account", "clinic", "--listen", "0.0.0.0:0", "--allow", "192.0.2.0/24")
	r := relaytest.MFD(t, "127.0.0.1"+addr[strings.LastIndexByte(addr, ':'):], fp, relayDevicePW, "--user", "frontdesk", "--to", "pharmacy@example.org", "--attach", relayScan)
	if r.Stage != "connect" || r.Code != 554 {
		t.Fatalf("reply %+v, want 554 before the greeting\nrelay:\n%s", r, out)
	}
	if !strings.Contains(out.String(), "not in the allowed networks") {
		t.Errorf("the refusal is not logged:\n%s", out)
	}
	if len(srv.Messages()) != 0 || len(clinic.outboxJobs(t)) != 0 {
		t.Error("something was queued or sent")
	}
}

// TestRelayCLIKilledAfter250: the relay answers 250 and is killed
// (SIGKILL) before it delivers anything; the job is in the outbox, and
// the relay started again delivers it, verified at the pharmacy.
func TestRelayCLIKilledAfter250(t *testing.T) {
	clinic, pharmacy, srv := relaySetup(t)
	args, _ := json.Marshal([]string{"relay", "--account", "clinic", "--listen", "127.0.0.1:0", "--queue-only"})
	cmd := exec.Command(os.Args[0], "-test.run=^TestOutboxCLIChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCLIChild+"="+string(args), home.EnvVar+"="+clinic.home, profile.SystemDirEnv+"="+clinic.system)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var addr, fp string
	sc := bufio.NewScanner(stdout)
	for fp == "" && sc.Scan() {
		if m := relayListening.FindStringSubmatch(sc.Text()); m != nil {
			addr = m[1]
		}
		if m := relayFingerprint.FindStringSubmatch(sc.Text()); m != nil {
			fp = m[1]
		}
	}
	if addr == "" || fp == "" {
		t.Fatal("the relay did not start")
	}
	go io.Copy(io.Discard, stdout)
	r := relaytest.MFD(t, addr, fp, relayDevicePW, "--user", "frontdesk", "--to", "pharmacy@example.org", "--subject", "Referral", "--attach", relayScan)
	if r.Code != 250 {
		t.Fatalf("reply %+v", r)
	}
	cmd.Process.Kill() // SIGKILL: no clean-up of any kind
	cmd.Wait()

	jobs := clinic.outboxJobs(t)
	if len(jobs) != 1 || jobs[0].State != outbox.Queued || !strings.Contains(r.Message, jobs[0].ID) || len(srv.Messages()) != 0 {
		t.Fatalf("after the kill: jobs %+v, reply %q, %d messages sent", jobs, r.Message, len(srv.Messages()))
	}
	// The relay started again (delivering this time) delivers what the
	// killed one left queued, without anyone running 'outbox run'.
	args, _ = json.Marshal([]string{"relay", "--account", "clinic", "--listen", "127.0.0.1:0"})
	again := exec.Command(os.Args[0], "-test.run=^TestOutboxCLIChild$", "-test.count=1")
	again.Env = append(os.Environ(), envCLIChild+"="+string(args), home.EnvVar+"="+clinic.home, profile.SystemDirEnv+"="+clinic.system)
	again.Stdout, again.Stderr = io.Discard, os.Stderr
	if err := again.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { again.Process.Kill(); again.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for len(srv.Messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("after the relay's restart: %d messages", len(msgs))
	}
	pharmacyVerifies(t, pharmacy, msgs[0])
}

func sha256Hex(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestRelayDeviceCLI: devices are added with the password on stdin only,
// listed without it, and removed; the relay will not start without one.
func TestRelayDeviceCLI(t *testing.T) {
	requireKeychain(t)
	u := newUser(t, "clinic")
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
		out   string
	}{
		{"", []string{"relay", "device", "list"}, 0, "No devices"},
		{relayDevicePW + "\n", []string{"relay", "device", "add", "frontdesk"}, 2, "--password-stdin"},
		{"", []string{"relay", "device", "add", "frontdesk", relayDevicePW}, 2, "never accepted on the command line"},
		{"short\n", []string{"relay", "device", "add", "frontdesk", "--password-stdin"}, 1, "at least 16 characters"},
		{relayDevicePW + "\n", []string{"relay", "device", "add", "front desk", "--password-stdin"}, 1, "letters, digits"},
		{relayDevicePW + "\n", []string{"relay", "device", "add", "frontdesk", "--password-stdin"}, 0, "Device frontdesk may sign in"},
		{relayDevicePW + "\n", []string{"relay", "device", "add", "frontdesk", "--password-stdin"}, 1, "exists"},
		{"", []string{"relay", "device", "list"}, 0, "frontdesk"},
		{"", []string{"relay", "device", "remove", "frontdesk"}, 0, "can no longer sign in"},
		{"", []string{"relay", "device", "remove", "frontdesk"}, 1, "no such device"},
		{"", []string{"relay", "--listen", "127.0.0.1:0"}, 2, "missing --account"},
		{"", []string{"relay", "--account", "clinic", "--listen", "0.0.0.0:2525", "--allow", "192.0.2.0/24", "--allow-plain-from", "198.51.100.7"}, 2, "not in an allowed network"},
		{"", []string{"relay", "--account", "clinic", "--alias", "mainst"}, 2, "name=address"},
	} {
		code, out, errOut := u.run(t, c.stdin, c.args...)
		if code != c.code || !strings.Contains(out+errOut, c.out) {
			t.Errorf("securesend %s: exit %d, want %d with %q\n%s%s", strings.Join(c.args, " "), code, c.code, c.out, out, errOut)
		}
		if strings.Contains(out+errOut, relayDevicePW) {
			t.Errorf("securesend %s printed the password", strings.Join(c.args, " "))
		}
	}
	raw, err := os.ReadFile(filepath.Join(u.home, "relay", "devices.json"))
	if err != nil || strings.Contains(string(raw), relayDevicePW) {
		t.Errorf("devices.json: %v\n%s", err, raw)
	}
}

// TestRelayCLIPostfixDovecot is the whole journey of the issue: an MFD
// (Python's smtplib) scans to the relay, which queues the scan and
// delivers it, signed and encrypted, through the real Postfix; the
// pharmacy fetches it from the real Dovecot over IMAPS and gets Verified
// with the scan's bytes.
func TestRelayCLIPostfixDovecot(t *testing.T) {
	requireKeychain(t)
	if testing.Short() {
		t.Skip("starts Postfix and Dovecot")
	}
	srv := mailserver.StartT(t, mailserver.Options{Users: []string{"clinic", "pharmacy"}})
	clinicAddr, pharmacyAddr := "clinic@"+srv.Domain, "pharmacy@"+srv.Domain
	clinic, pharmacy := newUser(t, "clinic"), newUser(t, "pharmacy")
	clinic.must(t, 0, "", "keys", "generate", "--name", "Dr A Ngata TEST ONLY", "--email", clinicAddr)
	pharmacy.must(t, 0, "", "keys", "generate", "--name", "Main St Pharmacy TEST ONLY", "--email", pharmacyAddr)
	dir := t.TempDir()
	for _, k := range []struct {
		from, to *user
		addr     string
	}{{pharmacy, clinic, pharmacyAddr}, {clinic, pharmacy, clinicAddr}} {
		p := filepath.Join(dir, k.addr+".asc")
		os.WriteFile(p, []byte(k.from.must(t, 0, "", "keys", "export")), 0o600)
		k.to.must(t, 0, "", "keys", "import", p, "--email", k.addr, "--pin")
	}
	clinic.must(t, 0, srv.Password+"\n", "account", "add", "--name", "clinic", "--email", clinicAddr,
		"--smtp", mailserver.Addr(srv.Submission), "--smtp-security", "starttls", "--ca-file", srv.CAFile, "--auth", "password", "--password-stdin")
	pharmacy.must(t, 0, srv.Password+"\n", "account", "add", "--name", "pharmacy", "--email", pharmacyAddr,
		"--smtp", mailserver.Addr(srv.Submission), "--smtp-security", "starttls",
		"--imap", mailserver.Addr(srv.IMAPS), "--imap-security", "tls", "--ca-file", srv.CAFile, "--auth", "password", "--password-stdin")
	clinic.must(t, 0, relayDevicePW+"\n", "relay", "device", "add", "frontdesk", "--password-stdin")

	addr, fp, out := startRelayCLI(t, clinic, "--account", "clinic", "--listen", "127.0.0.1:0", "--alias", "mainst="+pharmacyAddr)
	r := relaytest.MFD(t, addr, fp, relayDevicePW, "--user", "frontdesk", "--to", "mainst@relay", "--subject", "Prescription", "--attach", relayScan)
	if r.Code != 250 {
		t.Fatalf("reply %+v\nrelay:\n%s", r, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := srv.WaitForMessages(ctx, pharmacyAddr, 1); err != nil {
		t.Fatalf("%v\nrelay:\n%s", err, out)
	}
	if got := pharmacy.must(t, 0, "", "inbox", "fetch"); !strings.Contains(got, "1 new") {
		t.Fatalf("fetch:\n%s", got)
	}
	if got := pharmacy.must(t, 0, "", "inbox", "show", "1"); !strings.HasPrefix(got, "VERIFIED") || !strings.Contains(got, "good_scan.pdf") {
		t.Fatalf("show 1:\n%s", got)
	}
	outDir := t.TempDir()
	pharmacy.must(t, 0, "", "inbox", "open", "1", "--out", outDir)
	got, err := os.ReadFile(filepath.Join(outDir, "good_scan.pdf"))
	want, _ := os.ReadFile(relayScan)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("the pharmacy's document differs from the scan: %v", err)
	}
}

// TestRelayCLIPlainFrom: --allow-plain-from warns loudly at start; the
// old device there sends without TLS and the audit log says so.
func TestRelayCLIPlainFrom(t *testing.T) {
	clinic, _, srv := relaySetup(t)
	addr, fp, out := startRelayCLI(t, clinic, "--account", "clinic", "--listen", "127.0.0.1:0", "--allow-plain-from", "127.0.0.1")
	if !strings.Contains(out.String(), "WARNING: the device at 127.0.0.1 may sign in and send WITHOUT TLS") {
		t.Errorf("no warning at start:\n%s", out)
	}
	r := relaytest.MFD(t, addr, fp, relayDevicePW, "--no-tls", "--user", "frontdesk", "--to", "pharmacy@example.org", "--attach", relayScan)
	if r.Code != 250 {
		t.Fatalf("reply %+v\n%s", r, out)
	}
	for deadline := time.Now().Add(30 * time.Second); len(srv.Messages()) == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if len(srv.Messages()) != 1 {
		t.Fatalf("%d messages delivered", len(srv.Messages()))
	}
	audit := clinic.must(t, 0, "", "audit", "export", "--json")
	if !strings.Contains(audit, `"tls": "none"`) && !strings.Contains(audit, `"tls":"none"`) {
		t.Errorf("the audit log does not record the plain-text message:\n%s", audit)
	}
	if !strings.Contains(out.String(), "WITHOUT TLS (allowed with --allow-plain-from)") {
		t.Errorf("no warning for the message:\n%s", out)
	}
}

// TestRelayCLINeedsSigningKey: a relay whose account has no key of the
// user's to sign with does not start.
func TestRelayCLINeedsSigningKey(t *testing.T) {
	requireKeychain(t)
	const pw = "account pass TEST ONLY"
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic@example.org", Password: pw}, accounttest.Options{})
	u := newUser(t, "clinic")
	u.must(t, 0, pw+"\n", "account", "add", "--name", "clinic", "--email", "clinic@example.org",
		"--smtp", srv.Addr, "--smtp-security", "tls", "--ca-file", pki.CAFile, "--auth", "password", "--password-stdin")
	u.must(t, 0, relayDevicePW+"\n", "relay", "device", "add", "frontdesk", "--password-stdin")
	code, out, errOut := u.run(t, "", "relay", "--account", "clinic", "--listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, "none of your keys is for clinic@example.org") || strings.Contains(out, "Listening") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

// TestRelayCLIResend: an MFD that dropped the connection after its final
// "." sends the same scan again: 250 naming the first job, one job in the
// outbox, one message delivered, a relay.duplicate audit entry. The
// relay's JobFinder finds that job in the real outbox by its recipients
// and document hashes (what a crash between queueing and recording it
// relies on), and no other.
func TestRelayCLIResend(t *testing.T) {
	clinic, _, srv := relaySetup(t)
	addr, fp, out := startRelayCLI(t, clinic, "--account", "clinic", "--listen", "127.0.0.1:0")
	args := []string{"--user", "frontdesk", "--to", "pharmacy@example.org", "--message-id", "<scan-77@mfd.example>", "--attach", relayScan}
	if r := relaytest.MFD(t, addr, fp, relayDevicePW, append(args, "--hang-up-after-data")...); r.Stage != "hung-up" {
		t.Fatalf("first copy: %+v", r)
	}
	for deadline := time.Now().Add(30 * time.Second); len(srv.Messages()) == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	jobs := clinic.outboxJobs(t)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs after the first copy\n%s", len(jobs), out)
	}
	r := relaytest.MFD(t, addr, fp, relayDevicePW, args...)
	if r.Code != 250 || !strings.Contains(r.Message, "Already queued securely as job "+jobs[0].ID) {
		t.Fatalf("resend: %+v\n%s", r, out)
	}
	time.Sleep(500 * time.Millisecond) // a second job, were there one, would be on its way
	if n, m := len(clinic.outboxJobs(t)), len(srv.Messages()); n != 1 || m != 1 {
		t.Errorf("%d jobs, %d messages delivered; want 1 and 1", n, m)
	}
	audit := clinic.must(t, 0, "", "audit", "export", "--json")
	if strings.Count(audit, `"relay.received"`) != 1 || !strings.Contains(audit, `"relay.duplicate"`) {
		t.Errorf("audit log:\n%s", audit)
	}

	d, err := openDesk(clinic.env(strings.NewReader(""), io.Discard, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	ob, err := d.Outbox(desk.OutboxOptions{Via: desk.Via{Account: "clinic"}})
	if err != nil {
		t.Fatal(err)
	}
	sub := &desk.RelaySubmitter{Outbox: ob}
	sum := sha256Hex(t, relayScan)
	for _, c := range []struct {
		name  string
		to    []string
		sums  []string
		since time.Time
		want  string
	}{
		{"the job", []string{"Pharmacy@example.org"}, []string{sum}, jobs[0].Created.Add(-time.Second), jobs[0].ID},
		{"queued before since", []string{"pharmacy@example.org"}, []string{sum}, jobs[0].Created.Add(time.Second), ""},
		{"another recipient", []string{"lab@example.org"}, []string{sum}, time.Time{}, ""},
		{"another document", []string{"pharmacy@example.org"}, []string{strings.Repeat("0", 64)}, time.Time{}, ""},
		{"an extra document", []string{"pharmacy@example.org"}, []string{sum, sum}, time.Time{}, ""},
	} {
		got, err := sub.FindJob(context.Background(), c.to, c.sums, c.since)
		if err != nil || got != c.want {
			t.Errorf("%s: FindJob = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

// TestRelayCLIListenFails: a relay that cannot listen (the port is taken)
// says so and exits 1 at once. Before, its delivery loop had already
// started and the command waited for it until interrupted.
func TestRelayCLIListenFails(t *testing.T) {
	clinic, _, _ := relaySetup(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var out, errOut relaytest.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), clinic.env(strings.NewReader(""), &out, &errOut), []string{"relay", "--account", "clinic", "--listen", taken.Addr().String()})
	}()
	select {
	case code := <-done:
		if code != 1 || !strings.Contains(errOut.String(), "address already in use") {
			t.Errorf("exit %d\n%s%s", code, out.String(), errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the relay neither listened nor stopped:\n%s%s", out.String(), errOut.String())
	}
}

// TestRelayCLIMaxPerAddress: --max-per-address must be positive, and
// bounds the connections from one address: the one over it gets 421
// before the greeting, saying so.
func TestRelayCLIMaxPerAddress(t *testing.T) {
	clinic, _, _ := relaySetup(t)
	code, _, errOut := clinic.run(t, "", "relay", "--account", "clinic", "--max-per-address", "0")
	if code != 2 || !strings.Contains(errOut, "--max-per-address") {
		t.Fatalf("--max-per-address 0: exit %d\n%s", code, errOut)
	}
	addr, _, out := startRelayCLI(t, clinic, "--account", "clinic", "--max-per-address", "1")
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if line, err := bufio.NewReader(first).ReadString('\n'); err != nil || !strings.HasPrefix(line, "220 ") {
		t.Fatalf("first connection: %q, %v", line, err)
	}
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if line, err := bufio.NewReader(second).ReadString('\n'); err != nil || !strings.HasPrefix(line, "421 4.7.0 Too many connections from your address") {
		t.Fatalf("second connection: %q, %v\nrelay:\n%s", line, err, out)
	}
}
