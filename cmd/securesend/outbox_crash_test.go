//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

const envCLIChild = "SECURESEND_TEST_CLI_ARGS"

// TestOutboxCLIChild runs securesend with the JSON-encoded arguments in
// $SECURESEND_TEST_CLI_ARGS, as a separate process the parent can kill.
func TestOutboxCLIChild(t *testing.T) {
	raw := os.Getenv(envCLIChild)
	if raw == "" {
		t.Skip("child process of TestOutboxRunKilled only")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(run(context.Background(), e, args))
}

// TestOutboxRunKilled queues a message, starts 'securesend outbox run' as
// its own process and kills it with SIGKILL at a random moment, 20 times;
// after each kill a new 'outbox run' must leave the job sent exactly once,
// or possibly sent (never resent without 'outbox confirm'), never lost.
func TestOutboxRunKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	dir := filepath.Join(t.TempDir(), "home")
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: "pw"}, accounttest.Options{})
	runArgs := []string{"outbox", "run", "--server", srv.Addr, "--ca-file", pki.CAFile, "--user", "clinic", "--password-stdin"}
	e := &env{getenv: func(k string) string {
		if k == home.EnvVar {
			return dir
		}
		return ""
	}}
	seen := func(msgID string) int {
		n := 0
		for _, m := range srv.Messages() {
			if msg, err := mail.ReadMessage(bytes.NewReader(m)); err == nil && msg.Header.Get("Message-Id") == "<"+msgID+">" {
				n++
			}
		}
		return n
	}
	doc := filepath.Join(t.TempDir(), "scan.pdf")
	os.WriteFile(doc, append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("scan data "), 40_000)...), 0o600)

	outcomes := map[string]int{}
	for i := range 20 {
		m := &send.Message{
			From: mail.Address{Address: "clinic@example.org"}, To: []mail.Address{{Address: "pharmacy@example.org"}},
			Subject: fmt.Sprint("script ", i), Documents: []send.Document{{Path: doc}},
		}
		ob, id, err := outboxEnqueue(t.Context(), e, m, "", send.Compose, outbox.Options{})
		if err != nil {
			t.Fatal(err)
		}
		argsJSON, _ := json.Marshal(runArgs)
		cmd := exec.Command(os.Args[0], "-test.run=^TestOutboxCLIChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envCLIChild+"="+string(argsJSON), home.EnvVar+"="+dir)
		cmd.Stdin = strings.NewReader("pw\n")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rand.IntN(250)) * time.Millisecond
		time.AfterFunc(delay, func() { cmd.Process.Kill() })
		cmd.Wait()
		serverIdle(t, srv)

		// The restart.
		code, out, errOut := homeCLI(t, dir, "pw\n", runArgs...)
		rec, err := ob.Get(id)
		if err != nil {
			t.Fatalf("iteration %d: the job is lost: %v", i, err)
		}
		n := seen(rec.MessageID)
		switch {
		case rec.State == outbox.Sent && n == 1 && code == 0:
			outcomes["sent once"]++
		case rec.State == outbox.PossiblySent && n <= 1:
			outcomes[fmt.Sprintf("possibly sent (server had it %d times)", n)]++
			if c, _, _ := homeCLI(t, dir, "pw\n", runArgs...); c != 0 || seen(rec.MessageID) != n {
				t.Fatalf("iteration %d: a possibly-sent job was resent without confirmation", i)
			}
			if c, out, errOut := homeCLI(t, dir, "", "outbox", "confirm", id); c != 0 {
				t.Fatalf("confirm: %s%s", out, errOut)
			}
			if c, out, errOut := homeCLI(t, dir, "pw\n", runArgs...); c != 0 || seen(rec.MessageID) != n+1 {
				t.Fatalf("iteration %d: confirmed resend: exit %d, seen %d\n%s%s", i, c, seen(rec.MessageID), out, errOut)
			}
		default:
			t.Fatalf("iteration %d (killed after %v): state %s, server has it %d times, restart exit %d\n%s%s", i, delay, rec.State, n, code, out, errOut)
		}
	}
	if code, out, errOut := homeCLI(t, dir, "", "audit", "verify"); code != 0 {
		t.Fatalf("audit verify after 20 kills: %s%s", out, errOut)
	}
	t.Logf("outcomes: %v", outcomes)
}

// TestSendKilled kills 'securesend send' itself at 20 random moments, then
// runs 'securesend outbox run': every message the server has must belong
// to a job in the outbox; every job ends sent exactly once or possibly
// sent (resent only after 'outbox confirm'); none is lost once queued.
// 'securesend send' writes every message to the outbox before it connects.
func TestSendKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	dir := filepath.Join(t.TempDir(), "home")
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: "pw"}, accounttest.Options{})
	server := []string{"--server", srv.Addr, "--ca-file", pki.CAFile, "--user", "clinic", "--password-stdin"}
	doc := filepath.Join(t.TempDir(), "scan.pdf")
	os.WriteFile(doc, append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("scan data "), 40_000)...), 0o600)

	for i := range 20 {
		args := append([]string{"send", "--from", "clinic@example.org", "--to", "pharmacy@example.org", "--subject", fmt.Sprint("script ", i)}, server...)
		argsJSON, _ := json.Marshal(append(args, doc))
		cmd := exec.Command(os.Args[0], "-test.run=^TestOutboxCLIChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envCLIChild+"="+string(argsJSON), home.EnvVar+"="+dir)
		cmd.Stdin = strings.NewReader("pw\n")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.AfterFunc(time.Duration(rand.IntN(300))*time.Millisecond, func() { cmd.Process.Kill() })
		cmd.Wait()
		serverIdle(t, srv)
		homeCLI(t, dir, "pw\n", append([]string{"outbox", "run"}, server...)...)
	}
	serverIdle(t, srv)
	// Every job: sent once, or possibly sent and then confirmed.
	code, out, errOut := homeCLI(t, dir, "", "outbox", "list", "--json")
	if code != 0 {
		t.Fatalf("list: %s%s", out, errOut)
	}
	var recs []outbox.Record
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range srv.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m))
		if err != nil {
			t.Fatal(err)
		}
		count[strings.Trim(msg.Header.Get("Message-Id"), "<>")]++
	}
	jobs := map[string]bool{}
	outcomes := map[outbox.State]int{}
	for _, r := range recs {
		jobs[r.MessageID] = true
		outcomes[r.State]++
		switch {
		case r.State == outbox.Sent && count[r.MessageID] == 1:
		case r.State == outbox.PossiblySent && count[r.MessageID] <= 1:
		default:
			t.Errorf("job %s: %s, server has it %d times", r.ID, r.State, count[r.MessageID])
		}
	}
	for id := range count {
		if !jobs[id] {
			t.Errorf("the server has message %s, which is in no outbox job: it was sent before it was queued", id)
		}
	}
	t.Logf("%d jobs: %v", len(recs), outcomes)
}

// serverIdle waits until srv has finished every session, so that what a
// killed child wrote before it died (its final "." included, which the
// server may still be reading under load) is counted in srv.Messages
// before the test compares, not after.
func serverIdle(t *testing.T, srv *accounttest.SMTPServer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := srv.Idle(ctx); err != nil {
		t.Fatal(err)
	}
}
