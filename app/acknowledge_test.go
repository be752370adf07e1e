package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/receive"
)

// ackLog is an Acknowledger that keeps what it was asked to send, by the
// rules desk.Desk.Acknowledge keeps (each kind once per item, ErrAckTwice;
// a rejection needs a reason). refuseTwice makes it refuse an item's
// first acknowledgement as sent before (another program sent it). mode is
// the policy's acknowledgement mode ("" is auto, as without a profile;
// off refuses every acknowledgement, desk.ErrAckOff) and modeErr, when
// set, is why it cannot be read.
type ackLog struct {
	mu          sync.Mutex
	now         func() time.Time
	sent        map[string][]desk.SentAck
	calls       int
	refuseTwice string
	mode        profile.AckMode
	modeErr     error
	modeCalls   int
}

func (l *ackLog) AcknowledgementMode() (profile.AckMode, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.modeCalls++
	if l.modeErr != nil {
		return "", l.modeErr
	}
	if l.mode == "" {
		return profile.AckAuto, nil
	}
	return l.mode, nil
}

func (l *ackLog) AcknowledgeJob(_ context.Context, id string, kind ack.Kind, reason string) (desk.JobID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.mode == profile.AckOff {
		return "", desk.ErrAckOff
	}
	if id == l.refuseTwice {
		return "", fmt.Errorf("item #%s, %s: %w", id, kind, desk.ErrAckTwice)
	}
	for _, s := range l.sent[id] {
		if s.Kind == kind {
			return "", fmt.Errorf("item #%s, %s: %w", id, kind, desk.ErrAckTwice)
		}
	}
	if kind == ack.Rejected && strings.TrimSpace(reason) == "" {
		return "", fmt.Errorf("a rejection needs a reason")
	}
	job := fmt.Sprintf("job%d", l.calls)
	l.sent[id] = append(l.sent[id], desk.SentAck{Kind: kind, Reason: reason, To: "alice@clinic.test", Time: l.now(), Job: job})
	return job, nil
}

func (l *ackLog) SentAcknowledgements(id string) ([]desk.SentAck, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]desk.SentAck(nil), l.sent[id]...), nil
}

// ackInbox starts the app with the items (keys a, b, …), l as its
// Acknowledger and no outbox, and fetches.
func ackInbox(t *testing.T, l *ackLog, items ...Received) *demoUI {
	t.Helper()
	u := newDemoUI(t, func(c *Config) {
		c.Acknowledge = l
		c.Outbox = nil
		c.Demo = false
		c.Fetch = func(context.Context) ([]Received, error) {
			for i := range items {
				items[i].Key = string(rune('a' + i))
				items[i].Source = "mailbox"
				items[i].Received = at.Add(-time.Duration(i) * time.Minute)
			}
			return items, nil
		}
	})
	fetched := expect(&u.inbox.fetchDone)
	test.Tap(u.inbox.check)
	await(t, "fetch", fetched)
	return u
}

// selectAndLoad selects row i and waits for the answers already sent.
func selectAndLoad(t *testing.T, u *demoUI, i int) {
	t.Helper()
	loaded := expect(&u.inbox.ackDone)
	u.inbox.list.Select(i)
	await(t, "answers sent", loaded)
}

