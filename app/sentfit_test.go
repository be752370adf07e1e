package app

import (
	"testing"

	"fyne.io/fyne/v2"

	"github.com/securesend/securesend/send/outbox"
)

// TestSentFitsAt200: on an 800×600 screen at 200% (400×300 in Fyne's
// units), opened at that scale, the Sent tab with a sent message's
// confirmation shown needs no more than the 300 units of height there
// are, its list above its detail; also with a line in its status. Before,
// the status line kept a three-line introduction and the tab needed 331.
func TestSentFitsAt200(t *testing.T) {
	u, _ := settingsUI(t, false, nil)
	if c, ok := u.win.Canvas().(interface{ SetScale(float32) }); ok {
		c.SetScale(2)
	}
	size := fyne.NewSize(400, 300)
	u.win.Resize(size)
	u.tabs.Select(u.sent.item)
	u.sent.apply([]*outbox.Record{sentRecord()}, nil)
	u.sent.selectJob(sentRecord().ID)
	relayout(u.UI)
	if !u.sent.list.Visible() || u.sent.selected != sentRecord().ID {
		t.Fatal("the sent message is not shown")
	}
	if m := u.sent.item.Content.MinSize(); m.Height > size.Height || m.Width > size.Width {
		t.Errorf("the Sent tab needs %v in the %v window", m, size)
	}
	u.sent.status.SetText("Transmission confirmation copied.")
	relayout(u.UI)
	if m := u.sent.item.Content.MinSize(); m.Height > size.Height {
		t.Errorf("with a status line, the Sent tab needs %v in the %v window", m, size)
	}
	u.sent.status.SetText("")
	if u.sent.status.Visible() {
		t.Error("an empty status line still takes room")
	}
}
