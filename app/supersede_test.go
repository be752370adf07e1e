package app

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/send/outbox"
)

// TestSentCancel: "Cancel…" on a sent message asks for the reason and
// sends a signed cancellation (no documents) to the same pharmacy through
// the outbox; the pharmacy's mailbox receives it.
func TestSentCancel(t *testing.T) {
	u := newDemoUI(t, nil)
	sendSamples(t, u)
	st := u.sent
	reloadSent(t, st, oneIn(outbox.Sent))
	orig := st.recs[0]
	st.list.Select(0)
	test.Tap(findButton(t, st.detail, "Cancel…"))
	top := u.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no dialog asks for the reason")
	}
	var reason *focusEntry
	for _, o := range test.LaidOutObjects(top) {
		if e, ok := o.(*focusEntry); ok {
			reason = e
		}
	}
	if reason == nil {
		t.Fatal("no reason entry")
	}
	test.Type(reason, "wrong dose")
	done := expect(&st.actionDone)
	tapDialogButton(t, u.UI, "Send cancellation")
	await(t, "cancellation", done)
	if !strings.Contains(st.status.Text, "Cancellation") || strings.Contains(st.status.Text, "Could not") {
		t.Fatalf("status: %s", st.status.Text)
	}
	reloadSent(t, st, func(recs []*outbox.Record) bool {
		return len(recs) == 2 && recs[0].State == outbox.Sent && recs[1].State == outbox.Sent
	})
	c := st.recs[0]
	if c.ID == orig.ID {
		c = st.recs[1]
	}
	if len(c.Documents) != 0 || !strings.HasPrefix(c.Subject, "CANCELLED: ") || c.Envelope.To[0] != orig.Envelope.To[0] || !c.Signed {
		t.Errorf("cancellation job: %+v", c)
	}
	msgs, err := u.sys.Fetch(context.Background(), "pharmacy@demo.test")
	if err != nil || len(msgs) != 2 {
		t.Fatalf("pharmacy has %d messages (%v)", len(msgs), err)
	}
	// A cancellation offers no Cancel… of its own.
	st.selectJob(c.ID)
	for _, o := range test.LaidOutObjects(st.detail) {
		if b, ok := o.(*focusButton); ok && b.Text == "Cancel…" {
			t.Error("a cancellation offers Cancel…")
		}
	}
}
