package app

import (
	"fmt"
	"testing"

	"fyne.io/fyne/v2"
)

// TestScaled800x600: an 800×600 screen at 150% and 200% scaling
// (FYNE_SCALE=1.5: 533×400 in Fyne's units; 2: 400×300) shows the Send
// securely button inside the window, and neither the Send, Inbox nor Settings tab needs a wider
// window (the Send tab's columns stack; Settings scrolls), also at 200%.
// (The Sent tab's split, app/outbox.go, still asks for 560 units.)
func TestScaled800x600(t *testing.T) {
	u, _ := settingsUI(t, false, nil)
	s := u.send
	addSamples(t, s)
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
				if it == u.sent.item {
					continue
				}
				if m := it.Content.MinSize(); m.Width > size.Width {
					t.Errorf("%s tab: needs %v", it.Text, m)
				}
			}
		})
	}
}
