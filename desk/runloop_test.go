package desk

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// clockDesk is sendDesk with a clock the test moves.
func clockDesk(t *testing.T) (*Desk, *testClock) {
	t.Helper()
	d := sendDesk(t)
	c := &testClock{now: time.Now()}
	d.opts.Now = c.Now
	return d, c
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// runEvents collects a Run's reports.
type runEvents struct {
	mu  sync.Mutex
	got []RunEvent
}

func (e *runEvents) add(ev RunEvent) {
	e.mu.Lock()
	e.got = append(e.got, ev)
	e.mu.Unlock()
}

// take returns the events reported since the last take.
func (e *runEvents) take() []RunEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	got := e.got
	e.got = nil
	return got
}

// peek returns the events reported since the last take, keeping them.
func (e *runEvents) peek() []RunEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]RunEvent(nil), e.got...)
}

func outcomes(evs []RunEvent) []RunOutcome {
	var o []RunOutcome
	for _, ev := range evs {
		o = append(o, ev.Outcome)
	}
	return o
}

func wantOutcomes(t *testing.T, step string, got []RunEvent, want ...RunOutcome) {
	t.Helper()
	if g := outcomes(got); len(g) != len(want) || (len(want) > 0 && g[0] != want[0]) {
		t.Fatalf("%s: outcomes %v, want %v (%+v)", step, g, want, got)
	}
}

// TestRunDeliversAndRetries: a Run delivers each job handed to it at
// once (sent; found already sent), keeps a deferred one and retries it
// only when it is due by the Desk's clock (RetryDue, RetryEvery), lets go of a job cancelled in
// the meantime, reports a job it cannot read, and fails a job that the
// policy in force at delivery refuses, with the reason and nothing sent.
func TestRunDeliversAndRetries(t *testing.T) {
	d, clock := clockDesk(t)
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: "pw"}, accounttest.Options{})
	var evs runEvents

	good := testDraft(t, pki, srv.Addr, send.EncryptNever)
	ob, err := d.Outbox(OutboxOptions{Via: good.Via})
	if err != nil {
		t.Fatal(err)
	}
	run := ob.NewRun(evs.add)
	sent, err := ob.Send(t.Context(), good)
	if err != nil {
		t.Fatal(err)
	}
	run.Deliver(t.Context(), sent, "script.pdf")
	got := evs.take()
	wantOutcomes(t, "first delivery", got, RunSent)
	if ev := got[0]; ev.Label != "script.pdf" || ev.JobID != sent || ev.Record.State != outbox.Sent || ev.Err != nil {
		t.Errorf("sent event: %+v", ev)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("the server received %d messages", n)
	}
	run.Deliver(t.Context(), sent, "script.pdf") // found again after a restart
	wantOutcomes(t, "a job already sent", evs.take(), RunAlreadySent)

	// A server that is down: deferred, retried when due, then cancelled.
	down := testDraft(t, pki, closedAddr(t), send.EncryptNever)
	obDown, err := d.Outbox(OutboxOptions{Via: down.Via})
	if err != nil {
		t.Fatal(err)
	}
	runDown := obDown.NewRun(evs.add)
	deferred, err := obDown.Send(t.Context(), down)
	if err != nil {
		t.Fatal(err)
	}
	runDown.Deliver(t.Context(), deferred, "later.pdf")
	got = evs.take()
	wantOutcomes(t, "server down", got, RunDeferred)
	next := got[0].Record.NextAttempt
	if got[0].Err == nil || next.IsZero() || runDown.Pending() != 1 {
		t.Fatalf("deferred event: %+v, pending %d", got[0], runDown.Pending())
	}
	runDown.RetryDue(t.Context())
	wantOutcomes(t, "retry before it is due", evs.take())
	clock.Set(next.Add(time.Second))
	runDown.RetryDue(t.Context())
	wantOutcomes(t, "retry when due", evs.take(), RunDeferred)
	clock.Set(clock.Now().Add(time.Hour))
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { runDown.RetryEvery(ctx, 10*time.Millisecond); close(done) }()
	for deadline := time.Now().Add(30 * time.Second); len(evs.peek()) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
	if got := evs.take(); len(got) == 0 || got[0].Outcome != RunDeferred {
		t.Fatalf("RetryEvery: %+v", got)
	}
	if _, err := obDown.Cancel(deferred); err != nil {
		t.Fatal(err)
	}
	runDown.RetryDue(t.Context())
	got = evs.take()
	wantOutcomes(t, "cancelled meanwhile", got, RunHandedOver)
	if got[0].Record.State != outbox.Cancelled || runDown.Pending() != 0 {
		t.Errorf("handed over: %+v, pending %d", got[0], runDown.Pending())
	}

	run.Deliver(t.Context(), strings.Repeat("0", 32), "gone.pdf")
	got = evs.take()
	wantOutcomes(t, "no such job", got, RunLost)
	if got[0].Err == nil || run.Pending() != 0 {
		t.Errorf("lost: %+v, pending %d", got[0], run.Pending())
	}

	// Queued unencrypted, then the user's settings require encryption:
	// the delivery fails with the gate's reason; the server gets nothing.
	refused, err := ob.Send(t.Context(), good)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.Home().Path("security.toml"), []byte("encryption = \"always\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run.Deliver(t.Context(), refused, "refused.pdf")
	got = evs.take()
	wantOutcomes(t, "refused at delivery", got, RunFailed)
	if ev := got[0]; ev.Err == nil || ev.Record == nil || ev.Record.State != outbox.Failed || run.Pending() != 0 {
		t.Errorf("failed: %+v", ev)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("the server received %d messages, want still 1", n)
	}
}

// TestRunAdopt: a run adopts the queued and due deferred jobs an earlier
// process left in the outbox (the relay after a crash) and delivers them;
// jobs already sent are not adopted, and adopting twice sends nothing twice.
func TestRunAdopt(t *testing.T) {
	d, _ := clockDesk(t)
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: "pw"}, accounttest.Options{})
	dr := testDraft(t, pki, srv.Addr, send.EncryptNever)
	ob, err := d.Outbox(OutboxOptions{Via: dr.Via})
	if err != nil {
		t.Fatal(err)
	}
	left, err := ob.Send(t.Context(), dr) // queued, never delivered: the process died
	if err != nil {
		t.Fatal(err)
	}
	var evs runEvents
	run := ob.NewRun(evs.add)
	n, err := run.Adopt(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("Adopt = %d, %v; want 1 job", n, err)
	}
	got := evs.take()
	wantOutcomes(t, "adopted", got, RunSent)
	if got[0].JobID != left || len(srv.Messages()) != 1 {
		t.Fatalf("adopted %+v; the server has %d messages", got[0], len(srv.Messages()))
	}
	if n, err := ob.NewRun(evs.add).Adopt(t.Context()); err != nil || n != 0 {
		t.Fatalf("second Adopt = %d, %v; want nothing (the job is sent)", n, err)
	}
	if len(srv.Messages()) != 1 {
		t.Fatalf("the server has %d messages after adopting again", len(srv.Messages()))
	}
}
