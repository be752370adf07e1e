package app

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send/outbox"
)

// onScreen reports whether target is in u's window through visible
// objects only (containers and widgets' renderers), with a size.
func onScreen(u *demoUI, target fyne.CanvasObject) bool {
	var walk func(o fyne.CanvasObject) bool
	walk = func(o fyne.CanvasObject) bool {
		if !o.Visible() {
			return false
		}
		if o == target {
			return o.Size().Width > 0 && o.Size().Height > 0
		}
		var kids []fyne.CanvasObject
		switch v := o.(type) {
		case *fyne.Container:
			kids = v.Objects
		case fyne.Widget:
			kids = test.WidgetRenderer(v).Objects()
		}
		for _, k := range kids {
			if walk(k) {
				return true
			}
		}
		return false
	}
	return walk(u.win.Content())
}

// scaleTo sets the window's scale (the test driver's canvas can).
func scaleTo(u *demoUI, s float32) {
	if c, ok := u.win.Canvas().(interface{ SetScale(float32) }); ok {
		c.SetScale(s)
	}
}

// TestWindowFitsAt200: on an 800×600 screen at 200% scaling (400×300 in
// Fyne's units), in demo mode with its banner, the whole window's minimum
// size fits the screen with each tab selected: Send, Sent (with a
// confirmation shown), Inbox and Settings. Before, the window needed 337
// units of height whatever the tab (AppTabs asks for its largest
// content): the Inbox's heading, toolbar, list and detail side by side
// took 276, and the Sent tab 254 of the 239 left under the banner and the
// tab bar. The Inbox still says whose inbox it is, and the Settings
// section has the window's width (it was cut at the right beside the
// section buttons); on a window of ordinary height the headings and the
// buttons come back.
func TestWindowFitsAt200(t *testing.T) {
	u, _ := settingsUI(t, false, nil)
	scaleTo(u, 2)
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
		if it == u.sent.item && onScreen(u, u.sent.title) {
			t.Error("400×300: the Sent tab still shows its heading")
		}
		m := u.win.Content().MinSize()
		if m.Height > size.Height || m.Width > size.Width {
			t.Errorf("%s tab: the window needs %v, the screen has %v", it.Text, m, size)
		}
	}

	// The Inbox names its mailbox, in view above what scrolls.
	u.tabs.Select(u.inbox.item)
	relayout(u.UI)
	owner := u.cfg.InboxOwner
	if owner == "" {
		t.Fatal("the demo has no inbox owner")
	}
	if !onScreen(u, u.inbox.lowTitle) || !strings.Contains(u.inbox.lowTitle.Text, owner) {
		t.Errorf("400×300: the Inbox does not show %q (%q shown %v)", owner, u.inbox.lowTitle.Text, onScreen(u, u.inbox.lowTitle))
	}
	if y := u.inbox.lowTitle.Position().Y + u.inbox.lowTitle.Size().Height; y > u.inbox.item.Content.Size().Height {
		t.Errorf("the Inbox's heading ends at %v, below the tab's %v", y, u.inbox.item.Content.Size().Height)
	}

	// Settings: the section chosen from a list above it, as wide as the
	// window; no line of it wider than the pane.
	u.tabs.Select(u.settings.item)
	relayout(u.UI)
	if !onScreen(u, u.settings.pick) || onScreen(u, u.settings.sections[0].button) {
		t.Errorf("400×300: section choice shown %v, section buttons shown %v", onScreen(u, u.settings.pick), onScreen(u, u.settings.sections[0].button))
	}
	for _, s := range u.settings.sections {
		u.settings.pick.SetSelected(s.title)
		relayout(u.UI)
		if u.settings.current != s {
			t.Fatalf("choosing %q showed %q", s.title, u.settings.current.title)
		}
		if w, pane := s.content.Size().Width, u.settings.pane.Size().Width; w > pane {
			t.Errorf("section %q is %v wide in a pane of %v: cut at the right", s.title, w, pane)
		}
	}

	// Back on an ordinary window: headings and buttons as before.
	scaleTo(u, 1)
	u.win.Resize(fyne.NewSize(1024, 720))
	relayout(u.UI)
	if !onScreen(u, u.settings.sections[0].button) || onScreen(u, u.settings.pick) {
		t.Error("1024×720: the section buttons did not come back")
	}
	u.tabs.Select(u.inbox.item)
	relayout(u.UI)
	if !onScreen(u, u.inbox.title) || onScreen(u, u.inbox.lowTitle) {
		t.Error("1024×720: the Inbox's heading did not come back")
	}
	u.tabs.Select(u.sent.item)
	relayout(u.UI)
	if !onScreen(u, u.sent.title) {
		t.Error("1024×720: the Sent tab's heading did not come back")
	}
}