// TestAcceptRejectVerified: a verified message offers Accept and
// Reject…; Accept sends at once and then shows "Accepted at 09:30" with
// Accept disabled; Reject… asks for the reason (Send rejection stays
// disabled without one) and shows "Rejected at 09:30: reason"; an answer
// desk refuses as sent before (ErrAckTwice) says so plainly.
func TestAcceptRejectVerified(t *testing.T) {
	local := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { time.Local = local })
	l := &ackLog{now: func() time.Time { return at }, sent: map[string][]desk.SentAck{}, refuseTwice: "b"}
	verified := func() Received {
		return Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc, MessageID: "rx1@clinic.test"}}
	}
	u := ackInbox(t, l, verified(), verified())
	u.cfg.Now = func() time.Time { return at }
	selectAndLoad(t, u, 0)
	d := labelsIn(u.inbox.detail)
	if !strings.Contains(d, "Your answer to the sender") || !strings.Contains(d, "You have not answered this message yet.") {
		t.Fatalf("no answer section:\n%s", d)
	}
	accept, reject := findButton(t, u.inbox.detail, "Accept"), findButton(t, u.inbox.detail, "Reject…")
	if accept.Disabled() || reject.Disabled() {
		t.Fatal("Accept or Reject… disabled on a verified message")
	}
	done := expect(&u.inbox.ackDone)
	test.Tap(accept)
	await(t, "accept", done)
	if got := l.sent["a"]; len(got) != 1 || got[0].Kind != ack.Accepted {
		t.Fatalf("sent: %+v", got)
	}
	d = labelsIn(u.inbox.detail)
	if !strings.Contains(d, "Accepted at 09:30") || !accept.Disabled() || reject.Disabled() {
		t.Errorf("after Accept (accept disabled %v, reject disabled %v):\n%s", accept.Disabled(), reject.Disabled(), d)
	}

	test.Tap(reject)
	top := u.win.Canvas().Overlays().Top()
	if top == nil || !strings.Contains(labelsIn(top), "cannot be taken back") {
		t.Fatal("Reject… does not ask first")
	}
	send := buttonsIn(top, "Send rejection")
	if len(send) != 1 {
		t.Fatal("no Send rejection button")
	}
	if test.Tap(send[0]); l.calls != 1 {
		t.Fatal("a rejection without a reason was sent")
	}
	var reason *focusEntry
	for _, o := range test.LaidOutObjects(top) {
		if e, ok := o.(*focusEntry); ok {
			reason = e
		}
	}
	if reason == nil {
		t.Fatal("no reason field")
	}
	test.Type(reason, "Dose unclear, please phone")
	done = expect(&u.inbox.ackDone)
	test.Tap(send[0])
	await(t, "reject", done)
	if got := l.sent["a"]; len(got) != 2 || got[1].Kind != ack.Rejected || got[1].Reason != "Dose unclear, please phone" {
		t.Fatalf("sent: %+v", got)
	}
	if d := labelsIn(u.inbox.detail); !strings.Contains(d, "Rejected at 09:30: Dose unclear, please phone") || !reject.Disabled() {
		t.Errorf("after Reject:\n%s", d)
	}
	// What was sent shows again when the message is selected again.
	selectAndLoad(t, u, 1)
	selectAndLoad(t, u, 0)
	if d := labelsIn(u.inbox.detail); !strings.Contains(d, "Accepted at 09:30\nRejected at 09:30: Dose unclear") {
		t.Errorf("selected again:\n%s", d)
	}

	// desk refuses an answer sent before (here by another program).
	selectAndLoad(t, u, 1)
	done = expect(&u.inbox.ackDone)
	test.Tap(findButton(t, u.inbox.detail, "Accept"))
	await(t, "accept twice", done)
	if d := labelsIn(u.inbox.detail); !strings.Contains(d, "Not sent: you already sent this answer for this message") {
		t.Errorf("ErrAckTwice not shown:\n%s", d)
	}
}

// TestNoAnswerUnlessVerified: a message that is not verified, a receipt
// and a message its sender cancelled offer no Accept (disabled, with the
// reason on the message), and nothing is asked of desk.
func TestNoAnswerUnlessVerified(t *testing.T) {
	l := &ackLog{now: time.Now, sent: map[string][]desk.SentAck{}}
	u := ackInbox(t, l,
		Received{Report: &receive.Report{Verdict: receive.UnknownSigner, From: "mallory@evil.test", Documents: rxDoc}},
		Received{Report: &receive.Report{Verdict: receive.BadSignature, From: "alice@clinic.test"}},
		Received{Report: &receive.Report{Verdict: receive.Verified, Impostor: true, From: "alice@clinic.test", Documents: rxDoc}},
		Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc},
			Superseded: &receive.Supersession{Kind: manifest.Cancel, ByID: "x", At: at, Reason: "wrong dose"}},
	)
	for i := 0; i < 3; i++ {
		u.inbox.list.Select(i)
		d := labelsIn(u.inbox.detail)
		if !strings.Contains(d, "Only a verified message can be accepted or rejected") {
			t.Errorf("row %d: no reason:\n%s", i, d)
		}
		for _, b := range []string{"Accept", "Reject…"} {
			if !findButton(t, u.inbox.detail, b).Disabled() {
				t.Errorf("row %d: %s enabled", i, b)
			}
		}
	}
	selectAndLoad(t, u, 3)
	if d := labelsIn(u.inbox.detail); !strings.Contains(d, "The sender cancelled this message, so it cannot be accepted.") || !findButton(t, u.inbox.detail, "Accept").Disabled() {
		t.Errorf("cancelled message:\n%s", d)
	}
	if l.calls != 0 {
		t.Errorf("desk was asked %d times", l.calls)
	}
}

