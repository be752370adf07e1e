package outbox_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

func TestDeliverSent(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	m, doc := f.message(50_000)
	id := f.enqueue(m)

	rec := f.get(id)
	if rec.State != outbox.Queued || rec.MessageID != m.MessageID || len(rec.Documents) != 1 || rec.Size == 0 {
		t.Fatalf("queued record = %+v", rec)
	}
	if len(f.srv.messages()) != 0 {
		t.Fatal("Enqueue talked to the server")
	}

	rec, err := f.ob.Deliver(t.Context(), id, f.srv.submit)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != outbox.Sent || rec.Attempts != 1 || rec.Result == nil {
		t.Fatalf("record = %+v", rec)
	}
	sum := sha256.Sum256(doc)
	if d := rec.Result.Documents; len(d) != 1 || d[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("result documents = %+v", d)
	}
	if rec.Result.MessageID != m.MessageID || rec.Result.TLS.Version == "" || rec.Result.Reply.Code != 250 {
		t.Fatalf("result = %+v", rec.Result)
	}
	if got := f.srv.messageIDs(); !slices.Equal(got, []string{"<" + m.MessageID + ">"}) {
		t.Fatalf("server got %q", got)
	}
	// Stored bytes are what went out.
	r, err := f.ob.OpenMessage(id)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(stored, f.srv.messages()[0]) {
		t.Fatalf("stored message differs from the delivered one (%v)", err)
	}
	want := []audit.Kind{audit.SendQueued, audit.SendAttempt, audit.SendSent}
	if got := f.auditKinds(); !slices.Equal(got, want) {
		t.Fatalf("audit = %v, want %v", got, want)
	}
	// Delivering again is refused.
	if _, err := f.ob.Deliver(t.Context(), id, f.srv.submit); !errors.Is(err, outbox.ErrState) {
		t.Fatalf("second Deliver: %v, want ErrState", err)
	}
	if len(f.runDue()) != 0 || len(f.srv.messages()) != 1 {
		t.Fatal("RunDue touched a sent job")
	}
}