// TestDemoExplanationMenu: the Go menu's "Show or hide the demo
// explanation" unfolds and folds the banner's explanation while the full
// banner shows, and opens it in a dialog while the banner is its one
// compact line (400×300), where it did nothing visible before (it
// toggled the More of the hidden full banner).
func TestDemoExplanationMenu(t *testing.T) {
	u := newDemoUI(t, nil)
	var action func()
	for _, m := range u.win.MainMenu().Items {
		for _, it := range m.Items {
			if it.Label == "Show or hide the demo explanation" {
				action = it.Action
			}
		}
	}
	if action == nil {
		t.Fatal("no menu item to show the demo explanation")
	}
	explanationShown := func() bool {
		for _, o := range test.LaidOutObjects(u.banner) {
			if l, ok := o.(*widget.Label); ok && l.Text == demoExplanation {
				return isShown(l)
			}
		}
		return false
	}

	u.win.Resize(fyne.NewSize(1024, 720))
	relayout(u.UI)
	if explanationShown() {
		t.Fatal("the explanation starts unfolded")
	}
	action()
	relayout(u.UI)
	if !explanationShown() || len(u.dialogs) != 0 {
		t.Errorf("1024×720: the menu did not unfold the explanation (dialogs %d)", len(u.dialogs))
	}
	action()
	relayout(u.UI)
	if explanationShown() {
		t.Error("1024×720: the menu did not fold the explanation again")
	}

	scaleTo(u, 2)
	u.win.Resize(fyne.NewSize(400, 300))
	relayout(u.UI)
	action()
	if len(u.dialogs) != 1 {
		t.Fatalf("400×300: the menu opened %d dialogs", len(u.dialogs))
	}
	var says bool
	for _, o := range test.LaidOutObjects(u.win.Canvas().Overlays().Top()) {
		if l, ok := o.(*widget.Label); ok && l.Text == demoExplanation && l.Visible() {
			says = true
		}
	}
	if !says {
		t.Error("400×300: the dialog does not show the explanation")
	}
	u.dismissTopDialog()
	if len(u.dialogs) != 0 {
		t.Error("the explanation's dialog did not close")
	}
}

// scrollHolding is the innermost scroll container in u's window that
// holds target, or nil.
func scrollHolding(u *demoUI, target fyne.CanvasObject) *container.Scroll {
	var found *container.Scroll
	var walk func(o fyne.CanvasObject, in *container.Scroll) bool
	walk = func(o fyne.CanvasObject, in *container.Scroll) bool {
		if o == target {
			found = in
			return true
		}
		var kids []fyne.CanvasObject
		switch v := o.(type) {
		case *fyne.Container:
			kids = v.Objects
		case *container.Scroll:
			in, kids = v, []fyne.CanvasObject{v.Content}
		case fyne.Widget:
			kids = test.WidgetRenderer(v).Objects()
		}
		for _, k := range kids {
			if walk(k, in) {
				return true
			}
		}
		return false
	}
	walk(u.win.Content(), nil)
	return found
}

