package relay

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/relay/relaytest"
)

// devicePassword is the test device's password (TEST ONLY).
const devicePassword = "front-desk-mfd-TEST-ONLY-9f3k"

// recorder is a Submitter that records what it was given, reading each
// document while it still exists, and answers err if set.
type recorder struct {
	mu    sync.Mutex
	subs  []Submission
	data  [][][]byte
	modes []os.FileMode
	err   error
}

func (r *recorder) Submit(_ context.Context, s Submission) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return "", r.err
	}
	var docs [][]byte
	for _, d := range s.Documents {
		b, err := os.ReadFile(d.Path)
		if err != nil {
			return "", err
		}
		docs = append(docs, b)
		if fi, err := os.Stat(filepath.Dir(filepath.Dir(d.Path))); err == nil {
			r.modes = append(r.modes, fi.Mode().Perm())
		}
	}
	r.subs = append(r.subs, s)
	r.data = append(r.data, docs)
	return fmt.Sprintf("job%04d", len(r.subs)), nil
}

func (r *recorder) submissions() []Submission {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Submission(nil), r.subs...)
}

// auditRecorder is an AuditLog that keeps the events.
type auditRecorder struct {
	mu     sync.Mutex
	events []audit.Event
}

func (a *auditRecorder) Append(ev audit.Event) (audit.Entry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, ev)
	return audit.Entry{}, nil
}

func (a *auditRecorder) all() []audit.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]audit.Event(nil), a.events...)
}

// directory is the test Resolver: two directory entries and an alias.
var directory = ResolverFunc(func(addr string) (Recipient, error) {
	a := strings.ToLower(addr)
	switch a {
	case "mainst@relay", "pharmacy@mainst.example.nz":
		return Recipient{Requested: addr, Address: "pharmacy@mainst.example.nz", Name: "Main St Pharmacy"}, nil
	case "lab@results.example.nz":
		return Recipient{Requested: addr, Address: a, Name: "Results Lab"}, nil
	}
	return Recipient{}, fmt.Errorf("%s: %w", addr, ErrUnknownRecipient)
})

// deviceTemplate is a device file with "frontdesk" (argon2id is slow on
// purpose: hash once for all tests).
var deviceTemplate = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "relay-devices-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "devices.json")
	if err := OpenDevices(p).Add("frontdesk", devicePassword); err != nil {
		return nil, err
	}
	return os.ReadFile(p)
})

type testRelay struct {
	addr        string
	fingerprint string
	sub         *recorder
	audit       *auditRecorder
	log         *relaytest.SyncBuffer
	tempDir     string
}

