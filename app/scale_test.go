package app

import (
	"fmt"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// sentRecord is a sent job with its transmission confirmation.
func sentRecord() *outbox.Record {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	env := send.Envelope{From: "clinician@demo.test", To: []string{"pharmacy@demo.test"}}
	return &outbox.Record{ID: "3f1c0b6e9a2d4c8b8e5f7a1d2c3b4a59", Job: outbox.Job{Envelope: env, MessageID: "3gbsrjjrfbvnsg6cc6wj6ca5da@demo.test",
		Encrypted: true, Signed: true, Subject: "Prescription", PatientNHI: "ZZZ0016", ToNames: []string{"Demo Pharmacy"}},
		Documents: fixedResult().Documents, State: outbox.Sent, Attempts: 1, Created: at, LastAttempt: at, Result: fixedResult()}
}

// TestScaled800x600: an 800×600 screen at 150% and 200% scaling
// (FYNE_SCALE=1.5: 533×400 in Fyne's units; 2: 400×300) shows the Send
// securely button inside the window, and neither the Send, Inbox nor Settings tab needs a wider
// window (the Send tab's columns stack; Settings scrolls), also at 200%;
// nor does the Sent tab with a sent message's confirmation shown (its
// list goes above the detail), whose Replace… and Remove… stay inside
// the window, and which fits the window's height at 200% as well.
func TestScaled800x600(t *testing.T) {
	u, _ := settingsUI(t, false, nil)
	s := u.send
	addSamples(t, s)
	u.sent.apply([]*outbox.Record{sentRecord()}, nil)
	u.sent.selectJob(sentRecord().ID)
	for _, scale := range []float32{1.5, 2} {
		t.Run(fmt.Sprint(scale), func(t *testing.T) {
			if c, ok := u.win.Canvas().(interface{ SetScale(float32) }); ok {
				c.SetScale(scale)
			}
			size := fyne.NewSize(800/scale, 600/scale)
			u.win.Resize(size)
			u.tabs.Select(u.send.item)
			relayout(u.UI)
			pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(s.sendBtn)
			end := pos.Add(s.sendBtn.Size())
			if !s.sendBtn.Visible() || pos.X < 0 || pos.Y < 0 || end.X > size.Width || end.Y > size.Height {
				t.Errorf("Send securely at %v–%v, outside the %v window", pos, end, size)
			}
			for _, it := range u.tabs.Items {
				u.tabs.Select(it)
				if it == u.settings.item {
					for _, sec := range u.settings.sections {
						u.settings.show(sec)
						if m := it.Content.MinSize(); m.Width > size.Width || m.Height > size.Height {
							t.Errorf("Settings, %s: needs %v", sec.title, m)
						}
					}
					continue
				}
				if m := it.Content.MinSize(); m.Width > size.Width {
					t.Errorf("%s tab: needs %v", it.Text, m)
				}
				if it == u.sent.item {
					// Its list and detail fit the height too, also at 200%
					// and with a line in the status (which takes no room
					// while empty), laid out at this size.
					relayout(u.UI)
					if m := it.Content.MinSize(); m.Height > size.Height {
						t.Errorf("Sent tab: needs %v", m)
					}
					u.sent.status.SetText("Transmission confirmation copied.")
					relayout(u.UI)
					if m := it.Content.MinSize(); m.Height > size.Height {
						t.Errorf("Sent tab with a status line: needs %v", m)
					}
					u.sent.status.SetText("")
					relayout(u.UI)
					var replace fyne.CanvasObject
					for _, o := range test.LaidOutObjects(u.sent.detail) {
						if b, ok := o.(*focusButton); ok && b.Text == "Replace…" {
							replace = b
						}
					}
					if replace == nil {
						t.Fatal("no Replace…")
					}
					// Remove… is in the bar under the detail, Replace… in
					// the detail, which scrolls up and down, never sideways.
					for b, btn := range map[string]fyne.CanvasObject{"Replace…": replace, "Remove…": u.sent.removeBtn} {
						pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(btn)
						end := pos.Add(btn.Size())
						if pos.X < 0 || end.X > size.Width+1 || (btn == u.sent.removeBtn && end.Y > size.Height+1) {
							t.Errorf("Sent tab: %s at %v–%v, outside the %v window", b, pos, end, size)
						}
					}
				}
			}
		})
	}
}
