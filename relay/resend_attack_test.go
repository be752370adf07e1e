package relay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sum is a distinct fake SHA-256 for document n.
func sum(n int) string { return fmt.Sprintf("%064x", n) }

// TestAttackResendSuppression: nothing a device sends can make the relay
// swallow a scan that is not a copy of one it queued before: another
// device's scan with the same Message-ID and documents (cross-device), or
// a different document under a Message-ID the device used before (an MFD
// whose counter restarted, or a hostile one). Only the same documents to
// the same recipients from the same device are a resend.
func TestAttackResendSuppression(t *testing.T) {
	to := []string{"orders@mainst.example.nz"}
	first := ResendKey{Device: "frontdesk", MessageID: "<scan-1@mfd>", To: to, SHA256: []string{sum(1)}}
	for _, tc := range []struct {
		name    string
		advance time.Duration
		second  ResendKey
		dup     bool
	}{
		{"the same scan again", time.Minute, first, true},
		{"the same scan again, an hour later", time.Hour, first, true},
		{"the same documents, no Message-ID, within the window", time.Minute, ResendKey{Device: "frontdesk", To: to, SHA256: []string{sum(1)}}, true},
		{"another device, same Message-ID and documents", time.Minute, ResendKey{Device: "backoffice", MessageID: "<scan-1@mfd>", To: to, SHA256: []string{sum(1)}}, false},
		{"another device, same documents, no Message-ID", time.Minute, ResendKey{Device: "backoffice", To: to, SHA256: []string{sum(1)}}, false},
		{"same Message-ID, another document", time.Minute, ResendKey{Device: "frontdesk", MessageID: "<scan-1@mfd>", To: to, SHA256: []string{sum(2)}}, false},
		{"same Message-ID, another document, later", 3 * time.Hour, ResendKey{Device: "frontdesk", MessageID: "<scan-1@mfd>", To: to, SHA256: []string{sum(2)}}, false},
		{"same Message-ID, one more document", time.Minute, ResendKey{Device: "frontdesk", MessageID: "<scan-1@mfd>", To: to, SHA256: []string{sum(1), sum(2)}}, false},
		{"same Message-ID, another recipient", time.Minute, ResendKey{Device: "frontdesk", MessageID: "<scan-1@mfd>", To: []string{"lab@results.example.nz"}, SHA256: []string{sum(1)}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			rs, err := OpenResends(filepath.Join(t.TempDir(), "resends.jsonl"), ResendOptions{Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			if _, _, err := rs.submitOnce(context.Background(), first, nil, func() (string, error) { return "job1", nil }); err != nil {
				t.Fatal(err)
			}
			clk.add(tc.advance)
			queued := false
			job, earlier, err := rs.submitOnce(context.Background(), tc.second, nil, func() (string, error) { queued = true; return "job2", nil })
			if err != nil {
				t.Fatal(err)
			}
			if tc.dup && (queued || earlier == nil || job != "job1") {
				t.Errorf("a resend was queued again: job %q, earlier %+v", job, earlier)
			}
			if !tc.dup && (!queued || earlier != nil || job != "job2") {
				t.Errorf("a new scan was swallowed as a resend of %+v (job %q)", earlier, job)
			}
		})
	}
}

// TestAttackResendConcurrent: two connections from one device submit the
// same scan at the same moment: one job, and the other gets it as the
// earlier copy; from two devices, two jobs.
func TestAttackResendConcurrent(t *testing.T) {
	for _, devices := range [][2]string{{"frontdesk", "frontdesk"}, {"frontdesk", "backoffice"}} {
		t.Run(devices[0]+"+"+devices[1], func(t *testing.T) {
			rs, err := OpenResends(filepath.Join(t.TempDir(), "resends.jsonl"), ResendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			var queued atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			jobs := make([]string, 2)
			for i, d := range devices {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					k := ResendKey{Device: d, MessageID: "<scan-9@mfd>", To: []string{"orders@mainst.example.nz"}, SHA256: []string{sum(9)}}
					job, _, err := rs.submitOnce(context.Background(), k, nil, func() (string, error) {
						n := queued.Add(1)
						time.Sleep(50 * time.Millisecond) // the outbox at work
						return fmt.Sprintf("job%d", n), nil
					})
					if err != nil {
						t.Error(err)
					}
					jobs[i] = job
				}()
			}
			close(start)
			wg.Wait()
			want := int32(2)
			if devices[0] == devices[1] {
				want = 1
			}
			if got := queued.Load(); got != want {
				t.Errorf("%d jobs queued, want %d (jobs %v)", got, want, jobs)
			}
			if want == 1 && jobs[0] != jobs[1] {
				t.Errorf("the two connections were told different jobs: %v", jobs)
			}
		})
	}
}

// TestAttackResendRecordPlanted: a resend record that is not a regular
// file (a symlink planted to another file, or to a device that never
// ends) is refused with a clear error at start, never followed: its
// target is neither read nor overwritten. A record damaged in the middle
// is refused too (fail closed, with how to recover), and a torn last line
// is dropped.
func TestAttackResendRecordPlanted(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := `{"id":"a1","device":"d","message_id":"m","to":["a@b.example"],"sha256":["` + sum(1) + `"],"job":"job1","time":"` + time.Now().UTC().Format(time.RFC3339) + `"}` + "\n"
	for _, tc := range []struct {
		name    string
		plant   func(path string) error
		wantErr string
	}{
		{"symlink to a file", func(p string) error { return os.Symlink(victim, p) }, "not a regular file"},
		{"symlink to /dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }, "not a regular file"},
		{"a directory", func(p string) error { return os.Mkdir(p, 0o700) }, "not a regular file"},
		{"damaged line in the middle", func(p string) error { return os.WriteFile(p, []byte("{garbage\n"+good), 0o600) }, "line 1 is damaged; move it aside"},
		{"torn last line", func(p string) error { return os.WriteFile(p, []byte(good+`{"id":"a2","dev`), 0o600) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "resends.jsonl")
			if err := tc.plant(path); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				rs, err := OpenResends(path, ResendOptions{})
				if err == nil {
					rs.Close()
				}
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("OpenResends did not return: it is reading a file that never ends")
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("OpenResends: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("OpenResends = %v, want an error containing %q", err, tc.wantErr)
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious\n" {
				t.Errorf("the symlink's target was changed: %q", b)
			}
		})
	}
}