// startRelay runs a relay on a loopback port with one device ("frontdesk")
// and the test directory; edit changes the options first.
func startRelay(t *testing.T, edit func(*Options)) *testRelay {
	t.Helper()
	dir := t.TempDir()
	devs := OpenDevices(filepath.Join(dir, "relay-devices.json"))
	tmpl, err := deviceTemplate()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "relay-devices.json"), tmpl, 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _, err := LoadOrCreateCertificate(dir, []string{"127.0.0.1", "localhost"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tr := &testRelay{sub: &recorder{}, audit: &auditRecorder{}, log: &relaytest.SyncBuffer{}, tempDir: filepath.Join(dir, "tmp")}
	if err := os.Mkdir(tr.tempDir, 0o700); err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Devices: devs, Resolver: directory, Submitter: tr.sub, Audit: tr.audit, TLS: cert,
		Allow:   []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		TempDir: tr.tempDir, Log: tr.log, AuthFailDelay: -1,
	}
	if edit != nil {
		edit(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	tr.addr = ln.Addr().String()
	tr.fingerprint = Fingerprint(cert)
	return tr
}

// mfd runs the MFD client (relaytest.MFD: Python's smtplib, as an MFD)
// against the relay, with the password on stdin.
func (tr *testRelay) mfd(t *testing.T, password string, args ...string) relaytest.Reply {
	t.Helper()
	return relaytest.MFD(t, tr.addr, tr.fingerprint, password, args...)
}

func testdataDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestRelayAcceptsScan: an MFD that pins the relay's certificate,
// STARTTLSes and signs in (PLAIN or LOGIN) gets 250 with the job id only
// once the Submitter has the message; the Submitter gets the device, the
// resolved recipient (an alias mapped to its directory entry), the
// document with its hash in a private folder, and nothing is left behind.
func TestRelayAcceptsScan(t *testing.T) {
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		t.Run(mech, func(t *testing.T) {
			tr := startRelay(t, nil)
			scan := filepath.Join(testdataDir(t), "good_scan.pdf")
			r := tr.mfd(t, devicePassword, "--auth", mech, "--user", "frontdesk", "--to", "mainst@relay", "--to", "Pharmacy@mainst.example.nz", "--subject", "Prescription", "--attach", scan)
			if r.Stage != "sent" || r.Code != 250 || !strings.Contains(r.Message, "job0001") {
				t.Fatalf("reply %+v, want 250 queued as job0001\nlog:\n%s", r, tr.log)
			}
			subs := tr.sub.submissions()
			if len(subs) != 1 {
				t.Fatalf("%d submissions, want 1", len(subs))
			}
			s := subs[0]
			if s.Device != "frontdesk" || !strings.HasPrefix(s.Source, "127.0.0.1:") || !strings.HasPrefix(s.TLS, "TLS 1.") || s.Subject != "Prescription" {
				t.Errorf("submission %+v", s)
			}
			if len(s.Recipients) != 1 || s.Recipients[0].Address != "pharmacy@mainst.example.nz" || s.Recipients[0].Requested != "mainst@relay" {
				t.Errorf("recipients %+v", s.Recipients)
			}
			if len(s.Documents) != 1 {
				t.Fatalf("documents %+v", s.Documents)
			}
			d := s.Documents[0]
			want, _ := os.ReadFile(scan)
			if d.Name != "good_scan.pdf" || d.ContentType != "application/pdf" || d.SHA256 != sha256File(t, scan) || d.Size != int64(len(want)) || string(tr.sub.data[0][0]) != string(want) {
				t.Errorf("document %+v", d)
			}
			if tr.sub.modes[0] != 0o700 {
				t.Errorf("private folder mode %v, want 0700", tr.sub.modes[0])
			}
			if left, _ := os.ReadDir(tr.tempDir); len(left) != 0 {
				t.Errorf("left behind in the temp folder: %v", left)
			}
			ev := tr.audit.all()
			if len(ev) != 1 || ev[0].Kind != AuditReceived || ev[0].Fields["actor"] != "frontdesk" || ev[0].Fields["sha256"] != d.SHA256 ||
				ev[0].Fields["to"] != "pharmacy@mainst.example.nz" || ev[0].Fields["job"] != "job0001" || !strings.HasPrefix(ev[0].Fields["address"], "127.0.0.1:") {
				t.Errorf("audit %+v", ev)
			}
		})
	}
}

// TestRelayRefusals: each failure has the reply an MFD can show, and
// nothing reaches the Submitter.
func TestRelayRefusals(t *testing.T) {
	scan := filepath.Join(testdataDir(t), "good_scan.pdf")
	notes := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(notes, []byte("not a scan\n"), 0o600)
	big := filepath.Join(t.TempDir(), "big.pdf")
	b, _ := os.ReadFile(scan)
	os.WriteFile(big, append(b, make([]byte, 64<<10)...), 0o600)
	for _, c := range []struct {
		name     string
		edit     func(*Options)
		password string
		args     []string
		stage    string
		code     int
		contains string
	}{
		{"AUTH before STARTTLS", nil, devicePassword,
			[]string{"--auth-first", "--user", "frontdesk", "--to", "mainst@relay", "--attach", scan}, "auth", 530, "STARTTLS"},
		{"mail without TLS", nil, devicePassword,
			[]string{"--no-tls", "--auth", "NONE", "--to", "mainst@relay", "--attach", scan}, "mail", 530, "STARTTLS"},
		{"mail without AUTH", nil, devicePassword,
			[]string{"--auth", "NONE", "--to", "mainst@relay", "--attach", scan}, "mail", 530, "Authentication required"},
		{"wrong password", nil, "not-the-password-at-all",
			[]string{"--user", "frontdesk", "--to", "mainst@relay", "--attach", scan}, "auth", 535, "wrong device name or password"},
		{"unknown device", nil, devicePassword,
			[]string{"--user", "backoffice", "--to", "mainst@relay", "--attach", scan}, "auth", 535, "wrong device name or password"},
		{"unknown recipient", nil, devicePassword,
			[]string{"--user", "frontdesk", "--to", "someone@gmail.example", "--attach", scan}, "rcpt", 550, "5.1.1"},
		{"too big, declared", func(o *Options) { o.MaxMessageBytes = 32 << 10 }, devicePassword,
			[]string{"--user", "frontdesk", "--to", "mainst@relay", "--attach", big}, "mail", 552, "5.3.4"},
		{"too big, undeclared", func(o *Options) { o.MaxMessageBytes = 32 << 10 }, devicePassword,
			[]string{"--no-size", "--user", "frontdesk", "--to", "mainst@relay", "--attach", big}, "data", 552, "5.3.4"},
		{"no document", nil, devicePassword,
			[]string{"--user", "frontdesk", "--to", "mainst@relay"}, "data", 554, "5.6.0"},
		{"not a document", nil, devicePassword,
			[]string{"--user", "frontdesk", "--to", "mainst@relay", "--attach", scan, "--attach", notes}, "data", 554, "notes.txt"},
		{"damaged PDF", nil, devicePassword,
			[]string{"--user", "frontdesk", "--to", "mainst@relay", "--attach", filepath.Join(testdataDir(t), "bad_truncated.pdf")}, "data", 554, "damaged"},
		{"outside the allow-list", func(o *Options) { o.Allow = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} }, devicePassword,
			[]string{"--user", "frontdesk", "--to", "mainst@relay", "--attach", scan}, "connect", 554, "does not accept connections from your network"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := startRelay(t, c.edit)
			r := tr.mfd(t, c.password, c.args...)
			if r.Stage != c.stage || r.Code != c.code || !strings.Contains(r.Message, c.contains) {
				t.Fatalf("reply %+v, want %s %d %q\nlog:\n%s", r, c.stage, c.code, c.contains, tr.log)
			}
			if n := len(tr.sub.submissions()); n != 0 {
				t.Errorf("%d submissions, want none", n)
			}
			if left, _ := os.ReadDir(tr.tempDir); len(left) != 0 {
				t.Errorf("left behind in the temp folder: %v", left)
			}
			if strings.Contains(tr.log.String(), c.password) {
				t.Errorf("the log shows the password:\n%s", tr.log)
			}
		})
	}
}

