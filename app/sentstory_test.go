package app

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/send/outbox"
)

// sendWithNote sends the samples for patient ZZZ0016 with note, through
// the demo, and returns to an empty form.
func sendWithNote(t *testing.T, u *demoUI, note string) {
	t.Helper()
	s := u.send
	addSamples(t, s)
	s.nhiEntry.SetText("ZZZ0016")
	s.note.SetText(note)
	sent := expect(&s.sendDone)
	pressSend(t, s)
	await(t, "send", sent)
	if !s.confirm.root.Visible() {
		t.Fatalf("not sent: %s", texts(s.problem))
	}
}

// TestSentRecordStory: the Sent record tells the whole story. The
// clinician's note is in the transmission confirmation (screen, copy and
// the text its PDF is made of) and in the Sent detail; after "Replace…",
// the replacement's row and detail say "Replaces the Prescription for
// ZZZ0016 sent …", and the original's row and detail say "Replaced by your
// message sent …", with a button that shows the replacement.
func TestSentRecordStory(t *testing.T) {
	u := newDemoUI(t, nil)
	s, st := u.send, u.sent
	sendWithNote(t, u, "Please dispense today")
	if !strings.Contains(formFields(s.confirm.body), "Note: Please dispense today") || !strings.Contains(s.confirm.text, confLine("Note", "Please dispense today")) {
		t.Errorf("the confirmation lacks the note:\n%s\n%s", formFields(s.confirm.body), s.confirm.text)
	}
	test.Tap(s.confirm.another)
	reloadSent(t, st, oneIn(outbox.Sent))
	orig := st.recs[0]
	u.tabs.Select(st.item)
	st.list.Select(0)
	if f := formFields(st.detail); !strings.Contains(f, "Note: Please dispense today") || strings.Contains(f, "Patient NHI: ZZZ0016\n\n") {
		t.Errorf("the Sent detail lacks the note (or repeats the NHI in it):\n%s", f)
	}

	test.Tap(findButton(t, st.detail, "Replace…"))
	sendWithNote(t, u, "Dose corrected to 250mg")
	test.Tap(s.confirm.another)
	reloadSent(t, st, func(recs []*outbox.Record) bool {
		return len(recs) == 2 && recs[0].State == outbox.Sent && recs[1].State == outbox.Sent
	})
	repl := st.recs[0] // newest first
	if repl.Supersedes == nil || repl.Supersedes.MessageID != orig.MessageID {
		t.Fatalf("the replacement's record supersedes %+v, want %s", repl.Supersedes, orig.MessageID)
	}
	rowOf := func(i int) string {
		obj := st.list.CreateItem()
		st.list.UpdateItem(i, obj)
		return texts(obj)
	}
	if r := rowOf(0); !strings.Contains(r, "Replaces the Prescription for ZZZ0016 sent ") {
		t.Errorf("the replacement's row:\n%s", r)
	}
	if r := rowOf(1); !strings.Contains(r, "Replaced by your message sent ") {
		t.Errorf("the original's row:\n%s", r)
	}

	st.selectJob(repl.ID)
	f := formFields(st.detail)
	for _, want := range []string{"Note: Dose corrected to 250mg", "Replaces: The Prescription for ZZZ0016 sent on ", "(Message-ID " + orig.MessageID + ")"} {
		if !strings.Contains(f, want) {
			t.Errorf("the replacement's detail lacks %q:\n%s", want, f)
		}
	}
	// The headline says it too, as the confirmation's did, and leads
	// back to the original.
	if d := labelsIn(st.detail); !strings.Contains(d, "It replaces the Prescription for ZZZ0016 sent on ") {
		t.Errorf("the replacement's headline does not say what it replaces:\n%s", d)
	}
	test.Tap(findButton(t, st.detail, "Show the original"))
	if st.selected != orig.ID {
		t.Errorf("Show the original selected %s, want %s", st.selected, orig.ID)
	}
	st.selectJob(repl.ID)
	test.Tap(findButton(t, st.detail, "Copy confirmation"))
	copied := u.app.Clipboard().Content()
	for _, want := range []string{confLine("Note", "Dose corrected to 250mg"), fmt.Sprintf("%-20s %s", "Replaces:", "The Prescription for ZZZ0016 sent on ")} {
		if !strings.Contains(copied, want) {
			t.Errorf("the copied confirmation (the PDF's text) lacks %q:\n%s", want, copied)
		}
	}

	st.selectJob(orig.ID)
	if d := labelsIn(st.detail); !strings.Contains(d, "Replaced by your message sent ") || !strings.Contains(d, "marks this message \"Replaced\"") {
		t.Errorf("the original's detail:\n%s", d)
	}
	test.Tap(findButton(t, st.detail, "Show the replacement"))
	if st.selected != repl.ID {
		t.Errorf("Show the replacement selected %s, want %s", st.selected, repl.ID)
	}
}

// confLine is a line of a confirmation's text (its copy and PDF).
func confLine(label, value string) string { return fmt.Sprintf("%-20s %s\n", label+":", value) }

// TestSentCancelStory: after "Cancel…", the cancellation's row and detail
// say "Cancels the Prescription sent …" with its reason as the note, and
// the original's row and detail say "Cancelled by your message sent …".
func TestSentCancelStory(t *testing.T) {
	u := newDemoUI(t, nil)
	sendSamples(t, u)
	st := u.sent
	reloadSent(t, st, oneIn(outbox.Sent))
	orig := st.recs[0]
	st.list.Select(0)
	test.Tap(findButton(t, st.detail, "Cancel…"))
	var reason *focusEntry
	for _, o := range test.LaidOutObjects(u.win.Canvas().Overlays().Top()) {
		if e, ok := o.(*focusEntry); ok {
			reason = e
		}
	}
	test.Type(reason, "wrong dose")
	done := expect(&st.actionDone)
	tapDialogButton(t, u.UI, "Send cancellation")
	await(t, "cancellation", done)
	reloadSent(t, st, func(recs []*outbox.Record) bool {
		return len(recs) == 2 && recs[0].State == outbox.Sent && recs[1].State == outbox.Sent
	})
	c := st.recs[0]
	if c.ID == orig.ID {
		t.Fatal("the cancellation is not the newest record")
	}
	rows := map[string]int{c.ID: 0, orig.ID: 1}
	for id, want := range map[string]string{c.ID: "Cancels the Prescription sent on ", orig.ID: "Cancelled by your message sent "} {
		obj := st.list.CreateItem()
		st.list.UpdateItem(rows[id], obj)
		if r := texts(obj); !strings.Contains(r, want) {
			t.Errorf("row %d lacks %q:\n%s", rows[id], want, r)
		}
	}
	st.selectJob(c.ID)
	if f := formFields(st.detail); !strings.Contains(f, "Note: wrong dose") || !strings.Contains(f, "Cancels: The Prescription sent on ") {
		t.Errorf("the cancellation's detail:\n%s", f)
	}
	st.selectJob(orig.ID)
	if d := labelsIn(st.detail); !strings.Contains(d, "Cancelled by your message sent ") || !strings.Contains(d, "\"Cancelled by the sender\"") {
		t.Errorf("the original's detail:\n%s", d)
	}
}
