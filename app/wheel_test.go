package app

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
)

// TestWheelOverFieldScrollsSettings: the mouse wheel over a text field of
// the Settings tab scrolls the page, as it does between the fields. The
// field's own sideways scroller took the wheel and moved nothing, so the
// page stopped wherever the pointer met a field.
func TestWheelOverFieldScrollsSettings(t *testing.T) {
	u, _ := settingsUI(t, false, nil)
	u.win.Resize(fyne.NewSize(800, 360))
	u.tabs.Select(u.settings.item)
	u.settings.showSection(sectionAccounts)
	a := u.settings.accounts
	a.preset.SetSelected(presetCustom)
	c := u.win.Canvas()
	var page *container.Scroll
	for _, o := range test.LaidOutObjects(u.settings.pane) {
		if s, ok := o.(*container.Scroll); ok && page == nil {
			page = s
		}
	}
	if page == nil {
		t.Fatal("the Settings section is not in a scroll")
	}
	if page.Content.MinSize().Height <= page.Size().Height {
		t.Fatalf("the page fits (%v in %v): nothing to scroll", page.Content.MinSize(), page.Size())
	}
	d := fyne.CurrentApp().Driver()
	for _, e := range []*focusEntry{a.name, a.email, a.smtp} {
		page.ScrollToTop()
		page.Offset.Y = d.AbsolutePositionForObject(e).Y - d.AbsolutePositionForObject(page).Y - 20
		page.Refresh()
		before := page.Offset.Y
		at := d.AbsolutePositionForObject(e).Add(fyne.NewPos(10, e.Size().Height/2))
		if !inside(at, d.AbsolutePositionForObject(page), page.Size()) {
			t.Fatalf("field %q is not in view", e.PlaceHolder)
		}
		// Up the page when it can go up, else down.
		dy := float32(30)
		if before < 30 {
			dy = -30
		}
		test.Scroll(c, at, 0, dy)
		if page.Offset.Y == before {
			t.Errorf("wheel over field %q: the page stayed at %v", e.PlaceHolder, page.Offset.Y)
		}
	}
}

// TestWheelOverFieldInDialog: over a field of a dialog, which has no page
// scroll, the wheel does nothing and the page under the dialog stays.
func TestWheelOverFieldInDialog(t *testing.T) {
	u, _ := settingsUI(t, false, nil)
	u.win.Resize(fyne.NewSize(800, 360))
	u.tabs.Select(u.settings.item)
	u.settings.showSection(sectionAccounts)
	var page *container.Scroll
	for _, o := range test.LaidOutObjects(u.settings.pane) {
		if s, ok := o.(*container.Scroll); ok && page == nil {
			page = s
		}
	}
	e := newEntry(false, "field")
	d, _ := u.askDialog("A field", e, "Cancel", "", nil)
	u.showDialog(d)
	at := fyne.CurrentApp().Driver().AbsolutePositionForObject(e).Add(fyne.NewPos(5, 5))
	test.Scroll(u.win.Canvas(), at, 0, -30)
	if page.Offset.Y != 0 {
		t.Errorf("the wheel over a dialog's field scrolled the page under it to %v", page.Offset.Y)
	}
}