// TestRelaySubmitterErrors: the outbox being unavailable is 451 (the
// device retries, nothing lost); a Refusal is 554 with its reason.
func TestRelaySubmitterErrors(t *testing.T) {
	scan := filepath.Join(testdataDir(t), "good_scan.pdf")
	for _, c := range []struct {
		err      error
		code     int
		contains string
	}{
		{errors.New("outbox: keychain locked"), 451, "try again later"},
		{&Refusal{Reason: "documents over 10 MB are not allowed by your organisation"}, 554, "over 10 MB"},
	} {
		tr := startRelay(t, nil)
		tr.sub.err = c.err
		r := tr.mfd(t, devicePassword, "--user", "frontdesk", "--to", "mainst@relay", "--attach", scan)
		if r.Stage != "data" || r.Code != c.code || !strings.Contains(r.Message, c.contains) {
			t.Errorf("%v: reply %+v, want %d %q", c.err, r, c.code, c.contains)
		}
		if strings.Contains(r.Message, "keychain") {
			t.Errorf("the reply shows an internal error: %q", r.Message)
		}
	}
}

// TestRelayPlainFrom: a device at an address allowed with PlainFrom signs
// in and sends without TLS; the message is audited and logged as such.
func TestRelayPlainFrom(t *testing.T) {
	tr := startRelay(t, func(o *Options) { o.PlainFrom = []netip.Addr{netip.MustParseAddr("127.0.0.1")} })
	r := tr.mfd(t, devicePassword, "--no-tls", "--user", "frontdesk", "--to", "lab@results.example.nz", "--attach", filepath.Join(testdataDir(t), "good_scan.pdf"))
	if r.Stage != "sent" || r.Code != 250 {
		t.Fatalf("reply %+v", r)
	}
	ev := tr.audit.all()
	if len(ev) != 1 || ev[0].Fields["tls"] != "none" || !strings.Contains(ev[0].Fields["reason"], "without TLS") {
		t.Errorf("audit %+v", ev)
	}
	if !strings.Contains(tr.log.String(), "WITHOUT TLS") {
		t.Errorf("no warning in the log:\n%s", tr.log)
	}
}

