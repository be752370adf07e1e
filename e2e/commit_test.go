package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/internal/mailserver"
	"github.com/securesend/securesend/send/outbox"
)

// envLong asks for the full measurement of issue 16 point 5 (twelve kills
// across a 40 MB send, two runs); envCommitBinary measures another build
// of securesend (e.g. main's) instead of this tree's.
const (
	envLong         = "SECURESEND_LONG"
	envCommitBinary = "SECURESEND_COMMIT_BINARY"
)

// TestKilledSendsAreRetried kills 'securesend send' with SIGKILL at a few
// moments spread across one send through the real Postfix, restarts
// ('outbox list', then 'outbox run'), and checks that no queued job is
// lost, none reaches the mailbox twice, and only a job killed after its
// commit point (recorded before the kill) is left possibly sent: one
// killed before it is retried by itself (measureKills checks each job).
//
// How many kills land in the commit window is not checked: the window
// ends with Postfix's and the outbox's fsyncs, which a loaded machine
// stretches (CI once saw 2 of 4 kills there); that the commit point comes
// only after every byte reached the server is send.TestSubmitCommitPoint's
// job, byte for byte.
func TestKilledSendsAreRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	measureKills(t, 4<<20, 4, 1)
}

// TestKillMeasurement is the measurement of issue 16 point 5: twelve kills
// spread evenly across a 40 MB send, two runs. Set SECURESEND_LONG=1 to
// run it (and SECURESEND_COMMIT_BINARY to measure another build).
func TestKillMeasurement(t *testing.T) {
	if os.Getenv(envLong) == "" {
		t.Skip("set " + envLong + "=1 to run the 40 MB kill measurement")
	}
	measureKills(t, 40<<20, 12, 2)
}

// killCounts is what one measurement saw.
type killCounts struct {
	kills, queued, possiblySent, requeued, sent int
}

