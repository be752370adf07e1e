package app

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// A single-line text field scrolls its text sideways in a scroller of its
// own, and the driver gives the mouse wheel to the innermost scrollable
// object under the pointer: over a field the wheel moved nothing, and a
// Settings page full of fields stopped scrolling wherever the pointer met
// one. wheelPass lies over such a field, above the field's own scroller,
// and hands the wheel to the page the field is on. Taps, drags and the
// text cursor still reach the field: wheelPass takes nothing else.

// wheelPass passes the mouse wheel over a field on to the scrolling page
// around it.
type wheelPass struct {
	widget.BaseWidget
}

func newWheelPass() *wheelPass {
	w := &wheelPass{}
	w.ExtendBaseWidget(w)
	return w
}

// CreateRenderer draws nothing.
func (w *wheelPass) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(canvas.NewRectangle(color.Transparent))
}

// Scrolled scrolls the innermost page scroll that holds the field; with
// none (a field in a dialog, or on a page that does not scroll), the wheel
// does nothing, as before.
func (w *wheelPass) Scrolled(ev *fyne.ScrollEvent) {
	if s := pageScrollAround(w); s != nil {
		s.Scrolled(ev)
	}
}

// pageScrollAround is the innermost visible container.Scroll, in the
// window layer o is shown in (the top dialog, or else the window's
// content), whose area holds o's. Only the app's own layout is searched
// (containers, tabs, splits, scrolls, forms, pop-ups), never a widget's
// inside, so a field's own scroller is not found.
func pageScrollAround(o fyne.CanvasObject) *container.Scroll {
	d := fyne.CurrentApp().Driver()
	c := d.CanvasForObject(o)
	if c == nil {
		return nil
	}
	root := c.Content()
	if top := c.Overlays().Top(); top != nil {
		root = top
	}
	mid := d.AbsolutePositionForObject(o).Add(fyne.NewPos(o.Size().Width/2, o.Size().Height/2))
	var found *container.Scroll
	var visit func(fyne.CanvasObject)
	visit = func(x fyne.CanvasObject) {
		if x == nil || !x.Visible() {
			return
		}
		switch v := x.(type) {
		case *container.Scroll:
			// The field's middle: one scrolled partly out of the
			// page's view still has it inside.
			if inside(mid, d.AbsolutePositionForObject(v), v.Size()) {
				found = v
				visit(v.Content)
			}
		case *fyne.Container:
			for _, c := range v.Objects {
				visit(c)
			}
		case *container.AppTabs:
			if it := v.Selected(); it != nil {
				visit(it.Content)
			}
		case *container.Split:
			visit(v.Leading)
			visit(v.Trailing)
		case *widget.Form:
			for _, it := range v.Items {
				visit(it.Widget)
			}
		case *widget.PopUp:
			visit(v.Content)
		}
	}
	visit(root)
	return found
}

// inside reports whether p lies in the area at origin of size s.
func inside(p, origin fyne.Position, s fyne.Size) bool {
	return p.X >= origin.X && p.Y >= origin.Y && p.X < origin.X+s.Width && p.Y < origin.Y+s.Height
}

// wheelRenderer is a field's renderer with a wheelPass over it.
type wheelRenderer struct {
	fyne.WidgetRenderer
	pass *wheelPass
}

func withWheelPass(r fyne.WidgetRenderer) *wheelRenderer {
	return &wheelRenderer{WidgetRenderer: r, pass: newWheelPass()}
}

func (r *wheelRenderer) Layout(size fyne.Size) {
	r.WidgetRenderer.Layout(size)
	r.pass.Move(fyne.NewPos(0, 0))
	r.pass.Resize(size)
}

// Objects puts the wheelPass last: the driver takes the last scrollable
// object it meets under the pointer.
func (r *wheelRenderer) Objects() []fyne.CanvasObject {
	return append(r.WidgetRenderer.Objects(), r.pass)
}