// TestNoPlaintextOnDisk: nothing about the patient, the recipient or the
// document is visible in the outbox directory, in contents or names.
func TestNoPlaintextOnDisk(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	m, doc := f.message(20_000)
	id := f.enqueue(m)
	f.enqueue(func() *send.Message { m2, _ := f.message(1000); return m2 }())
	if _, err := f.ob.Deliver(t.Context(), id, f.srv.submit); err != nil {
		t.Fatal(err)
	}
	needles := map[string][]byte{
		"subject":        []byte(testSubject),
		"subject word":   []byte("Jane Doe"),
		"note":           []byte(testNote),
		"recipient":      []byte(testTo),
		"sender":         []byte(testFrom),
		"document name":  []byte(testDocName),
		"document bytes": doc[100:164],
		"document b64":   []byte(base64.StdEncoding.EncodeToString(doc[300:348])),
		"message-id":     []byte(m.MessageID),
	}
	names := regexp.MustCompile(`^([0-9a-f]{32}\.(msg|job)|key-check|\.lock)$`)
	files := 0
	err := filepath.WalkDir(f.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		if !names.MatchString(d.Name()) {
			t.Errorf("unexpected file name %q", d.Name())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for what, n := range needles {
			if bytes.Contains(b, n) || strings.Contains(d.Name(), string(n)) {
				t.Errorf("%s found in clear in %s", what, d.Name())
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != 6 { // 2×(msg+job), key-check, .lock
		t.Errorf("found %d files, want 6", files)
	}
	if fi, err := os.Stat(f.dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("outbox dir mode: %v %v", fi.Mode(), err)
	}
}

func TestTemporaryThenDelivered(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	f.srv.setScript(temp)
	m, _ := f.message(5000)
	id := f.enqueue(m)

	recs := f.runDue()
	if len(recs) != 1 || recs[0].State != outbox.Deferred {
		t.Fatalf("after 451: %+v", recs)
	}
	rec := recs[0]
	if !strings.Contains(rec.LastError, "451") || !rec.NextAttempt.Equal(f.clock.Now().Add(outbox.DefaultInitialBackoff)) {
		t.Fatalf("deferred record = %+v", rec)
	}
	// Not due yet: nothing happens.
	f.clock.Advance(outbox.DefaultInitialBackoff - time.Second)
	if recs := f.runDue(); len(recs) != 0 {
		t.Fatalf("RunDue before the backoff: %+v", recs)
	}
	f.clock.Advance(time.Second)
	recs = f.runDue()
	if len(recs) != 1 || recs[0].State != outbox.Sent || recs[0].Attempts != 2 {
		t.Fatalf("after backoff: %+v", recs)
	}
	if got := f.srv.messageIDs(); len(got) != 1 || got[0] != "<"+m.MessageID+">" {
		t.Fatalf("server got %q", got)
	}
	if f.get(id).State != outbox.Sent {
		t.Fatal("state not stored")
	}
	want := []audit.Kind{audit.SendQueued, audit.SendAttempt, audit.SendDeferred, audit.SendAttempt, audit.SendSent}
	if got := f.auditKinds(); !slices.Equal(got, want) {
		t.Fatalf("audit = %v, want %v", got, want)
	}
}

func TestBackoffSchedule(t *testing.T) {
	f := newFixture(t, outbox.Options{Backoff: outbox.Backoff{Initial: time.Minute, Max: 10 * time.Minute}, MaxAge: 48 * time.Hour})
	f.srv.setScript(temp, tempRcpt, temp, temp, temp, temp)
	m, _ := f.message(1000)
	id := f.enqueue(m)
	for i, want := range []time.Duration{1, 2, 4, 8, 10, 10} {
		recs := f.runDue()
		if len(recs) != 1 || recs[0].State != outbox.Deferred {
			t.Fatalf("attempt %d: %+v", i+1, recs)
		}
		if got := recs[0].NextAttempt.Sub(f.clock.Now()); got != want*time.Minute {
			t.Fatalf("attempt %d: next in %v, want %v", i+1, got, want*time.Minute)
		}
		f.clock.Set(recs[0].NextAttempt)
	}
	recs := f.runDue()
	if len(recs) != 1 || recs[0].State != outbox.Sent || recs[0].Attempts != 7 {
		t.Fatalf("final: %+v", recs)
	}
	if f.get(id).State != outbox.Sent {
		t.Fatal("not stored as sent")
	}
}

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		b       outbox.Backoff
		attempt int
		want    time.Duration
	}{
		{outbox.Backoff{}, 1, time.Minute},
		{outbox.Backoff{}, 2, 2 * time.Minute},
		{outbox.Backoff{}, 5, 16 * time.Minute},
		{outbox.Backoff{}, 6, 30 * time.Minute},
		{outbox.Backoff{}, 1000, 30 * time.Minute},
		{outbox.Backoff{Initial: 10 * time.Second, Max: time.Minute}, 3, 40 * time.Second},
		{outbox.Backoff{Initial: 10 * time.Second, Max: time.Minute}, 4, time.Minute},
	}
	for _, tt := range tests {
		if got := tt.b.Delay(tt.attempt); got != tt.want {
			t.Errorf("%+v.Delay(%d) = %v, want %v", tt.b, tt.attempt, got, tt.want)
		}
	}
}

func TestMaxAge(t *testing.T) {
	f := newFixture(t, outbox.Options{MaxAge: time.Hour})
	f.srv.setScript(slices.Repeat([]reply{temp}, 100)...)
	m, _ := f.message(1000)
	id := f.enqueue(m)
	start := f.clock.Now()
	var rec *outbox.Record
	for i := 0; ; i++ {
		if i > 50 {
			t.Fatal("never failed")
		}
		recs := f.runDue()
		if len(recs) != 1 {
			t.Fatalf("round %d: %+v", i, recs)
		}
		rec = recs[0]
		if rec.State == outbox.Failed {
			break
		}
		if rec.State != outbox.Deferred || rec.NextAttempt.After(start.Add(time.Hour)) {
			t.Fatalf("round %d: %+v", i, rec)
		}
		f.clock.Set(rec.NextAttempt)
	}
	if !f.clock.Now().Equal(start.Add(time.Hour)) {
		t.Errorf("failed at %v, want at the deadline %v", f.clock.Now(), start.Add(time.Hour))
	}
	if !strings.Contains(rec.LastError, "not delivered within 1h0m0s") || !strings.Contains(rec.LastError, "451") {
		t.Errorf("reason = %q", rec.LastError)
	}
	if got := f.auditKinds(); got[len(got)-1] != audit.SendFailed {
		t.Errorf("last audit event %v", got[len(got)-1])
	}
	// Retry restarts the window and delivers.
	f.srv.setScript()
	if _, err := f.ob.Retry(id); err != nil {
		t.Fatal(err)
	}
	if recs := f.runDue(); len(recs) != 1 || recs[0].State != outbox.Sent {
		t.Fatalf("after retry: %+v", recs)
	}
}

func TestPermanentFailure(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	f.srv.setScript(perm)
	m, _ := f.message(1000)
	id := f.enqueue(m)
	rec, err := f.ob.Deliver(t.Context(), id, f.srv.submit)
	if !errors.Is(err, send.ErrPermanent) {
		t.Fatalf("err = %v, want ErrPermanent", err)
	}
	if rec.State != outbox.Failed || !strings.Contains(rec.LastError, "554") || !strings.Contains(rec.LastError, "refused by policy") {
		t.Fatalf("record = %+v", rec)
	}
	f.clock.Advance(24 * time.Hour)
	if recs := f.runDue(); len(recs) != 0 {
		t.Fatalf("failed job retried: %+v", recs)
	}
	// The message is kept; the user can retry.
	if _, err := f.ob.Retry(id); err != nil {
		t.Fatal(err)
	}
	if recs := f.runDue(); len(recs) != 1 || recs[0].State != outbox.Sent {
		t.Fatalf("after retry: %+v", recs)
	}
	want := []audit.Kind{audit.SendQueued, audit.SendAttempt, audit.SendFailed, audit.SendAttempt, audit.SendSent}
	if got := f.auditKinds(); !slices.Equal(got, want) {
		t.Fatalf("audit = %v", got)
	}
}

func TestServerDownThenUp(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	addr := f.srv.addr
	f.srv.stop()
	m, _ := f.message(1000)
	id := f.enqueue(m)
	for i := range 3 {
		recs := f.runDue()
		if len(recs) != 1 || recs[0].State != outbox.Deferred || !strings.Contains(recs[0].LastError, "dial") {
			t.Fatalf("round %d while down: %+v", i, recs)
		}
		f.clock.Set(recs[0].NextAttempt)
	}
	f.srv.start(addr)
	if recs := f.runDue(); len(recs) != 1 || recs[0].State != outbox.Sent || recs[0].Attempts != 4 {
		t.Fatalf("after the server came back: %+v", recs)
	}
	if got := f.srv.messageIDs(); len(got) != 1 {
		t.Fatalf("server got %q", got)
	}
	if f.get(id).Result.Reply.Code != 250 {
		t.Fatal("no result stored")
	}
}

// TestDroppedAfterData: the connection breaks after the data went out and
// before the reply: possibly sent; resent only after confirmation, with
// the same Message-ID and bytes.
func TestDroppedAfterData(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	f.srv.setScript(drop)
	m, _ := f.message(3000)
	id := f.enqueue(m)
	rec, err := f.ob.Deliver(t.Context(), id, f.srv.submit)
	if !errors.Is(err, outbox.ErrNeedsConfirmation) || rec.State != outbox.PossiblySent {
		t.Fatalf("after drop: %v, %+v", err, rec)
	}
	f.clock.Advance(time.Hour)
	if recs := f.runDue(); len(recs) != 0 {
		t.Fatalf("possibly-sent job resent without confirmation: %+v", recs)
	}
	if _, err := f.ob.Retry(id); !errors.Is(err, outbox.ErrNeedsConfirmation) {
		t.Fatalf("Retry: %v, want ErrNeedsConfirmation", err)
	}
	if _, err := f.ob.ConfirmResend(id); err != nil {
		t.Fatal(err)
	}
	if recs := f.runDue(); len(recs) != 1 || recs[0].State != outbox.Sent {
		t.Fatalf("after confirmation: %+v", recs)
	}
	if got := f.srv.messageIDs(); !slices.Equal(got, []string{"<" + m.MessageID + ">"}) {
		t.Fatalf("server got %q", got)
	}
	want := []audit.Kind{audit.SendQueued, audit.SendAttempt, audit.SendPossiblySent, audit.SendAttempt, audit.SendSent}
	if got := f.auditKinds(); !slices.Equal(got, want) {
		t.Fatalf("audit = %v", got)
	}
}

// TestCutDuringData: the connection breaks while the message is still
// being uploaded (no final "."): the server discards it, so the job is
// deferred, not possibly sent, and the next run delivers it once.
func TestCutDuringData(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	f.srv.setScript(cut)
	m, _ := f.message(8 << 20)
	id := f.enqueue(m)
	rec, err := f.ob.Deliver(t.Context(), id, f.srv.submit)
	var se *send.Error
	if !errors.Is(err, send.ErrTemporary) || !errors.As(err, &se) || se.Stage != "data" || rec.State != outbox.Deferred {
		t.Fatalf("after a mid-upload cut: %v, %+v", err, rec)
	}
	f.clock.Advance(time.Hour)
	if recs := f.runDue(); len(recs) != 1 || recs[0].State != outbox.Sent {
		t.Fatalf("retry: %+v", recs)
	}
	if got := f.srv.messageIDs(); !slices.Equal(got, []string{"<" + m.MessageID + ">"}) {
		t.Fatalf("server got %q", got)
	}
	want := []audit.Kind{audit.SendQueued, audit.SendAttempt, audit.SendDeferred, audit.SendAttempt, audit.SendSent}
	if got := f.auditKinds(); !slices.Equal(got, want) {
		t.Fatalf("audit = %v", got)
	}
}

// TestAutoResendPolicy: with the policy flag, a possibly-sent job is resent
// by RunDue without asking.
func TestAutoResendPolicy(t *testing.T) {
	f := newFixture(t, outbox.Options{AutoResend: true})
	f.srv.setScript(drop)
	m, _ := f.message(1000)
	f.enqueue(m)
	if recs := f.runDue(); len(recs) != 1 || recs[0].State != outbox.PossiblySent {
		t.Fatalf("first: %+v", recs)
	}
	if recs := f.runDue(); len(recs) != 1 || recs[0].State != outbox.Sent {
		t.Fatalf("second: %+v", recs)
	}
}

func TestWrongKey(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	m, _ := f.message(1000)
	f.enqueue(m)
	other := make([]byte, 32)
	rand.Read(other)
	_, err := outbox.Open(f.dir, other, outbox.Options{})
	if !errors.Is(err, outbox.ErrWrongKey) || !strings.Contains(err.Error(), "different key") {
		t.Fatalf("Open with another key: %v", err)
	}
}

// TestTamperedMessage: a stored message altered on disk is not sent. This
// one is a single chunk, so atrest.Decrypt finds the damage before any
// network I/O; damage found during the upload is TestDamagedMidUpload.
func TestTamperedMessage(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	id := f.enqueueSpoiled(10_000, func(_ *testing.T, b []byte) []byte { b[len(b)/2] ^= 1; return b })
	rec, err := f.ob.Deliver(t.Context(), id, f.srv.submit)
	if err == nil || rec.State != outbox.Failed || !strings.Contains(rec.LastError, "damaged") {
		t.Fatalf("tampered: %v, %+v", err, rec)
	}
	if f.srv.attemptCount() != 0 {
		t.Fatal("a tampered message reached the server")
	}
	// A tampered job record gives a clear error.
	jp := filepath.Join(f.dir, id+".job")
	b, _ := os.ReadFile(jp)
	b[len(b)-5] ^= 1
	os.WriteFile(jp, b, 0o600)
	if _, err := f.ob.Get(id); !errors.Is(err, atrest.ErrTampered) {
		t.Fatalf("tampered record: %v", err)
	}
}

func TestCancelAndRemove(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	m, _ := f.message(1000)
	id := f.enqueue(m)
	if err := f.ob.Remove(id); !errors.Is(err, outbox.ErrState) {
		t.Fatalf("Remove of a queued job: %v", err)
	}
	rec, err := f.ob.Cancel(id)
	if err != nil || rec.State != outbox.Cancelled {
		t.Fatalf("Cancel: %+v, %v", rec, err)
	}
	if recs := f.runDue(); len(recs) != 0 {
		t.Fatalf("cancelled job delivered: %+v", recs)
	}
	r, err := f.ob.OpenMessage(id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Contains(b, []byte(m.MessageID)) {
		t.Fatalf("the cancelled job's message is gone: %v", err)
	}
	if err := f.ob.Remove(id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ob.Get(id); !errors.Is(err, outbox.ErrNotFound) {
		t.Fatalf("Get after Remove: %v", err)
	}
	for _, ext := range []string{".msg", ".job"} {
		if _, err := os.Stat(filepath.Join(f.dir, id+ext)); !os.IsNotExist(err) {
			t.Errorf("%s still there", ext)
		}
	}
	for _, bad := range []string{"../../etc/passwd", "", strings.Repeat("A", 32)} {
		if _, err := f.ob.Get(bad); !errors.Is(err, outbox.ErrNotFound) {
			t.Errorf("Get(%q) = %v", bad, err)
		}
	}
	want := []audit.Kind{audit.SendQueued, audit.SendFailed}
	if got := f.auditKinds(); !slices.Equal(got, want) {
		t.Fatalf("audit = %v", got)
	}
}

// TestConcurrentDeliver: two deliveries of one job at once send it once.
func TestConcurrentDeliver(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	m, _ := f.message(1000)
	id := f.enqueue(m)
	inData, release := make(chan struct{}), make(chan struct{})
	f.srv.mu.Lock()
	f.srv.onData = func() {
		close(inData)
		<-release
	}
	f.srv.mu.Unlock()
	done := make(chan error)
	go func() {
		_, err := f.ob.Deliver(t.Context(), id, f.srv.submit)
		done <- err
	}()
	<-inData
	// Meanwhile, another opener of the same directory (another process).
	other := f.open(outbox.Options{})
	if _, err := other.Deliver(t.Context(), id, f.srv.submit); !errors.Is(err, outbox.ErrBusy) {
		t.Errorf("second Deliver: %v, want ErrBusy", err)
	}
	if _, err := other.Cancel(id); !errors.Is(err, outbox.ErrBusy) {
		t.Errorf("Cancel while sending: %v, want ErrBusy", err)
	}
	if rec, err := other.Get(id); err != nil || rec.State != outbox.Sending {
		t.Errorf("Get while sending: %+v, %v (must stay sending, not possibly-sent)", rec, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.messages()); n != 1 {
		t.Fatalf("server got %d messages", n)
	}
}

// TestEnqueueFailureLeavesNothing: a write error while enqueuing (an
// injected one here; see TestEnqueueDiskFull for a real full disk) gives a
// clear error, leaves no job and no file, and does not touch the documents.
func TestEnqueueFailureLeavesNothing(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	m, doc := f.message(100_000)
	injected := errors.New("no space left on device (injected)")
	_, err := f.ob.Enqueue(t.Context(), jobOf(m), func(w io.Writer) ([]send.DocumentInfo, error) {
		return send.Compose(&failingWriter{w: w, after: 50_000, err: injected}, m)
	})
	if !errors.Is(err, injected) {
		t.Fatalf("Enqueue = %v, want the write error", err)
	}
	checkEmpty(t, f)
	if got, _ := os.ReadFile(m.Documents[0].Path); !bytes.Equal(got, doc) {
		t.Fatal("document changed")
	}
}

type failingWriter struct {
	w     io.Writer
	after int
	err   error
}

func (fw *failingWriter) Write(p []byte) (int, error) {
	if len(p) > fw.after {
		n, _ := fw.w.Write(p[:fw.after])
		fw.after = 0
		return n, fw.err
	}
	fw.after -= len(p)
	return fw.w.Write(p)
}

// checkEmpty fails unless the outbox holds no job file.
func checkEmpty(t *testing.T, f *fixture) {
	t.Helper()
	if recs, err := f.ob.List(); err != nil || len(recs) != 0 {
		t.Fatalf("List = %+v, %v", recs, err)
	}
	ents, _ := os.ReadDir(f.dir)
	for _, e := range ents {
		if e.Name() != "key-check" && e.Name() != ".lock" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestWatch: a watcher delivers a job that another opener (another
// process) enqueues while it runs, and stops when its context ends.
func TestWatch(t *testing.T) {
	sent := make(chan outbox.Record, 1)
	f := newFixture(t, outbox.Options{Notify: func(r outbox.Record) {
		if r.State == outbox.Sent {
			sent <- r
		}
	}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- f.ob.Watch(ctx, f.srv.submit, 20*time.Millisecond, func(err error) { t.Error(err) }) }()

	m, _ := f.message(1000)
	other := f.open(outbox.Options{})
	id, err := other.Enqueue(t.Context(), jobOf(m), composer(m))
	if err != nil {
		t.Fatal(err)
	}
	if r := <-sent; r.ID != id {
		t.Fatalf("sent %s, want %s", r.ID, id)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch = %v", err)
	}
}

// TestNotifyMayCallBack: Notify runs outside the locks.
func TestNotifyMayCallBack(t *testing.T) {
	var ob *outbox.Outbox
	var states []outbox.State
	f := newFixture(t, outbox.Options{})
	f.ob = f.open(outbox.Options{Notify: func(r outbox.Record) {
		got, err := ob.Get(r.ID)
		if err != nil {
			t.Error(err)
			return
		}
		states = append(states, got.State)
	}})
	ob = f.ob
	m, _ := f.message(1000)
	id := f.enqueue(m)
	if _, err := ob.Deliver(t.Context(), id, f.srv.submit); err != nil {
		t.Fatal(err)
	}
	if want := []outbox.State{outbox.Queued, outbox.Sending, outbox.Sent}; !slices.Equal(states, want) {
		t.Fatalf("states seen = %v, want %v", states, want)
	}
}

// TestInvalidEnvelope: bad addresses are refused at Enqueue, and a message
// the submitter calls invalid fails at once instead of being retried.
func TestInvalidEnvelope(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	m, _ := f.message(1000)
	job := jobOf(m)
	job.Envelope.To = []string{"a@b.example\r\nRCPT TO:<x@evil.example>"}
	if _, err := f.ob.Enqueue(t.Context(), job, composer(m)); err == nil {
		t.Fatal("CRLF in an address accepted")
	}
	id := f.enqueue(m)
	invalid := func(context.Context, send.Envelope, io.Reader) (*send.Result, error) {
		return nil, fmt.Errorf("send: bad: %w", send.ErrInvalidMessage)
	}
	rec, err := f.ob.Deliver(t.Context(), id, invalid)
	if !errors.Is(err, send.ErrInvalidMessage) || rec.State != outbox.Failed {
		t.Fatalf("invalid message: %v, %+v", err, rec)
	}
}

// TestLeftovers: what a crash leaves behind is cleaned up once old: a
// temporary file, a message whose record was never written; and a record
// whose message is gone can still be removed.
func TestLeftovers(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	m, _ := f.message(1000)
	id := f.enqueue(m)
	orphan := filepath.Join(f.dir, strings.Repeat("ab", 16)+".msg")
	tmp := filepath.Join(f.dir, ".tmp-123")
	fresh := filepath.Join(f.dir, strings.Repeat("cd", 16)+".msg")
	for _, p := range []string{orphan, tmp, fresh} {
		os.WriteFile(p, []byte("x"), 0o600)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(orphan, old, old)
	os.Chtimes(tmp, old, old)
	os.Chtimes(filepath.Join(f.dir, id+".msg"), old, old)
	f.ob = f.open(outbox.Options{})
	for p, want := range map[string]bool{orphan: false, tmp: false, fresh: true, filepath.Join(f.dir, id+".msg"): true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
	// A record whose message vanished (a crash inside Remove).
	if _, err := f.ob.Cancel(id); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(f.dir, id+".msg"))
	if err := f.ob.Remove(id); err != nil {
		t.Fatalf("Remove without message: %v", err)
	}
}

// TestSomeRecipientsRejected: accepted for one recipient, refused for the
// other: sent (never resent), with the rejection reported.
func TestSomeRecipientsRejected(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	m, _ := f.message(1000)
	job := jobOf(m)
	job.Envelope.To = append(job.Envelope.To, "nobody@pharmacy.example")
	id, err := f.ob.Enqueue(t.Context(), job, composer(m))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := f.ob.Deliver(t.Context(), id, f.srv.submit)
	if !errors.Is(err, send.ErrRecipientsRejected) || rec.State != outbox.Sent {
		t.Fatalf("Deliver: %v, %+v", err, rec)
	}
	if r := rec.Result; r == nil || len(r.Accepted) != 1 || len(r.Rejected) != 1 || r.Rejected[0].Reply.Code != 550 || !strings.Contains(rec.LastError, "rejected") {
		t.Fatalf("result = %+v, last error %q", rec.Result, rec.LastError)
	}
	f.clock.Advance(time.Hour)
	if recs := f.runDue(); len(recs) != 0 || len(f.srv.messages()) != 1 {
		t.Fatalf("resent: %+v", recs)
	}
}

// TestJobAccount: the SubmitFunc learns the job's account from its context.
func TestJobAccount(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	m, _ := f.message(1000)
	id := f.enqueue(m) // account "clinic"
	var got string
	_, err := f.ob.Deliver(t.Context(), id, func(ctx context.Context, env send.Envelope, body io.Reader) (*send.Result, error) {
		got = outbox.JobAccount(ctx)
		return f.srv.submit(ctx, env, body)
	})
	if err != nil || got != "clinic" {
		t.Fatalf("account %q, %v", got, err)
	}
}

func TestPrune(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	m1, _ := f.message(1000)
	old := f.enqueue(m1)
	f.runDue()
	f.clock.Advance(48 * time.Hour)
	m2, _ := f.message(1000)
	recent := f.enqueue(m2)
	f.runDue()
	m3, _ := f.message(1000)
	cancelled := f.enqueue(m3)
	f.ob.Cancel(cancelled)
	n, err := f.ob.Prune(f.clock.Now().Add(-24 * time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v", n, err)
	}
	if _, err := f.ob.Get(old); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("old sent job still there: %v", err)
	}
	for _, id := range []string{recent, cancelled} {
		if _, err := f.ob.Get(id); err != nil {
			t.Errorf("job %s: %v", id, err)
		}
	}
}