// rowText is the text of list row i, and the importance of its first
// line and whether its red mark shows.
func rowText(u *demoUI, i int) (string, widget.Importance) {
	row := u.inbox.list.CreateItem()
	u.inbox.list.UpdateItem(i, row)
	var imp widget.Importance
	for _, o := range test.LaidOutObjects(row) {
		if l, ok := o.(*widget.Label); ok && strings.Contains(l.Text, "·") {
			imp = l.Importance
			break
		}
	}
	var b strings.Builder
	for _, o := range test.LaidOutObjects(row) {
		if l, ok := o.(*widget.Label); ok && l.Visible() {
			b.WriteString(l.Text + "\n")
		}
	}
	return b.String(), imp
}

// TestInboxReceiptsAndMarks: a counted acknowledgement is not listed
// (the status counts it, "Show acknowledgements" lists it as a muted
// Receipt row with no answer buttons); one that did not count stays
// listed in amber with a warning; a cancelled and a replaced message say
// so in red in their rows.
func TestInboxReceiptsAndMarks(t *testing.T) {
	l := &ackLog{now: time.Now, sent: map[string][]desk.SentAck{}}
	receipt := Received{Report: &receive.Report{Verdict: receive.Verified, From: "pharmacy@pharm.test", Subject: "Accepted", Remarks: []string{desk.AckRemark}}}
	ignored := Received{Report: &receive.Report{Verdict: receive.UnknownSigner, From: "mallory@evil.test", Subject: "Accepted",
		Documents: []receive.Document{{Name: "MDNPart.txt", ContentType: ack.NotificationType}, {Name: "securesend-ack.json", ContentType: ack.MediaType}}}}
	cancelled := Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc},
		Superseded: &receive.Supersession{Kind: manifest.Cancel, ByID: "x", At: at, Reason: "wrong dose"}}
	replaced := Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc},
		Superseded: &receive.Supersession{Kind: manifest.Replace, ByID: "y", At: at}}
	u := ackInbox(t, l, receipt, ignored, cancelled, replaced)
	in := u.inbox
	if len(in.rows) != 3 || in.rows[0].Key != "b" {
		t.Fatalf("listed %d rows, first %q; want the receipt left out", len(in.rows), in.rows[0].Key)
	}
	if !strings.Contains(in.status.Text, "3 messages and 1 acknowledgement of a message you sent (shown in the Sent tab)") || !in.receipts.Visible() {
		t.Errorf("status %q, Show acknowledgements shown %v", in.status.Text, in.receipts.Visible())
	}
	if text, imp := rowText(u, 0); !strings.Contains(text, "Acknowledgement not counted") || imp != widget.WarningImportance {
		t.Errorf("ignored acknowledgement row (%v):\n%s", imp, text)
	}
	in.list.Select(0)
	if d := labelsIn(in.detail); !strings.Contains(d, "An acknowledgement that did not count") || len(buttonsIn(in.detail, "Accept")) != 0 {
		t.Errorf("ignored acknowledgement detail:\n%s", d)
	}
	if text, _ := rowText(u, 1); !strings.Contains(text, "Cancelled\n") {
		t.Errorf("cancelled row:\n%s", text)
	}
	if text, _ := rowText(u, 2); !strings.Contains(text, "Replaced\n") {
		t.Errorf("replaced row:\n%s", text)
	}
	test.Tap(in.receipts)
	if len(in.rows) != 4 {
		t.Fatalf("with acknowledgements: %d rows", len(in.rows))
	}
	if text, imp := rowText(u, 0); !strings.Contains(text, "Receipt · ") || !strings.Contains(text, "see the Sent tab") || imp != widget.LowImportance || strings.Contains(text, "Cancelled") {
		t.Errorf("receipt row (%v):\n%s", imp, text)
	}
	in.list.Select(0)
	if len(buttonsIn(in.detail, "Accept")) != 0 {
		t.Error("a receipt offers Accept")
	}
	_ = fyne.CurrentApp()
}

// TestDemoSendsNoAnswers: in demo mode (OpenDesk over the demo desks,
// which have no acknowledgement loop) the app gets no Acknowledger, and a
// verified message the demo pharmacy received says so, with Accept and
// Reject… disabled.
func TestDemoSendsNoAnswers(t *testing.T) {
	u := newDemoUI(t, nil)
	if u.cfg.Acknowledge != nil {
		t.Fatal("demo mode has an Acknowledger")
	}
	sendSamples(t, u)
	fetched := expect(&u.inbox.fetchDone)
	test.Tap(u.inbox.check)
	await(t, "fetch", fetched)
	if len(u.inbox.rows) != 1 || u.inbox.rows[0].Report.Verdict != receive.Verified {
		t.Fatalf("inbox: %d rows", len(u.inbox.rows))
	}
	u.inbox.list.Select(0)
	if d := labelsIn(u.inbox.detail); !strings.Contains(d, "Demo mode sends no answers.") {
		t.Errorf("no reason:\n%s", d)
	}
	for _, b := range []string{"Accept", "Reject…"} {
		if !findButton(t, u.inbox.detail, b).Disabled() {
			t.Errorf("%s enabled in demo mode", b)
		}
	}
}

