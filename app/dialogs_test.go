package app

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/send/outbox"
)

// focusables is every control in the dialog on top of u's window that
// Tab can reach, in order.
func focusables(t *testing.T, u *UI) []fyne.Focusable {
	t.Helper()
	top := u.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("no dialog shows")
	}
	var out []fyne.Focusable
	for _, o := range test.LaidOutObjects(top) {
		if f, ok := o.(fyne.Focusable); ok && o.Visible() {
			if d, ok := o.(fyne.Disableable); ok && d.Disabled() {
				continue
			}
			out = append(out, f)
		}
	}
	return out
}

// TestEscapeClosesDialogsFromEveryControl: whichever control of an app
// dialog has the focus (its buttons, its fields, a drop-down, a check
// box), Escape closes the dialog as its Cancel button does and does
// nothing else. Fyne's stock dialog buttons and widgets swallowed it, so
// a keyboard user who had tabbed to "Keep it" could not leave with
// Escape.
func TestEscapeClosesDialogsFromEveryControl(t *testing.T) {
	u := newDemoUI(t, nil)
	u.win.Resize(fyne.NewSize(1024, 720))
	sendSamples(t, u)
	reloadSent(t, u.sent, oneIn(outbox.Sent))
	u.sent.list.Select(0)
	c := u.win.Canvas()
	var confirmed bool
	tests := []struct {
		name string
		open func()
	}{
		{"keyboard shortcuts", u.showShortcuts},
		{"cancel a sent message", func() { test.Tap(findButton(t, u.sent.detail, "Cancel…")) }},
		{"replace over unsent work", func() {
			u.send.note.SetText("not sent yet")
			u.sent.replace(u.sent.recs[0])
		}},
		{"a form with a drop-down and a check box", func() {
			sel := newSelect([]string{"one", "two"}, "one")
			check := newCheck("tick", nil)
			entry := newSelectEntry("pick")
			entry.SetOptions([]string{"a", "b"})
			d := u.askForm("Choose", []*widget.FormItem{
				widget.NewFormItem("Choice", sel), widget.NewFormItem("Tick", check), widget.NewFormItem("Pick", entry),
			}, "Cancel", "OK", func() { confirmed = true })
			u.showDialog(d)
		}},
		{"a form with no confirm button", func() {
			u.showDialog(u.askForm("Details", []*widget.FormItem{
				widget.NewFormItem("Choice", newSelect([]string{"one", "two"}, "one")),
			}, "Close", "", nil))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.open()
			n := len(focusables(t, u.UI))
			if n < 1 {
				t.Fatal("the dialog has no control to focus")
			}
			for i := 0; i < n; i++ {
				if c.Overlays().Top() == nil {
					tt.open()
				}
				f := focusables(t, u.UI)[i]
				c.Focus(f)
				press(t, u.UI, fyne.KeyEscape, 0)
				if c.Overlays().Top() != nil {
					t.Fatalf("Escape with the focus on %T (control %d of %d) left the dialog open", f, i+1, n)
				}
			}
		})
	}
	if confirmed {
		t.Error("Escape confirmed a dialog")
	}
	if recs, err := u.cfg.Outbox.Box.List(); err != nil || len(recs) != 1 {
		t.Errorf("after Escape the outbox holds %d jobs (%v): a cancellation went out", len(recs), err)
	}
}

// TestEscapeInOpenDropDownClosesOnlyTheList: in a dialog, Escape while a
// drop-down's list of choices is open closes that list and keeps the
// dialog; the next Escape closes the dialog.
func TestEscapeInOpenDropDownClosesOnlyTheList(t *testing.T) {
	u := newDemoUI(t, nil)
	u.win.Resize(fyne.NewSize(1024, 720))
	c := u.win.Canvas()
	sel := newSelect([]string{"one", "two"}, "one")
	d, _ := u.askDialog("Choose", sel, "Cancel", "OK", func() { t.Error("Escape confirmed the dialog") })
	u.showDialog(d)
	dialogLayer := c.Overlays().Top()
	c.Focus(sel)
	press(t, u.UI, fyne.KeySpace, 0) // opens the list
	if c.Overlays().Top() == dialogLayer {
		t.Fatal("Space opened no list of choices")
	}
	press(t, u.UI, fyne.KeyEscape, 0)
	if top := c.Overlays().Top(); top != dialogLayer {
		t.Fatalf("Escape in the open list: top overlay %T, want the dialog still open with the list closed", top)
	}
	if sel.Selected != "one" {
		t.Errorf("Escape in the list chose %q", sel.Selected)
	}
	c.Focus(sel)
	press(t, u.UI, fyne.KeyEscape, 0)
	if c.Overlays().Top() != nil {
		t.Error("the second Escape left the dialog open")
	}
}
