//go:build unix

package outbox_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// The crash tests run this test binary again as a child that enqueues and
// delivers one message and is killed with SIGKILL at a chosen point (by
// itself, through the outbox's hooks) or at a random moment (by the
// parent). The parent then "restarts": it opens the same outbox and checks
// that the job is neither lost nor silently sent twice.
const (
	envMode    = "OUTBOX_CRASH_MODE"
	envDir     = "OUTBOX_CRASH_DIR"
	envService = "OUTBOX_CRASH_SERVICE"
	envAudit   = "OUTBOX_CRASH_AUDIT"
	envServer  = "OUTBOX_CRASH_SERVER"
	envCA      = "OUTBOX_CRASH_CA"
	envDoc     = "OUTBOX_CRASH_DOC"
	envUser    = "OUTBOX_CRASH_USER" // the password comes on stdin
	envTo      = "OUTBOX_CRASH_TO"
	envFrom    = "OUTBOX_CRASH_FROM"
)

// target is where the child delivers.
type target struct {
	addr     string
	caPEM    []byte
	user     string
	password string
	from, to string
}

func (f *fixture) target() target {
	return target{addr: f.srv.addr, caPEM: f.srv.ca.PEM, from: testFrom, to: testTo}
}

// crashChild is the child side.
func TestCrashChild(t *testing.T) {
	mode := os.Getenv(envMode)
	if mode == "" {
		t.Skip("child process of the crash tests only")
	}
	kill := func() {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	must := func(err error) {
		if err != nil {
			fmt.Println("child error:", err)
			os.Exit(3)
		}
	}
	kc := keychain.New(os.Getenv(envService))
	key, err := kc.Key("outbox")
	must(err)
	log, err := audit.Open(os.Getenv(envAudit), kc, audit.Options{})
	must(err)
	opts := outbox.Options{Audit: log}
	switch mode {
	case "after-submit", "unaware-after-submit":
		opts.AfterSubmit = func(string, error) { kill() }
	case "after-record":
		opts.Notify = func(r outbox.Record) {
			if r.State == outbox.Sent {
				kill()
			}
		}
	}
	ob, err := outbox.Open(os.Getenv(envDir), key, opts)
	must(err)
	pem, err := os.ReadFile(os.Getenv(envCA))
	must(err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	sopts := send.Options{Server: os.Getenv(envServer), RootCAs: pool, Timeout: 30 * time.Second}
	if user := os.Getenv(envUser); user != "" {
		pw, err := bufio.NewReader(os.Stdin).ReadString('\n')
		must(err)
		sopts.Auth = send.PasswordAuth(user, strings.TrimSpace(pw))
	}
	submit := func(ctx context.Context, env send.Envelope, body io.Reader) (*send.Result, error) {
		o := sopts
		// The "unaware" modes submit without taking the commit point,
		// as a SubmitFunc written before it would.
		if !strings.HasPrefix(mode, "unaware") {
			o.BeforeCommit = outbox.BeforeCommit(ctx)
		}
		switch mode {
		case "during-data", "unaware-during-data":
			body = &killingReader{r: body, after: 20_000, kill: kill}
		case "before-commit":
			o.BeforeCommit = func() error { kill(); return nil }
		case "at-commit":
			commit := o.BeforeCommit
			o.BeforeCommit = func() error {
				if err := commit(); err != nil {
					return err
				}
				kill()
				return nil
			}
		}
		return send.Submit(ctx, o, env, body)
	}
	fmt.Println("ready")

	msgID, err := send.NewMessageID("clinic.example")
	must(err)
	m := &send.Message{
		From: mail.Address{Address: os.Getenv(envFrom)}, To: []mail.Address{{Address: os.Getenv(envTo)}},
		Subject: testSubject, Note: testNote, MessageID: msgID,
		Documents: []send.Document{{Path: os.Getenv(envDoc), ContentType: "application/pdf"}},
	}
	id, err := ob.Enqueue(context.Background(), jobOf(m), composer(m))
	must(err)
	fmt.Println("enqueued", id)
	if mode == "after-enqueue" {
		kill()
	}
	_, err = ob.Deliver(context.Background(), id, submit)
	must(err)
	fmt.Println("done")
}

type killingReader struct {
	r     io.Reader
	after int
	kill  func()
}

func (k *killingReader) Read(p []byte) (int, error) {
	if k.after <= 0 {
		k.kill()
	}
	n, err := k.r.Read(p)
	k.after -= n
	return n, err
}

// crashRun is one child run.
type crashRun struct {
	f        *fixture
	dir      string
	enqueued bool
	done     bool
}

// runChild starts the child in mode on outbox dir; with killAfter >= 0 the
// parent kills it that long after it is ready. It waits for the child.
func runChild(t *testing.T, f *fixture, tg target, mode, dir string, killAfter time.Duration) crashRun {
	t.Helper()
	caFile := filepath.Join(f.docs, "ca.pem")
	if err := os.WriteFile(caFile, tg.caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(f.docs, "scan.pdf")
	if _, err := os.Stat(doc); err != nil {
		b := make([]byte, 300_000)
		copy(b, "%PDF-1.4\n")
		if err := os.WriteFile(doc, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		envMode+"="+mode, envDir+"="+dir, envService+"="+f.kc.Service(),
		envAudit+"="+f.log.Path(), envServer+"="+tg.addr, envCA+"="+caFile, envDoc+"="+doc,
		envUser+"="+tg.user, envFrom+"="+tg.from, envTo+"="+tg.to)
	cmd.Stdin = strings.NewReader(tg.password + "\n")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	run := crashRun{f: f, dir: dir}
	sc := bufio.NewScanner(out)
	var lines []string
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		switch {
		case line == "ready" && killAfter >= 0:
			go func() {
				time.Sleep(killAfter)
				cmd.Process.Kill()
			}()
		case strings.HasPrefix(line, "enqueued "):
			run.enqueued = true
		case line == "done":
			run.done = true
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	killed := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled()
	if !killed && !run.done {
		t.Fatalf("child %s: %v\n%s", mode, err, strings.Join(lines, "\n"))
	}
	return run
}

// TestCrashAtEachPoint kills the child at each interesting point. Killed
// before the commit point (the end of data never went out), a job is
// queued again at the restart and sent by the next run, once; killed after
// it, it is possibly sent and resent only when confirmed. A SubmitFunc
// that does not take the commit point ("unaware") gets the end of the
// body as its commit point.
func TestCrashAtEachPoint(t *testing.T) {
	tests := []struct {
		mode string
		// after the restart, before RunDue
		wantState outbox.State
		wantSeen  int // messages the server accepted before the restart
	}{
		{"after-enqueue", outbox.Queued, 0},
		{"during-data", outbox.Queued, 0},
		{"before-commit", outbox.Queued, 0},
		{"at-commit", outbox.PossiblySent, 0},
		{"after-submit", outbox.PossiblySent, 1},
		{"after-record", outbox.Sent, 1},
		{"unaware-during-data", outbox.Queued, 0},
		{"unaware-after-submit", outbox.PossiblySent, 1},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			f := newFixture(t, outbox.Options{})
			run := runChild(t, f, f.target(), tt.mode, f.dir, -1)
			if !run.enqueued || run.done {
				t.Fatalf("child did not stop where expected (enqueued %v, done %v)", run.enqueued, run.done)
			}
			// The restart.
			f.clock.Set(time.Now())
			ob := f.open(outbox.Options{})
			recs, err := ob.List()
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 {
				t.Fatalf("%d jobs after the crash, want 1", len(recs))
			}
			rec := recs[0]
			if rec.State != tt.wantState || len(f.srv.messages()) != tt.wantSeen {
				t.Fatalf("after restart: state %s, server has %d; want %s, %d", rec.State, len(f.srv.messages()), tt.wantState, tt.wantSeen)
			}
			if _, err := ob.RunDue(t.Context(), f.srv.submit); err != nil {
				t.Fatal(err)
			}
			rec, _ = ob.Get(rec.ID)
			if tt.wantState == outbox.PossiblySent {
				if rec.State != outbox.PossiblySent || len(f.srv.messages()) != tt.wantSeen {
					t.Fatalf("possibly-sent job was resent without confirmation (%s, %d)", rec.State, len(f.srv.messages()))
				}
				if _, err := ob.ConfirmResend(rec.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := ob.RunDue(t.Context(), f.srv.submit); err != nil {
					t.Fatal(err)
				}
				rec, _ = ob.Get(rec.ID)
			}
			if rec.State != outbox.Sent {
				t.Fatalf("final state %s (%s)", rec.State, rec.LastError)
			}
			msgs := f.srv.messages()
			want := max(tt.wantSeen, 1)
			if tt.wantState == outbox.PossiblySent && tt.wantSeen == 1 {
				want = 2 // the confirmed resend
			}
			if tt.wantState == outbox.Queued {
				// The restart requeued it, and says why in the audit log.
				kinds := f.auditKinds()
				if tt.mode != "after-enqueue" && (rec.Attempts != 2 || !slices.Contains(kinds, audit.SendInterrupted) || slices.Contains(kinds, audit.SendPossiblySent)) {
					t.Errorf("%d attempts, audit %v; want 2 attempts (the interrupted one and the retry), %s and no %s", rec.Attempts, kinds, audit.SendInterrupted, audit.SendPossiblySent)
				}
			}
			if len(msgs) != want {
				t.Fatalf("server got %d messages, want %d", len(msgs), want)
			}
			for _, id := range f.srv.messageIDs() {
				if id != "<"+rec.MessageID+">" {
					t.Fatalf("Message-ID %s, want %s (must be reused)", id, rec.MessageID)
				}
			}
			if len(msgs) == 2 && string(msgs[0]) != string(msgs[1]) {
				t.Fatal("the resend differs from the first transmission")
			}
			if _, err := f.log.Verify(); err != nil {
				t.Fatalf("audit: %v", err)
			}
		})
	}
}

// TestCrashRandom kills the child at a random moment, 20 times, and checks
// after each restart: no job enqueued is lost, and none is delivered twice
// without the user's confirmation.
func TestCrashRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	f := newFixture(t, outbox.Options{})
	outcomes := map[string]int{}
	for i := range 20 {
		dir := filepath.Join(t.TempDir(), fmt.Sprint("outbox", i))
		delay := time.Duration(rand.IntN(120)) * time.Millisecond
		before := len(f.srv.messages())
		run := runChild(t, f, f.target(), "random", dir, delay)
		if _, err := os.Stat(dir); err != nil {
			outcomes["killed before the outbox existed"]++
			continue
		}
		ob, err := outbox.Open(dir, f.key, outbox.Options{Audit: f.log})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := ob.List()
		if err != nil {
			t.Fatal(err)
		}
		if run.enqueued && len(recs) != 1 || len(recs) > 1 {
			t.Fatalf("iteration %d (kill after %v): %d jobs, enqueued %v", i, delay, len(recs), run.enqueued)
		}
		if len(recs) == 0 {
			outcomes["killed before the job was durable"]++
			continue
		}
		seen := func() int {
			n := 0
			for _, id := range f.srv.messageIDs()[before:] {
				if id == "<"+recs[0].MessageID+">" {
					n++
				}
			}
			return n
		}
		restart := recs[0].State
		if _, err := ob.RunDue(t.Context(), f.srv.submit); err != nil {
			t.Fatal(err)
		}
		rec, err := ob.Get(recs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case rec.State == outbox.Sent && seen() == 1:
			outcomes[fmt.Sprintf("%s at restart, sent once", restart)]++
		case rec.State == outbox.PossiblySent && seen() <= 1:
			outcomes[fmt.Sprintf("possibly sent, server had it %d times", seen())]++
			n := seen()
			if _, err := ob.ConfirmResend(rec.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := ob.RunDue(t.Context(), f.srv.submit); err != nil {
				t.Fatal(err)
			}
			if rec, _ = ob.Get(rec.ID); rec.State != outbox.Sent || seen() != n+1 {
				t.Fatalf("iteration %d: confirmed resend: %s, seen %d", i, rec.State, seen())
			}
		default:
			t.Fatalf("iteration %d (kill after %v): state %s, server has it %d times", i, delay, rec.State, seen())
		}
		if _, err := f.log.Verify(); err != nil {
			t.Fatalf("iteration %d: audit: %v", i, err)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}