// TestAckModes: the answer section follows the organisation policy's
// acknowledgement mode at once, before any press. Off: Accept and Reject…
// disabled, no Confirm receipt, and the section says acknowledgements are
// switched off. Manual: Confirm receipt beside Accept and Reject…, which
// sends a "received" acknowledgement once and then shows "Receipt sent at
// 09:30". Auto (as without a profile): Accept and Reject… only, the
// receipt being sent automatically. A policy that cannot be read offers
// nothing and says why.
func TestAckModes(t *testing.T) {
	local := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { time.Local = local })
	tests := []struct {
		name    string
		mode    profile.AckMode
		modeErr error
		open    bool   // Accept and Reject… enabled
		receipt bool   // Confirm receipt shown and enabled
		says    string // in the section, "" for no message
	}{
		{"auto", profile.AckAuto, nil, true, false, ""},
		{"unset", "", nil, true, false, ""},
		{"manual", profile.AckManual, nil, true, true, ""},
		{"off", profile.AckOff, nil, false, false, "Your organisation has switched acknowledgements off"},
		{"unreadable", "", errors.New("the organisation profile's signature does not verify"), false, false,
			"your organisation's acknowledgement policy cannot be read (the organisation profile's signature does not verify)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &ackLog{now: func() time.Time { return at }, sent: map[string][]desk.SentAck{}, mode: tt.mode, modeErr: tt.modeErr}
			verified := func() Received {
				return Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc, MessageID: "rx1@clinic.test"}}
			}
			u := ackInbox(t, l, verified(), verified())
			u.cfg.Now = func() time.Time { return at }
			selectAndLoad(t, u, 0)
			if l.modeCalls == 0 {
				t.Error("the policy's acknowledgement mode was not read")
			}
			d := labelsIn(u.inbox.detail)
			if tt.says != "" && !strings.Contains(d, tt.says) {
				t.Errorf("section does not say %q:\n%s", tt.says, d)
			}
			if tt.says == "" && strings.Contains(d, "switched acknowledgements off") {
				t.Errorf("section says acknowledgements are off:\n%s", d)
			}
			for _, b := range []string{"Accept", "Reject…"} {
				if got := !findButton(t, u.inbox.detail, b).Disabled(); got != tt.open {
					t.Errorf("%s enabled %v, want %v", b, got, tt.open)
				}
			}
			receipt := buttonsIn(u.inbox.detail, "Confirm receipt")
			if !tt.receipt {
				if len(receipt) != 0 {
					t.Error("Confirm receipt shown")
				}
				if l.calls != 0 {
					t.Errorf("desk was asked %d times", l.calls)
				}
				return
			}
			if len(receipt) != 1 || receipt[0].Disabled() {
				t.Fatalf("Confirm receipt not offered (%d shown)", len(receipt))
			}
			done := expect(&u.inbox.ackDone)
			test.Tap(receipt[0])
			await(t, "confirm receipt", done)
			if got := l.sent["a"]; len(got) != 1 || got[0].Kind != ack.Received || got[0].Reason != "" {
				t.Fatalf("sent: %+v", got)
			}
			d = labelsIn(u.inbox.detail)
			if !strings.Contains(d, "Receipt sent at 09:30") || !receipt[0].Disabled() {
				t.Errorf("after Confirm receipt (disabled %v):\n%s", receipt[0].Disabled(), d)
			}
			if findButton(t, u.inbox.detail, "Accept").Disabled() || findButton(t, u.inbox.detail, "Reject…").Disabled() {
				t.Error("Accept or Reject… disabled after a receipt")
			}
			test.Tap(receipt[0])
			if l.calls != 1 {
				t.Errorf("desk was asked %d times, want once", l.calls)
			}
			// Once sent, it stays sent when the message is shown again.
			selectAndLoad(t, u, 1)
			selectAndLoad(t, u, 0)
			if r := buttonsIn(u.inbox.detail, "Confirm receipt"); len(r) != 1 || !r[0].Disabled() {
				t.Error("Confirm receipt offered again after it was sent")
			}
		})
	}
}
