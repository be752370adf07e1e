package relay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securesend/securesend/relay/relaytest"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// startResendRelay is startRelay with a resend record at path on clk.
func startResendRelay(t *testing.T, path string, clk *clock) *testRelay {
	t.Helper()
	rs, err := OpenResends(path, ResendOptions{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	tr := startRelay(t, func(o *Options) { o.Resends = rs })
	t.Cleanup(func() { rs.Close() }) // after the relay stopped (cleanups run last first)
	return tr
}

// waitSubmissions waits until the recorder has n submissions.
func (tr *testRelay) waitSubmissions(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(tr.sub.submissions()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d submissions, want %d", len(tr.sub.submissions()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (tr *testRelay) kinds() []string {
	var k []string
	for _, ev := range tr.audit.all() {
		k = append(k, string(ev.Kind))
	}
	return k
}

// TestRelayResend: an MFD that dropped the connection after its final
// "." (it never saw the 250) sends the same scan again, with the same
// Message-ID, or without one within the window: it gets 250 naming the
// first job, nothing more is queued and the audit log says "duplicate".
// Other recipients, other documents, and the same scan after the window
// are new messages.
func TestRelayResend(t *testing.T) {
	scan := filepath.Join(testdataDir(t), "good_scan.pdf")
	other := filepath.Join(t.TempDir(), "other_scan.pdf")
	b, err := os.ReadFile(scan)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, append(b, []byte("\n% another page\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	send := func(t *testing.T, tr *testRelay, extra ...string) relaytest.Reply {
		return tr.mfd(t, devicePassword, append([]string{"--user", "frontdesk", "--to", "mainst@relay"}, extra...)...)
	}

	t.Run("same Message-ID", func(t *testing.T) {
		tr := startResendRelay(t, filepath.Join(t.TempDir(), "resends.jsonl"), newClock())
		if r := send(t, tr, "--message-id", "<scan-0001@mfd.example>", "--attach", scan, "--hang-up-after-data"); r.Stage != "hung-up" {
			t.Fatalf("first copy: %+v", r)
		}
		tr.waitSubmissions(t, 1)
		// The device scanned nothing new: the same message again is
		// recognised by its id (and documents; see
		// TestAttackResendSuppression for another document under it).
		r := send(t, tr, "--message-id", "<scan-0001@mfd.example>", "--attach", scan)
		if r.Stage != "sent" || r.Code != 250 || !strings.Contains(r.Message, "Already queued securely as job job0001") {
			t.Fatalf("resend: %+v", r)
		}
		if n := len(tr.sub.submissions()); n != 1 {
			t.Fatalf("%d jobs queued, want 1", n)
		}
		evs := tr.audit.all()
		if len(evs) != 2 || evs[0].Kind != AuditReceived || evs[1].Kind != AuditDuplicate {
			t.Fatalf("audit %v", tr.kinds())
		}
		if f := evs[1].Fields; f["job"] != "job0001" || f["actor"] != "frontdesk" || !strings.Contains(f["reason"], "the same Message-ID") || f["sha256"] == "" {
			t.Errorf("duplicate audit fields %v", f)
		}
		if !strings.Contains(tr.log.String(), "not queued again") {
			t.Errorf("log: %s", tr.log.String())
		}
	})

	t.Run("same documents, no Message-ID", func(t *testing.T) {
		clk := newClock()
		tr := startResendRelay(t, filepath.Join(t.TempDir(), "resends.jsonl"), clk)
		steps := []struct {
			name    string
			advance time.Duration
			args    []string
			wantJob string
			dup     bool
		}{
			{"first", 0, []string{"--attach", scan, "--hang-up-after-data"}, "job0001", false},
			{"again within the window", 9 * time.Minute, []string{"--attach", scan}, "job0001", true},
			{"to another recipient as well", 0, []string{"--attach", scan, "--to", "lab@results.example.nz"}, "job0002", false},
			{"another document", 0, []string{"--attach", other}, "job0003", false},
			{"after the window", 10 * time.Minute, []string{"--attach", scan}, "job0004", false},
		}
		for i, st := range steps {
			clk.add(st.advance)
			r := send(t, tr, st.args...)
			if st.name == "first" {
				tr.waitSubmissions(t, 1)
				continue
			}
			want := "Queued securely as job " + st.wantJob
			if st.dup {
				want = "Already queued securely as job " + st.wantJob
			}
			if r.Code != 250 || !strings.HasPrefix(strings.TrimPrefix(r.Message, "2.0.0 "), want) {
				t.Fatalf("step %d %s: %+v, want %q", i, st.name, r, want)
			}
		}
		if n := len(tr.sub.submissions()); n != 4 {
			t.Fatalf("%d jobs queued, want 4", n)
		}
	})

	t.Run("across a restart", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "resends.jsonl")
		clk := newClock()
		first := startResendRelay(t, path, clk)
		if r := send(t, first, "--message-id", "<scan-0002@mfd.example>", "--attach", scan); r.Code != 250 {
			t.Fatalf("first: %+v", r)
		}
		// The relay restarts (a new Resends over the same file); the
		// device, which missed the 250, sends again.
		second := startResendRelay(t, path, clk)
		r := send(t, second, "--message-id", "<scan-0002@mfd.example>", "--attach", scan)
		if r.Code != 250 || !strings.Contains(r.Message, "Already queued securely as job job0001") || len(second.sub.submissions()) != 0 {
			t.Fatalf("after restart: %+v, %d queued", r, len(second.sub.submissions()))
		}
	})
}

// finder is a JobFinder that answers job (or err) and records the call.
type finder struct {
	job   string
	err   error
	calls int
}

func (f *finder) FindJob(_ context.Context, to, sums []string, _ time.Time) (string, error) {
	f.calls++
	if len(to) != 1 || len(sums) != 1 {
		return "", fmt.Errorf("asked about %v %v", to, sums)
	}
	return f.job, f.err
}

// TestResendCrashBetweenQueueAndRecord: a relay that crashed after
// recording the message as pending leaves it pending; a resend asks the
// Submitter whether the job was queued: if it was, 250 with that job and
// nothing new; if not, the resend is queued (the first copy never
// reached the outbox, and the device never had its 250); if the
// Submitter cannot tell, the device is told to try again later.
func TestResendCrashBetweenQueueAndRecord(t *testing.T) {
	key := ResendKey{Device: "frontdesk", MessageID: "scan-3@mfd", To: []string{"Orders@Mainst.example.nz"}, SHA256: []string{strings.Repeat("ab", 32)}}
	tests := []struct {
		name     string
		find     *finder
		wantJob  string
		wantDup  bool
		wantErr  bool
		submitOK bool
	}{
		{"the job was queued", &finder{job: "job-crashed"}, "job-crashed", true, false, false},
		{"the job was not queued", &finder{}, "job-new", false, false, true},
		{"the outbox cannot tell", &finder{err: errors.New("outbox locked")}, "", false, true, false},
		{"no finder", nil, "job-new", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "resends.jsonl")
			clk := newClock()
			rs, err := OpenResends(path, ResendOptions{Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			crash := errors.New("crash")
			// The pending record is written; the process "dies" inside
			// Submit (its Forget record is never written: the file is
			// closed first).
			_, _, err = rs.submitOnce(context.Background(), key, nil, func() (string, error) { rs.Close(); return "", crash })
			if !errors.Is(err, crash) {
				t.Fatalf("first copy: %v", err)
			}
			rs, err = OpenResends(path, ResendOptions{Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			clk.add(time.Minute)
			submitted := false
			var f JobFinder
			if tt.find != nil {
				f = tt.find
			}
			job, earlier, err := rs.submitOnce(context.Background(), key, f, func() (string, error) { submitted = true; return "job-new", nil })
			if (err != nil) != tt.wantErr || job != tt.wantJob || (earlier != nil) != tt.wantDup || submitted != tt.submitOK {
				t.Fatalf("got job %q earlier %+v err %v submitted %v", job, earlier, err, submitted)
			}
			if tt.wantErr {
				return
			}
			// Settled either way: a third copy is a plain duplicate.
			job3, earlier3, err := rs.submitOnce(context.Background(), key, f, func() (string, error) { t.Fatal("queued a third time"); return "", nil })
			if err != nil || earlier3 == nil || job3 != tt.wantJob {
				t.Fatalf("third copy: %q %+v %v", job3, earlier3, err)
			}
		})
	}
}

// TestResendRecordBounded: the record keeps at most Max messages, and
// none older than Keep, across reopening; a torn last line (a crash while
// writing) is dropped, a damaged line before it is an error.
func TestResendRecordBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resends.jsonl")
	clk := newClock()
	opts := ResendOptions{Now: clk.now, Max: 5, Keep: time.Hour, Window: 10 * time.Minute}
	rs, err := OpenResends(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		k := ResendKey{Device: "d", MessageID: fmt.Sprintf("m%d", i), To: []string{"a@b.example"}, SHA256: []string{fmt.Sprintf("%064x", i)}}
		if _, _, err := rs.submitOnce(context.Background(), k, nil, func() (string, error) { return fmt.Sprintf("job%d", i), nil }); err != nil {
			t.Fatal(err)
		}
		clk.add(time.Second)
	}
	rs.Close()
	if lines := countLines(t, path); lines > 2*opts.Max+1 {
		t.Errorf("%d lines in the file, want at most %d", lines, 2*opts.Max+1)
	}
	rs, err = OpenResends(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.entries) != opts.Max || countLines(t, path) != opts.Max {
		t.Errorf("%d remembered, %d lines; want %d", len(rs.entries), countLines(t, path), opts.Max)
	}
	if e := rs.find(ResendKey{Device: "d", MessageID: "m39", To: []string{"a@b.example"}, SHA256: []string{fmt.Sprintf("%064x", 39)}}.normal()); e == nil || e.Job != "job39" {
		t.Errorf("the newest is forgotten: %+v", e)
	}
	if e := rs.find(ResendKey{Device: "d", MessageID: "m0", To: []string{"a@b.example"}, SHA256: []string{fmt.Sprintf("%064x", 0)}}.normal()); e != nil {
		t.Errorf("the oldest is remembered: %+v", e)
	}
	rs.Close()

	clk.add(2 * time.Hour)
	rs, err = OpenResends(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.entries) != 0 {
		t.Errorf("%d remembered after Keep", len(rs.entries))
	}
	rs.Close()

	good := `{"id":"a1","device":"d","message_id":"x","job":"j1","time":"` + clk.now().Format(time.RFC3339) + `"}` + "\n"
	if err := os.WriteFile(path, []byte(good+`{"id":"a2","dev`), 0o600); err != nil {
		t.Fatal(err)
	}
	rs, err = OpenResends(path, opts)
	if err != nil {
		t.Fatalf("a torn last line: %v", err)
	}
	if len(rs.entries) != 1 {
		t.Errorf("%d remembered, want 1", len(rs.entries))
	}
	rs.Close()
	if err := os.WriteFile(path, []byte(`{"id":"a2","dev`+"\n"+good), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenResends(path, opts); err == nil || !strings.Contains(err.Error(), "line 1 is damaged") {
		t.Errorf("a damaged first line: %v", err)
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}
