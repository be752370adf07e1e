package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// revealFocused scrolls each scroll container holding o, innermost first,
// just enough that o is in view. Fyne moves the focus without scrolling:
// at 800×600 and 150% Tab took the receptionist into the Patient NHI field
// below the fold, and what she typed went where she could not see it.
func revealFocused(o fyne.CanvasObject) {
	app := fyne.CurrentApp()
	if app == nil {
		return
	}
	d := app.Driver()
	c := d.CanvasForObject(o)
	if c == nil {
		return
	}
	var path []*container.Scroll
	found := scrollsTo(c.Content(), o, &path)
	for _, ov := range c.Overlays().List() {
		if found {
			break
		}
		path = path[:0]
		found = scrollsTo(ov, o, &path)
	}
	if !found {
		return
	}
	for i := len(path) - 1; i >= 0; i-- {
		s := path[i]
		view := s.Size()
		if s.Content == nil || view.Height <= 0 {
			continue
		}
		top := d.AbsolutePositionForObject(o).Y - d.AbsolutePositionForObject(s.Content).Y
		bottom := top + o.Size().Height
		off := s.Offset
		switch {
		case top < off.Y || bottom-top > view.Height:
			off.Y = top
		case bottom > off.Y+view.Height:
			off.Y = bottom - view.Height
		default:
			continue
		}
		s.ScrollToOffset(off)
	}
}

// scrollsTo reports whether target is in the tree under o (among what is
// shown), appending to path the scroll containers on the way, outermost
// first.
func scrollsTo(o, target fyne.CanvasObject, path *[]*container.Scroll) bool {
	if o == nil || !o.Visible() {
		return false
	}
	if o == target {
		return true
	}
	var kids []fyne.CanvasObject
	switch v := o.(type) {
	case *fyne.Container:
		kids = v.Objects
	case *container.Scroll:
		*path = append(*path, v)
		if scrollsTo(v.Content, target, path) {
			return true
		}
		*path = (*path)[:len(*path)-1]
		return false
	case *container.Split:
		kids = []fyne.CanvasObject{v.Leading, v.Trailing}
	case *container.AppTabs:
		if sel := v.Selected(); sel != nil {
			kids = []fyne.CanvasObject{sel.Content}
		}
	case *widget.Form:
		for _, it := range v.Items {
			kids = append(kids, it.Widget)
		}
	case *widget.PopUp:
		kids = []fyne.CanvasObject{v.Content}
	}
	for _, k := range kids {
		if scrollsTo(k, target, path) {
			return true
		}
	}
	return false
}
