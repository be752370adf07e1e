package app

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// reloadSent lists the outbox again until cond holds for the Sent tab's
// jobs. Deliveries are over when the tab's hooks fire, so this takes one
// round unless something is wrong.
func reloadSent(t *testing.T, st *sentTab, cond func([]*outbox.Record) bool) {
	t.Helper()
	for i := 0; i < 50; i++ {
		st.reloadNow()
		if cond(st.recs) {
			return
		}
		pumpUntil(t, "the next reload", time.Minute, func() bool { return true })
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the Sent tab never showed what was expected: %d jobs", len(st.recs))
}

func oneIn(state outbox.State) func([]*outbox.Record) bool {
	return func(recs []*outbox.Record) bool { return len(recs) == 1 && recs[0].State == state }
}

// sendSamples adds the samples and presses Send securely.
func sendSamples(t *testing.T, u *demoUI) {
	t.Helper()
	s := u.send
	addSamples(t, s)
	s.noNHI.SetChecked(true)
	sent := expect(&s.sendDone)
	pressSend(t, s)
	await(t, "send", sent)
}

func TestOutboxSendLandsAsSent(t *testing.T) {
	u := newDemoUI(t, nil)
	sendSamples(t, u)
	if !u.send.confirm.root.Visible() {
		t.Fatalf("no confirmation; problem: %s", texts(u.send.problem))
	}
	st := u.sent
	reloadSent(t, st, oneIn(outbox.Sent))
	r := st.recs[0]
	if r.Result == nil || !r.Encrypted || !r.Signed || len(r.Documents) != 2 {
		t.Fatalf("record: %+v", r)
	}
	st.list.Select(0)
	detail := texts(st.detail)
	for _, want := range []string{"Sent: to Demo Pharmacy.", "Transmission confirmation", "Document type: Prescription", "To: Demo Pharmacy <pharmacy@demo.test>", "Content: Signed and encrypted with OpenPGP", "sample-prescription.pdf"} {
		if !strings.Contains(detail, want) {
			t.Errorf("Sent detail lacks %q:\n%s", want, detail)
		}
	}
	if !st.retryBtn.Disabled() || !st.cancelBtn.Disabled() || st.removeBtn.Disabled() || st.confirmBtn.Visible() {
		t.Error("buttons for a sent job: only Remove should be enabled")
	}
	// The message arrived (the outbox really delivered it).
	msgs, err := u.sys.Fetch(context.Background(), "pharmacy@demo.test")
	if err != nil || len(msgs) != 1 {
		t.Fatalf("pharmacy has %d messages (%v)", len(msgs), err)
	}
	done := expect(&st.actionDone)
	test.Tap(st.removeBtn)
	tapDialogButton(t, u.UI, "Remove")
	await(t, "remove", done)
	reloadSent(t, st, func(recs []*outbox.Record) bool { return len(recs) == 0 })
}

func TestOutboxFailingServerDeferred(t *testing.T) {
	u := newDemoUIWith(t, desk.DemoOptions{Submit: func(ctx context.Context, o send.Options, env send.Envelope, body io.Reader) (*send.Result, error) {
		// A server that is down: nothing listens on port 1.
		opts := send.Options{Server: "127.0.0.1:1", Security: send.ImplicitTLS, Timeout: 10 * time.Second, Progress: o.Progress}
		return send.Submit(ctx, opts, env, body)
	}}, nil)
	sendSamples(t, u)
	s := u.send
	if s.confirm.root.Visible() {
		t.Fatal("confirmation shown for a failed send")
	}
	got := texts(s.problem)
	for _, want := range []string{"Not sent yet: the mail server could not be reached", "safe in the outbox", "will be tried again at"} {
		if !strings.Contains(got, want) {
			t.Errorf("problem lacks %q:\n%s", want, got)
		}
	}
	if len(s.docs) != 0 {
		t.Error("documents left in the form though the message is in the outbox")
	}
	st := u.sent
	reloadSent(t, st, oneIn(outbox.Deferred))
	test.Tap(findButton(t, s.problem, "Show in the Sent tab"))
	if u.tabs.Selected() != st.item {
		t.Error("Show in the Sent tab did not switch tabs")
	}
	detail := texts(st.detail)
	for _, want := range []string{"Not sent yet — next try at", "will be tried again", "Reason: "} {
		if !strings.Contains(detail, want) {
			t.Errorf("Sent detail lacks %q:\n%s", want, detail)
		}
	}
	if st.retryBtn.Disabled() || st.cancelBtn.Disabled() || !st.removeBtn.Disabled() {
		t.Error("a deferred job can be retried and cancelled, not removed")
	}
	done := expect(&st.actionDone)
	test.Tap(st.cancelBtn)
	await(t, "cancel", done)
	reloadSent(t, st, oneIn(outbox.Cancelled))
	if !strings.Contains(texts(st.detail), "Cancelled — not sent") {
		t.Errorf("after cancel:\n%s", texts(st.detail))
	}
}

func TestOutboxPossiblySentNeedsConfirmation(t *testing.T) {
	first := true
	u := newDemoUIWith(t, desk.DemoOptions{Submit: func(ctx context.Context, opts send.Options, env send.Envelope, body io.Reader) (*send.Result, error) {
		if first {
			first = false
			_, _ = io.Copy(io.Discard, body)
			// Everything went out; the reply never came.
			return nil, &send.Error{Kind: send.ErrTemporary, Stage: "data-reply", Server: "127.0.0.1:465", Err: io.ErrUnexpectedEOF}
		}
		return send.Submit(ctx, opts, env, body)
	}}, nil)
	sendSamples(t, u)
	if got := texts(u.send.problem); !strings.Contains(got, "May have been sent") {
		t.Errorf("problem:\n%s", got)
	}
	st := u.sent
	reloadSent(t, st, oneIn(outbox.PossiblySent))
	st.list.Select(0)
	if !strings.Contains(texts(st.detail), "Check with the recipient before sending it again") {
		t.Errorf("detail:\n%s", texts(st.detail))
	}
	if !st.retryBtn.Disabled() || !st.confirmBtn.Visible() || st.confirmBtn.Disabled() {
		t.Fatal("a possibly-sent job needs Confirm resend (and Retry is not offered)")
	}
	if st.item.Text != "Sent (1)" {
		t.Errorf("tab says %q", st.item.Text)
	}
	// Delivered from the Sent tab, not the Send tab: a notification says so
	// (the running app listens to the outbox; here only for this).
	u.cfg.Outbox.Events.set(u.sent.announce)
	assertNotificationSent(t, &fyne.Notification{Title: "Sent securely", Content: "The outbox delivered a message to pharmacy@demo.test."}, func() {
		done := expect(&st.actionDone)
		test.Tap(st.confirmBtn)
		await(t, "confirm resend", done)
	})
	reloadSent(t, st, oneIn(outbox.Sent))
	if r := st.recs[0]; r.Attempts != 2 || !r.ResendConfirmed {
		t.Errorf("after confirm: attempts %d, confirmed %v", r.Attempts, r.ResendConfirmed)
	}
	if st.item.Text != "Sent" {
		t.Errorf("tab says %q", st.item.Text)
	}
}

func TestOutboxCancelKeepsDocuments(t *testing.T) {
	started := make(chan struct{})
	u := newDemoUIWith(t, desk.DemoOptions{Submit: func(ctx context.Context, _ send.Options, _ send.Envelope, _ io.Reader) (*send.Result, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}}, nil)
	s := u.send
	addSamples(t, s)
	s.noNHI.SetChecked(true)
	sent := expect(&s.sendDone)
	pressSend(t, s)
	<-started
	test.Tap(s.cancel)
	await(t, "send", sent)
	if got := texts(s.problem); !strings.Contains(got, "Sending was cancelled.") {
		t.Errorf("after cancel:\n%s", got)
	}
	if len(s.docs) != 2 {
		t.Error("documents not kept after cancel")
	}
	reloadSent(t, u.sent, func(recs []*outbox.Record) bool { return len(recs) == 0 })
}
