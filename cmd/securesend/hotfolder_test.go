package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/internal/manifest"

	"github.com/emersion/go-message/mail"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/relay/relaytest"
	"github.com/securesend/securesend/send/hotfolder"
)

func testPNG(t *testing.T, seed byte) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = seed + byte(i)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hotfolderSMTP starts an in-process STARTTLS server that takes user
// "clinic" with password pw, and returns it with its CA and the hotfolder
// flags that send through it (the password then goes on stdin).
func hotfolderSMTP(t *testing.T, pw string) (*accounttest.SMTPServer, *accounttest.PKI, []string) {
	t.Helper()
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: pw}, accounttest.Options{StartTLS: true})
	return srv, pki, serverFlags(srv.Addr, pki)
}

// serverFlags are the hotfolder flags that send through addr as "clinic".
func serverFlags(addr string, pki *accounttest.PKI) []string {
	return []string{"--server", addr, "--security", "starttls", "--ca-file", pki.CAFile, "--user", "clinic", "--password-stdin"}
}

// TestHotfolderCLI runs 'securesend hotfolder --once' against an
// in-process STARTTLS server: the good scan arrives and moves to sent/, the
// empty one moves to failed/ with its reason, hidden files stay.
func TestHotfolderCLI(t *testing.T) {
	srv, _, serverArgs := hotfolderSMTP(t, "s3cret pass")
	dir := t.TempDir()
	scan := testPNG(t, 1)
	os.WriteFile(filepath.Join(dir, "scan.PNG"), scan, 0o600)
	os.WriteFile(filepath.Join(dir, "empty.pdf"), nil, 0o600)
	const evil = "evil\x1b[2J\n.pdf" // shown quoted, never as a terminal escape or a new line
	os.WriteFile(filepath.Join(dir, evil), nil, 0o600)
	os.WriteFile(filepath.Join(dir, ".partial.pdf"), []byte("%PDF-"), 0o600)
	args := append([]string{"hotfolder", "--once", "--settle", "0", "--dir", dir, "--doc-type", "referral",
		"--from", "Clinic <clinic@example.org>", "--to", "ward3@example.org"}, serverArgs...)

	code, stdout, stderr := runCLI(t, "s3cret pass\n", args...)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one file failed)\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"scan.PNG: queued as job ", "scan.PNG: sent to ward3@example.org",
		"empty.pdf: FAILED: the file is empty; moved to failed/empty.pdf",
		`"evil\x1b[2J\n.pdf": FAILED: the file is empty; moved to "failed/evil\x1b[2J\n.pdf"`,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "\x1b") {
		t.Error("an escape sequence from a file name reached the terminal")
	}
	if strings.Contains(stdout+stderr, "s3cret") {
		t.Error("the password is in the output")
	}
	if got, err := os.ReadFile(filepath.Join(dir, "sent", "scan.PNG")); err != nil || !bytes.Equal(got, scan) {
		t.Errorf("sent/scan.PNG: %v", err)
	}
	if reason, err := os.ReadFile(filepath.Join(dir, "failed", "empty.pdf.reason.txt")); err != nil || !strings.Contains(string(reason), "empty") {
		t.Errorf("reason %q, %v", reason, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".partial.pdf")); err != nil {
		t.Error("the hidden file was touched")
	}

	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages", len(msgs))
	}
	if !bytes.Contains(msgs[0], []byte("Message-Id: <hotfolder.")) {
		t.Errorf("Message-ID not from the hot folder's key:\n%.600s", msgs[0])
	}
	mr, err := mail.CreateReader(bytes.NewReader(msgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	if subj, _ := mr.Header.Subject(); subj != "Referral" {
		t.Errorf("Subject %q, want the document type", subj)
	}
	mr.NextPart()
	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(p.Body)
	if !bytes.Equal(got, scan) {
		t.Error("the scan differs on arrival")
	}
	// The signed manifest carries the document type too.
	var mf *manifest.Manifest
	for mf == nil {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("no manifest part: %v", err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), manifest.MediaType) {
			if mf, err = manifest.Parse(p.Body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if mf.DocumentType != "referral" {
		t.Errorf("manifest document type %q, want referral", mf.DocumentType)
	}

	// Nothing left that fails: exit 0, nothing sent again.
	code, stdout, stderr = runCLI(t, "s3cret pass\n", args...)
	if code != 0 || stdout != "" || len(srv.Messages()) != 1 {
		t.Errorf("second run: exit %d, %d messages\nstdout:\n%s\nstderr:\n%s", code, len(srv.Messages()), stdout, stderr)
	}
}

func TestHotfolderUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", "a@example.org", "--account", "x"}, "missing --dir"},
		{[]string{"--dir", dir, "--account", "x"}, "missing --to"},
		{[]string{"--dir", dir, "--to", "a@example.org"}, "give --account or --server"},
		{[]string{"--dir", dir, "--to", "a@example.org", "--server", "h:465"}, "--server needs --from"},
		{[]string{"--dir", dir, "--to", "a@", "--server", "h:465", "--from", "b@example.org"}, `--to "a@" is not an e-mail address`},
		{[]string{"--dir", dir, "--to", "a@example.org", "--server", "h:465", "--from", "b@example.org", "--encrypt", "maybe"}, "--encrypt must be always, auto or never"},
		{[]string{"--dir", dir, "--to", "a@example.org", "--server", "h:465", "--from", "nobody", "--user", "u", "--password-stdin"}, `--from "nobody" is not an e-mail address`},
		{[]string{"--dir", dir, "--to", "a@example.org", "--server", "h:465", "--from", "b@example.org", "--doc-type", "Letter"}, "--doc-type must be one of Prescription, Referral, Results, Other"},
	} {
		code, _, stderr := runCLI(t, "", append([]string{"hotfolder"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
	code, stdout, stderr := runCLI(t, "", "hotfolder", "--help")
	if code != 0 || !strings.Contains(stdout+stderr, "Usage: securesend hotfolder --dir DIR --to ADDRESS") || !strings.Contains(stdout+stderr, "-settle") {
		t.Errorf("--help: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI(t, "", "hotfolder", "--dir", filepath.Join(dir, "missing"), "--to", "a@example.org", "--server", "h:465", "--from", "b@example.org", "--once")
	if code != 1 || !strings.Contains(stderr, "no such file or directory") {
		t.Errorf("missing folder: exit %d, %q", code, stderr)
	}
}

// TestHotfolderCLIAfterCrash: a run queued a scan in the outbox and died
// before its journal recorded the job. The next run finds the job by its
// Message-ID (the hot folder's key), moves the file to sent/ and delivers
// that job, without queueing it again; and a server that is down leaves a
// new scan queued.
func TestHotfolderCLIAfterCrash(t *testing.T) {
	srv, pki, serverArgs := hotfolderSMTP(t, "pw")
	ae := newAcctEnv(t)
	dir := t.TempDir()
	scan := testPNG(t, 2)
	path := filepath.Join(dir, "scan.png")
	os.WriteFile(path, scan, 0o600)
	sum := sha256.Sum256(scan)
	const key = "0123456789abcdef0123456789abcdef"
	os.WriteFile(filepath.Join(dir, hotfolder.JournalName), fmt.Appendf(nil,
		`{"version":1,"entries":{%q:{"key":%q,"name":"scan.png","time":"2026-01-01T00:00:00Z"}}}`, hex.EncodeToString(sum[:]), key), 0o600)

	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader("pw\n"), stdout: &out, stderr: &errb, getenv: func(k string) string { return ae.vars[k] }}
	f := &sendFlags{server: srv.Addr, security: "starttls", caFile: pki.CAFile, user: "clinic", passwordStdin: true,
		from: "clinic@example.org", to: listFlag{"ward3@example.org"}, subject: "Other", minTLS: "1.2", timeout: time.Minute,
		encrypt: "auto", docs: []string{path}}
	d, err := openDesk(e)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := d.Outbox(desk.OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.via(e.stdin)
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.message()
	if err != nil {
		t.Fatal(err)
	}
	m.MessageID = desk.HotFolderMessageID(key, "clinic@example.org")
	first, err := ob.Send(context.Background(), desk.Draft{Message: m, Via: v})
	if err != nil {
		t.Fatal(err)
	}

	args := []string{"hotfolder", "--once", "--settle", "0", "--dir", dir, "--from", "clinic@example.org", "--to", "ward3@example.org"}
	stdout, stderr, code := ae.run(t, "pw\n", append(args, serverArgs...)...)
	if code != 0 || !strings.Contains(stdout, "scan.png: queued as job "+first[:12]) || !strings.Contains(stdout, "scan.png: sent to ward3@example.org") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "sent", "scan.png")); err != nil {
		t.Error("not moved to sent/")
	}
	recs, err := ob.List()
	if err != nil || len(recs) != 1 {
		t.Fatalf("outbox has %d jobs (%v), want the one", len(recs), err)
	}

	// The server is down: the scan is queued (and moved), not failed.
	os.WriteFile(filepath.Join(dir, "second.png"), testPNG(t, 3), 0o600)
	stdout, stderr, code = ae.run(t, "pw\n", append(args, serverFlags("127.0.0.1:1", pki)...)...)
	if code != 0 || !strings.Contains(stdout, "second.png: queued, not sent yet: ") {
		t.Fatalf("server down: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if recs, _ := ob.List(); len(recs) != 2 {
		t.Errorf("outbox has %d jobs, want 2", len(recs))
	}
	if len(srv.Messages()) != 1 {
		t.Errorf("server got %d messages, want 1", len(srv.Messages()))
	}
}

// TestHotfolderCLIAccount sends through a stored account, as a clinic's
// scanner PC would run it.
func TestHotfolderCLIAccount(t *testing.T) {
	requireKeychain(t)
	const user, pw = "clinic@example.org", "account pass"
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: user, Password: pw}, accounttest.Options{})
	ae := newAcctEnv(t)
	if out, errOut, code := ae.run(t, pw+"\n", "account", "add", "--name", "clinic", "--email", user,
		"--smtp", srv.Addr, "--smtp-security", "tls", "--ca-file", pki.CAFile, "--auth", "password", "--password-stdin"); code != 0 {
		t.Fatalf("account add: exit %d\n%s%s", code, out, errOut)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "rx.png"), testPNG(t, 4), 0o600)
	stdout, stderr, code := ae.run(t, "", "hotfolder", "--once", "--settle", "10ms", "--dir", dir, "--account", "clinic",
		"--to", "pharmacy@example.org", "--doc-type", "Prescription", "--encrypt", "auto")
	if code != 0 || !strings.Contains(stdout, "rx.png: sent to pharmacy@example.org") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !bytes.Contains(msgs[0], []byte("From: <clinic@example.org>")) || !bytes.Contains(msgs[0], []byte("Subject: Prescription")) {
		t.Fatalf("server got %d messages: %.400s", len(msgs), bytes.Join(msgs, nil))
	}
	if _, err := os.Stat(filepath.Join(dir, "sent", "rx.png")); err != nil {
		t.Error("not moved to sent/")
	}
	// --encrypt always without a key for the recipient: refused, so the
	// file goes to failed/ with the reason, and exit 1.
	os.WriteFile(filepath.Join(dir, "rx2.png"), testPNG(t, 5), 0o600)
	stdout, stderr, code = ae.run(t, "", "hotfolder", "--once", "--settle", "0", "--dir", dir, "--account", "clinic",
		"--to", "pharmacy@example.org", "--encrypt", "always")
	if code != 1 || !strings.Contains(stdout, "rx2.png: FAILED: ") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	reason, err := os.ReadFile(filepath.Join(dir, "failed", "rx2.png.reason.txt"))
	if err != nil || !strings.Contains(string(reason), "rx2.png could not be sent: ") {
		t.Errorf("reason %q, %v", reason, err)
	}
	t.Logf("refusal: %s", reason)
	if len(srv.Messages()) != 1 {
		t.Error("the refused file was sent")
	}
}

// TestHotfolderCLIWatch runs the hot folder without --once: a scan saved
// while it runs is sent, and cancelling (Ctrl-C) ends it with exit 0.
func TestHotfolderCLIWatch(t *testing.T) {
	srv, _, serverArgs := hotfolderSMTP(t, "pw")
	ae := newAcctEnv(t)
	dir := t.TempDir()
	var out, errb relaytest.SyncBuffer
	e := &env{stdin: strings.NewReader("pw\n"), stdout: &out, stderr: &errb, getenv: func(k string) string { return ae.vars[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, e, append([]string{"hotfolder", "--interval", "50ms", "--settle", "100ms", "--dir", dir,
			"--from", "clinic@example.org", "--to", "ward3@example.org"}, serverArgs...))
	}()
	time.Sleep(100 * time.Millisecond)
	os.WriteFile(filepath.Join(dir, "late.tif.part"), []byte("II*\x00partial"), 0o600)
	os.WriteFile(filepath.Join(dir, "late.png"), testPNG(t, 6), 0o600)
	// Bounded by the event itself: a loaded CI machine may take seconds.
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "late.png: sent to ward3@example.org") {
		if time.Now().After(deadline) {
			t.Fatalf("not sent in time\nstdout:\n%s\nstderr:\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after cancel\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not stop when cancelled")
	}
	if !strings.HasPrefix(out.String(), "Watching "+dir) || len(srv.Messages()) != 1 {
		t.Errorf("%d messages\n%s", len(srv.Messages()), out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "late.tif.part")); err != nil {
		t.Error("the partial file was touched")
	}
}

// TestHotfolderCLIMaxSize: a file over the size limit goes to failed/
// with the hot folder's reason (its size and the limit), without being
// sent, while a small one is sent. The limit is --max-size, else the
// policy's document limit (here the user's security.toml lowers it to
// 1 MB); a --max-size over the policy's limit is refused.
func TestHotfolderCLIMaxSize(t *testing.T) {
	srv, _, serverArgs := hotfolderSMTP(t, "pw")
	big := make([]byte, 3<<19) // 1.5 MB
	copy(big, "%PDF-1.4\n")
	for _, tt := range []struct {
		name      string
		policyMB  int // max_attachment_mb in security.toml; 0: none
		args      []string
		wantCode  int
		wantOut   string // in stdout (or stderr for a usage error)
		wantLimit string // in failed/big.pdf.reason.txt; "" for a usage error
	}{
		{"flag", 0, []string{"--max-size", "1"}, 1, "big.pdf: FAILED: it is 1.5 MB, larger than the hot folder takes (1.0 MB); moved to failed/big.pdf", "(1.0 MB)"},
		{"policy default", 1, nil, 1, "big.pdf: FAILED: it is 1.5 MB, larger than the hot folder takes (1.0 MB); moved to failed/big.pdf", "(1.0 MB)"},
		{"flag under policy", 5, []string{"--max-size", "1"}, 1, "big.pdf: FAILED: it is 1.5 MB, larger than the hot folder takes (1.0 MB)", "(1.0 MB)"},
		{"flag over policy", 1, []string{"--max-size", "5"}, 2, "--max-size 5 is over your organisation's document limit of 1 MB", ""},
		{"zero", 0, []string{"--max-size", "0"}, 2, "--max-size must be a number of MB from 1 to", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ae := newAcctEnv(t)
			if tt.policyMB != 0 {
				os.WriteFile(filepath.Join(ae.vars[home.EnvVar], profile.UserSettingsFile), fmt.Appendf(nil, "max_attachment_mb = %d\n", tt.policyMB), 0o600)
			}
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "big.pdf"), big, 0o600)
			os.WriteFile(filepath.Join(dir, "small.png"), testPNG(t, 7), 0o600)
			before := len(srv.Messages())
			args := append([]string{"hotfolder", "--once", "--settle", "0", "--dir", dir, "--from", "clinic@example.org", "--to", "ward3@example.org"}, tt.args...)
			stdout, stderr, code := ae.run(t, "pw\n", append(args, serverArgs...)...)
			if code != tt.wantCode || !strings.Contains(stdout+stderr, tt.wantOut) {
				t.Fatalf("exit %d, want %d and %q\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, tt.wantOut, stdout, stderr)
			}
			if tt.wantLimit == "" {
				if _, err := os.Stat(filepath.Join(dir, "big.pdf")); err != nil || len(srv.Messages()) != before {
					t.Errorf("a refused command touched the folder (%v) or sent", err)
				}
				return
			}
			reason, err := os.ReadFile(filepath.Join(dir, "failed", "big.pdf.reason.txt"))
			if err != nil || !strings.Contains(string(reason), "larger than the hot folder takes "+tt.wantLimit) {
				t.Errorf("reason %q, %v", reason, err)
			}
			if got, err := os.ReadFile(filepath.Join(dir, "failed", "big.pdf")); err != nil || !bytes.Equal(got, big) {
				t.Errorf("failed/big.pdf not kept intact: %v", err)
			}
			if !strings.Contains(stdout, "small.png: sent to ward3@example.org") || len(srv.Messages()) != before+1 {
				t.Errorf("the small file: %d messages\n%s", len(srv.Messages())-before, stdout)
			}
		})
	}
}

// TestHotfolderCLISettleLimit: with --once, a file that never stops
// changing does not hold the run forever: after --settle-limit it goes to
// failed/ with the reason, and the run ends with exit 1.
func TestHotfolderCLISettleLimit(t *testing.T) {
	_, _, serverArgs := hotfolderSMTP(t, "pw")
	ae := newAcctEnv(t)
	dir := t.TempDir()
	f, err := os.OpenFile(filepath.Join(dir, "growing.pdf"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stopWriting := make(chan struct{})
	wrote := make(chan struct{})
	go func() { // an MFD that never finishes the file
		defer close(wrote)
		f.WriteString("%PDF-1.4\n")
		for {
			select {
			case <-stopWriting:
				return
			case <-time.After(20 * time.Millisecond):
				f.WriteString("more\n")
			}
		}
	}()
	start := time.Now()
	// --settle 500ms, 25 times the writer's 20 ms: a writer goroutine the
	// scheduler holds back on a loaded machine must not look finished.
	stdout, stderr, code := ae.run(t, "pw\n", append([]string{"hotfolder", "--once", "--settle", "500ms", "--settle-limit", "1s",
		"--dir", dir, "--from", "clinic@example.org", "--to", "ward3@example.org"}, serverArgs...)...)
	took := time.Since(start)
	close(stopWriting)
	<-wrote
	if code != 1 || !strings.Contains(stdout, "growing.pdf: FAILED: it was still changing 1s after it was first seen") {
		t.Fatalf("exit %d after %v\nstdout:\n%s\nstderr:\n%s", code, took, stdout, stderr)
	}
	if took > time.Minute {
		t.Errorf("took %v: --settle-limit 1s was not used", took)
	}
	if reason, err := os.ReadFile(filepath.Join(dir, "failed", "growing.pdf.reason.txt")); err != nil || !strings.Contains(string(reason), "still changing") {
		t.Errorf("reason %q, %v", reason, err)
	}
	code, _, stderr = runCLI(t, "", "hotfolder", "--once", "--settle-limit", "0", "--dir", dir, "--to", "a@example.org", "--server", "h:465", "--from", "b@example.org")
	if code != 2 || !strings.Contains(stderr, "--settle-limit must be positive") {
		t.Errorf("--settle-limit 0: exit %d, %q", code, stderr)
	}
}

// TestHotfolderCLIUnsafeSubfolder: when sent/ is a link, nothing is moved
// and the command says so and exits 1, with --once and while watching;
// the folder's name, whatever it holds, reaches the terminal only as
// visible text.
func TestHotfolderCLIUnsafeSubfolder(t *testing.T) {
	_, _, serverArgs := hotfolderSMTP(t, "pw")
	ae := newAcctEnv(t)
	dir := filepath.Join(t.TempDir(), "scans\x1b[2J\u202e")
	elsewhere := t.TempDir()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(dir, "sent")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "scan.png"), testPNG(t, 8), 0o600)
	base := []string{"hotfolder", "--settle", "0", "--interval", "50ms", "--dir", dir, "--from", "clinic@example.org", "--to", "ward3@example.org"}
	check := func(mode, stdout, stderr string, code int) {
		t.Helper()
		want := "securesend: hotfolder: " + desk.KeyText(filepath.Join(dir, "sent")) + " is a link or a file, not a real folder, so no scan was moved (remove or fix it, then try again)\n"
		if code != 1 || !strings.HasSuffix(stderr, want) {
			t.Errorf("%s: exit %d, want 1 and %q\nstdout:\n%s\nstderr:\n%s", mode, code, want, stdout, stderr)
		}
		if strings.ContainsAny(stdout+stderr, "\x1b\u202e") {
			t.Errorf("%s: the folder's name reached the terminal raw", mode)
		}
		if _, err := os.Stat(filepath.Join(dir, "scan.png")); err != nil {
			t.Errorf("%s: the scan was moved: %v", mode, err)
		}
	}
	once := append([]string{"hotfolder", "--once"}, base[1:]...)
	stdout, stderr, code := ae.run(t, "pw\n", append(once, serverArgs...)...)
	check("--once", stdout, stderr, code)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb relaytest.SyncBuffer
	e := &env{stdin: strings.NewReader("pw\n"), stdout: &out, stderr: &errb, getenv: func(k string) string { return ae.vars[k] }}
	code = run(ctx, e, append(base, serverArgs...))
	if ctx.Err() != nil {
		t.Fatal("the watch kept running with an unsafe sent/")
	}
	check("watch", out.String(), errb.String(), code)
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("something was moved through the link: %v", entries)
	}
}