// measureKills sends a document of size bytes once to time the send,
// then, in each of runs runs, kills a send at kills moments spread evenly
// across that time, and checks the outcome in the outbox and in the
// Dovecot mailbox.
func measureKills(t *testing.T, size, kills, runs int) killCounts {
	bin := binaryFor()
	srv := mailserver.StartT(t, mailserver.Options{})
	doctor, pharmacy := srv.Users[0], srv.Users[1]
	doc := filepath.Join(t.TempDir(), "scan.pdf")
	data := make([]byte, size)
	rand.Read(data)
	copy(data, "%PDF-1.7\n")
	if err := os.WriteFile(doc, data, 0o600); err != nil {
		t.Fatal(err)
	}
	server := []string{"--server", mailserver.Addr(srv.Submission), "--security", "starttls",
		"--ca-file", srv.CAFile, "--user", doctor, "--password-stdin", "--timeout", "2m"}
	// run runs securesend; with kill > 0 it kills it then and returns the
	// moment the kill was done (zero when it had finished before).
	run := func(home string, kill time.Duration, args ...string) (time.Duration, time.Time, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "SECURESEND_HOME="+home)
		cmd.Stdin = strings.NewReader(srv.Password + "\n")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killed := make(chan time.Time, 1)
		if kill > 0 {
			timer := time.AfterFunc(kill, func() {
				if cmd.Process.Kill() == nil { // SIGKILL
					killed <- time.Now()
				}
			})
			defer timer.Stop()
		}
		err := cmd.Wait()
		if err != nil && kill == 0 {
			t.Fatalf("securesend %v: %v\n%s", args, err, out.String())
		}
		var at time.Time
		if err != nil {
			select {
			case at = <-killed:
			default:
			}
		}
		return time.Since(start), at, err
	}
	sendArgs := func(subject string) []string {
		return append(append([]string{"send", "--from", doctor, "--to", pharmacy, "--subject", subject}, server...), doc)
	}

	// The time of one whole send, from start to exit, in a home that
	// already has its keys and outbox (the first send also sets those up).
	calib := t.TempDir()
	run(calib, 0, sendArgs("calibration 1")...)
	full, _, _ := run(calib, 0, sendArgs("calibration 2")...)
	t.Logf("one send of a %d MB document takes %v", size>>20, full.Round(time.Millisecond))

	var total killCounts
	want := map[string]int{} // Message-ID: copies expected in the mailbox (-1: 0 or 1)
	for _, j := range listJobs(t, calib) {
		want[j.MessageID] = 1 // the calibration send
	}
	for r := range runs {
		home := t.TempDir()
		var c killCounts
		killedAt := map[string]time.Time{} // subject: when its send was killed
		for i := range kills {
			at := full * time.Duration(2*i+1) / time.Duration(2*kills)
			subject := fmt.Sprintf("run %d kill %d", r, i)
			_, when, err := run(home, at, sendArgs(subject)...)
			if err == nil {
				t.Logf("kill %d at %v: the send had finished", i, at)
			}
			killedAt[subject] = when
			c.kills++
		}
		// The restart: what the outbox says, then a run delivers.
		before := listJobs(t, home)
		for _, j := range before {
			c.queued++
			switch j.State {
			case outbox.PossiblySent:
				c.possiblySent++
				// Undecided only when it died after its commit point.
				if k := killedAt[j.Subject]; !j.TracksCommit || j.Committed.IsZero() || k.IsZero() || j.Committed.After(k) {
					t.Errorf("job %s (%s) is possibly sent, but its commit point %v was not recorded before the kill at %v",
						j.ID, j.Subject, j.Committed, k)
				}
			case outbox.Queued:
				c.requeued++
				if !j.Committed.IsZero() {
					t.Errorf("job %s (%s) passed its commit point at %v, yet it is queued to be sent again", j.ID, j.Subject, j.Committed)
				}
			case outbox.Sent:
				c.sent++
			default:
				t.Errorf("job %s after the restart: %s (%s)", j.ID, j.State, j.LastError)
			}
		}
		run(home, 0, append([]string{"outbox", "run"}, server...)...)
		for _, j := range listJobs(t, home) {
			switch j.State {
			case outbox.Sent:
				want[j.MessageID] = 1
			case outbox.PossiblySent:
				want[j.MessageID] = -1
			default:
				t.Errorf("job %s after 'outbox run': %s (%s)", j.ID, j.State, j.LastError)
			}
		}
		t.Logf("run %d: %d kills; %d jobs queued; after the restart %d possibly sent, %d queued again, %d sent", r+1, c.kills, c.queued, c.possiblySent, c.requeued, c.sent)
		total.kills += c.kills
		total.queued += c.queued
		total.possiblySent += c.possiblySent
		total.requeued += c.requeued
		total.sent += c.sent
	}

	// The mailbox: every sent job once, a possibly sent one at most once,
	// nothing that is no job's.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := srv.WaitQueueEmpty(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, id := range mailboxIDs(t, srv, pharmacy) {
		got[id]++
	}
	for id, n := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("the mailbox has %d copies of %s, which is no job's", n, id)
		}
	}
	for id, w := range want {
		if (w == 1 && got[id] != 1) || (w == -1 && got[id] > 1) {
			t.Errorf("the mailbox has %d copies of %s, want %d (-1: at most one)", got[id], id, w)
		}
	}
	t.Logf("total: %+v", total)
	return total
}

// listJobs runs 'outbox list --json' in home.
func listJobs(t *testing.T, home string) []outbox.Record {
	t.Helper()
	out := filepath.Join(t.TempDir(), "list.json")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(binaryFor(), "outbox", "list", "--json")
	cmd.Env = append(os.Environ(), "SECURESEND_HOME="+home)
	cmd.Stdout = f
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if _, statErr := os.Stat(filepath.Join(home, "outbox")); os.IsNotExist(statErr) {
			return nil // killed before anything was queued
		}
		t.Fatalf("outbox list: %v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var recs []outbox.Record
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatalf("outbox list --json: %v\n%s", err, b)
	}
	return recs
}

func binaryFor() string {
	if b := os.Getenv(envCommitBinary); b != "" {
		return b
	}
	return binary
}

// mailboxIDs returns the Message-ID of every message in addr's Dovecot
// Maildir (read from the files, header only).
func mailboxIDs(t *testing.T, srv *mailserver.Server, addr string) []string {
	t.Helper()
	var ids []string
	for _, sub := range []string{"new", "cur"} {
		dir := filepath.Join(srv.Dir, "mail", addr, "Maildir", sub)
		ents, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			f, err := os.Open(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			h, err := textproto.NewReader(bufio.NewReader(f)).ReadMIMEHeader()
			f.Close()
			if err != nil {
				t.Fatalf("%s: %v", e.Name(), err)
			}
			ids = append(ids, strings.Trim(h.Get("Message-Id"), "<> "))
		}
	}
	return ids
}
