package app

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
)

// TestDemoBannerOneLineOnLowWindow: at 800×600 and 200% scaling (400×300
// in Fyne's units) the demo banner is one short line that still says demo
// mode (it took 62 units, two lines beside its More button); on a window
// of ordinary height it is the full banner with More, and it comes back
// when the window grows again.
func TestDemoBannerOneLineOnLowWindow(t *testing.T) {
	u := newDemoUI(t, nil)
	c := u.win.Canvas()
	setScale := func(s float32) {
		if sc, ok := c.(interface{ SetScale(float32) }); ok {
			sc.SetScale(s)
		}
	}
	says := func() (compact bool) {
		for _, o := range test.LaidOutObjects(u.banner) {
			if tx, ok := o.(*canvas.Text); ok && tx.Text == demoTitle && visibleIn(u.banner, tx) {
				return true
			}
		}
		return false
	}
	setScale(2)
	u.win.Resize(fyne.NewSize(400, 300))
	relayout(u.UI)
	h := u.banner.Size().Height
	if h > 24 || !says() {
		t.Errorf("400×300: banner %v units high, one line with the title %v", h, says())
	}
	if u.bannerToggle.Visible() && u.bannerToggle.Size().Height > 0 && isShown(u.bannerToggle) {
		t.Error("400×300: the More button still shows")
	}
	tabsTop := fyne.CurrentApp().Driver().AbsolutePositionForObject(u.tabs).Y
	if tabsTop > h+8 {
		t.Errorf("the tabs start at %v, below a banner of %v", tabsTop, h)
	}

	setScale(1)
	u.win.Resize(fyne.NewSize(1024, 720))
	relayout(u.UI)
	if says() || !isShown(u.bannerToggle) {
		t.Errorf("1024×720: the banner is not the full one with More (compact %v)", says())
	}
}

// isShown reports whether o and everything it is in are visible in u's
// window.
func isShown(o fyne.CanvasObject) bool {
	if !o.Visible() {
		return false
	}
	c := fyne.CurrentApp().Driver().CanvasForObject(o)
	return c != nil && o.Size().Height > 0 && visibleIn(c.Content(), o)
}

// visibleIn reports whether target is below root through visible
// containers only.
func visibleIn(root, target fyne.CanvasObject) bool {
	if root == target {
		return root.Visible()
	}
	if !root.Visible() {
		return false
	}
	if c, ok := root.(*fyne.Container); ok {
		for _, o := range c.Objects {
			if visibleIn(o, target) {
				return true
			}
		}
	}
	return false
}
