package app

import (
	"testing"

	"fyne.io/fyne/v2"

	"github.com/securesend/securesend/send/outbox"
)

// TestWindowFitsAt200: on an 800×600 screen at 200% scaling (400×300 in
// Fyne's units), in demo mode with its banner, the whole window's minimum
// size fits the screen with each tab selected: Send, Sent (with a
// confirmation shown), Inbox and Settings. Before, with the Inbox tab the
// window needed 337 units of height: its heading, toolbar, list and
// detail side by side took 276.
func TestWindowFitsAt200(t *testing.T) {
	u, _ := settingsUI(t, false, nil)
	if c, ok := u.win.Canvas().(interface{ SetScale(float32) }); ok {
		c.SetScale(2)
	}
	size := fyne.NewSize(400, 300)
	u.win.Resize(size)
	relayout(u.UI)
	if !u.banner.Visible() {
		t.Fatal("demo mode without its banner")
	}
	for _, it := range u.tabs.Items {
		u.tabs.Select(it)
		if it == u.sent.item {
			u.sent.apply([]*outbox.Record{sentRecord()}, nil)
			u.sent.selectJob(sentRecord().ID)
		}
		relayout(u.UI)
		m := u.win.Content().MinSize()
		t.Logf("%s: window needs %v (tab content %v)", it.Text, m, it.Content.MinSize())
		if m.Height > size.Height || m.Width > size.Width {
			t.Errorf("%s tab: the window needs %v, the screen has %v", it.Text, m, size)
		}
	}
}