// TestRelayLimits: a device over its messages per minute gets 451; a
// connection over the limit gets 421 before the greeting.
func TestRelayLimits(t *testing.T) {
	scan := filepath.Join(testdataDir(t), "good_scan.pdf")
	t.Run("per minute", func(t *testing.T) {
		tr := startRelay(t, func(o *Options) { o.MaxPerMinute = 1 })
		if r := tr.mfd(t, devicePassword, "--user", "frontdesk", "--to", "mainst@relay", "--attach", scan); r.Code != 250 {
			t.Fatalf("first: %+v", r)
		}
		r := tr.mfd(t, devicePassword, "--user", "frontdesk", "--to", "mainst@relay", "--attach", scan)
		if r.Stage != "mail" || r.Code != 451 || !strings.Contains(r.Message, "Too many messages") {
			t.Fatalf("second: %+v", r)
		}
	})
	t.Run("connections", func(t *testing.T) {
		tr := startRelay(t, func(o *Options) { o.MaxConnections = 1 })
		c, err := net.Dial("tcp", tr.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if line, err := bufio.NewReader(c).ReadString('\n'); err != nil || !strings.HasPrefix(line, "220 ") {
			t.Fatalf("greeting %q, %v", line, err)
		}
		r := tr.mfd(t, devicePassword, "--user", "frontdesk", "--to", "mainst@relay", "--attach", scan)
		if r.Stage != "connect" || r.Code != 421 {
			t.Fatalf("reply %+v, want 421 at connect", r)
		}
	})
}

// TestRelayClosesAfterFailedSignIns: a connection that guesses passwords
// is closed after maxAuthFailures wrong ones; the right password then
// needs a new connection.
func TestRelayClosesAfterFailedSignIns(t *testing.T) {
	tr := startRelay(t, nil)
	c, err := smtp.DialStartTLS(tr.addr, &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if !strings.EqualFold(strings.ReplaceAll(tr.fingerprint, ":", ""), hex.EncodeToString(sum[:])) {
			return errors.New("fingerprint mismatch")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range maxAuthFailures {
		var se *smtp.SMTPError
		if err := c.Auth(sasl.NewPlainClient("", "frontdesk", fmt.Sprint("guess-", i))); !errors.As(err, &se) || se.Code != 535 {
			t.Fatalf("guess %d: %v, want 535", i, err)
		}
	}
	err = c.Auth(sasl.NewPlainClient("", "frontdesk", devicePassword))
	var se *smtp.SMTPError
	if err == nil || (errors.As(err, &se) && se.Code == 235) {
		t.Fatalf("sign-in after %d failures on one connection: %v", maxAuthFailures, err)
	}
	if !strings.Contains(tr.log.String(), "after 3 failed sign-ins") {
		t.Errorf("log:\n%s", tr.log)
	}
}

// blockingSubmitter holds every Submit until release is closed.
type blockingSubmitter struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSubmitter) Submit(ctx context.Context, s Submission) (string, error) {
	close(b.entered)
	<-b.release
	return "job-after-release", nil
}

// TestRelay250OnlyAfterSubmit: while the Submitter has not returned, the
// device has no reply; it gets 250 only after.
func TestRelay250OnlyAfterSubmit(t *testing.T) {
	b := &blockingSubmitter{entered: make(chan struct{}), release: make(chan struct{})}
	tr := startRelay(t, func(o *Options) { o.Submitter = b })
	got := make(chan relaytest.Reply, 1)
	go func() {
		got <- tr.mfd(t, devicePassword, "--user", "frontdesk", "--to", "mainst@relay", "--attach", filepath.Join(testdataDir(t), "good_scan.pdf"))
	}()
	select {
	case <-b.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("Submit was not called")
	}
	select {
	case r := <-got:
		t.Fatalf("the device had its reply before Submit returned: %+v", r)
	case <-time.After(500 * time.Millisecond):
	}
	close(b.release)
	select {
	case r := <-got:
		if r.Code != 250 || !strings.Contains(r.Message, "job-after-release") {
			t.Fatalf("reply %+v", r)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no reply after Submit returned")
	}
}