// TestSendFormOneScrollOnLowWindow: at 800×600 and 200% scaling (400×300
// units) the Send form's documents and recipient's details share one
// scroll above the Send button, so that the To field scrolls into a view
// of most of the tab's height; before, each had its own scroll of about
// 85 units, and the To field was cut. On an ordinary window they are two
// columns again.
func TestSendFormOneScrollOnLowWindow(t *testing.T) {
	u := newDemoUI(t, nil)
	scaleTo(u, 2)
	u.win.Resize(fyne.NewSize(400, 300))
	relayout(u.UI)
	s := u.send
	docs, to := scrollHolding(u, s.addBtn), scrollHolding(u, s.to)
	if docs == nil || docs != to {
		t.Fatalf("400×300: the documents and the To field are in different scrolls (%p, %p)", docs, to)
	}
	if h := to.Size().Height; h < 150 {
		t.Errorf("400×300: the To field scrolls in a view %v high", h)
	}
	if !onScreen(u, s.sendBtn) {
		t.Error("400×300: the Send button is not on screen")
	}
	scaleTo(u, 1)
	u.win.Resize(fyne.NewSize(1024, 720))
	relayout(u.UI)
	if scrollHolding(u, s.addBtn) == scrollHolding(u, s.to) {
		t.Error("1024×720: the documents and the details are not two columns")
	}
}

// TestInboxListOrDetailOnLowWindow: at 400×300 units the Inbox shows its
// list, and choosing a message shows its detail in the list's place with
// most of the tab's height, under a button back to the list; back there,
// the same message can be chosen again. Before, the detail sat under the
// list, out of view, 40 units high, and the whole tab scrolled; with a
// scroll around the list, a click on the tab bar went to the list
// scrolled out of view under it (Fyne finds what a click hits by the
// innermost scroll), so the tab bar is checked too.
func TestInboxListOrDetailOnLowWindow(t *testing.T) {
	u := newDemoUI(t, nil)
	scaleTo(u, 2)
	u.win.Resize(fyne.NewSize(400, 300))
	u.tabs.Select(u.inbox.item)
	relayout(u.UI)
	in := u.inbox
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	in.setItems([]Received{
		{Key: "1", Received: at, Source: "mailbox", Report: &receive.Report{
			Verdict: receive.BadSignature, Reason: "The signature does not match the content.",
			From: "someone@example.test", Subject: "Prescription", Date: at}},
		{Key: "2", Received: at, Source: "mailbox", Report: &receive.Report{
			Verdict: receive.BadSignature, Reason: "The signature does not match the content.",
			From: "other@example.test", Subject: "Prescription", Date: at}},
	})
	relayout(u.UI)
	if !onScreen(u, in.list) || onScreen(u, in.detailPane) {
		t.Fatalf("400×300: list shown %v, detail shown %v", onScreen(u, in.list), onScreen(u, in.detailPane))
	}
	for round := 0; round < 2; round++ {
		in.list.Select(0)
		relayout(u.UI)
		if onScreen(u, in.list) || !onScreen(u, in.detailPane) || !onScreen(u, in.back) {
			t.Fatalf("round %d: after choosing a message, list shown %v, detail shown %v, back shown %v",
				round, onScreen(u, in.list), onScreen(u, in.detailPane), onScreen(u, in.back))
		}
		if h, tab := in.detailPane.Size().Height, in.item.Content.Size().Height; h < tab*3/5 {
			t.Errorf("the detail is %v high in a tab of %v", h, tab)
		}
		test.Tap(in.back)
		relayout(u.UI)
		if !onScreen(u, in.list) || onScreen(u, in.detailPane) {
			t.Fatalf("round %d: back: list shown %v, detail shown %v", round, onScreen(u, in.list), onScreen(u, in.detailPane))
		}
	}

	// The Send tab's button in the tab bar takes a click.
	d := fyne.CurrentApp().Driver()
	test.TapCanvas(u.win.Canvas(), fyne.NewPos(30, d.AbsolutePositionForObject(u.tabs).Y+15))
	if u.tabs.Selected() != u.send.item {
		t.Errorf("a click on the Send tab selected %q", u.tabs.Selected().Text)
	}

	// Back on an ordinary window: list and detail side by side.
	u.tabs.Select(u.inbox.item)
	scaleTo(u, 1)
	u.win.Resize(fyne.NewSize(1024, 720))
	relayout(u.UI)
	if !onScreen(u, in.list) || !onScreen(u, in.detailPane) || onScreen(u, in.back) {
		t.Errorf("1024×720: list shown %v, detail shown %v, back shown %v", onScreen(u, in.list), onScreen(u, in.detailPane), onScreen(u, in.back))
	}
}
