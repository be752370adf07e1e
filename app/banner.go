package app

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// banner is a tinted strip with an icon, a bold title and an explanation:
// its meaning never rests on the colour alone.
func banner(icon fyne.Resource, tint fyne.ThemeColorName, title, detail string) *fyne.Container {
	img := widget.NewIcon(icon)
	text := container.NewVBox(
		&widget.Label{Text: title, TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord},
	)
	if detail != "" {
		text.Add(&widget.Label{Text: detail, Wrapping: fyne.TextWrapWord})
	}
	return tinted(tint, container.NewBorder(nil, nil, container.NewCenter(img), nil, text))
}

// tinted is content, padded, on a strip tinted and outlined in tint.
func tinted(tint fyne.ThemeColorName, content fyne.CanvasObject) *fyne.Container {
	bg := canvas.NewRectangle(withAlpha(theme.Color(tint), 0x40))
	bg.CornerRadius = theme.InputRadiusSize()
	border := canvas.NewRectangle(color.Transparent)
	border.StrokeColor = theme.Color(tint)
	border.StrokeWidth = 2
	border.CornerRadius = theme.InputRadiusSize()
	return container.NewStack(bg, border, container.NewPadded(content))
}

func withAlpha(c color.Color, a uint8) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: a}
}

// collapsibleBanner is a banner whose explanation folds away behind a
// More button, so that it takes one line of a small screen until asked.
// It starts folded; toggle is the More/Less button.
func collapsibleBanner(icon fyne.Resource, tint fyne.ThemeColorName, title, detail string) (c *fyne.Container, toggle *focusButton) {
	more := &widget.Label{Text: detail, Wrapping: fyne.TextWrapWord}
	more.Hide()
	toggle = newButton("More", theme.MenuDropDownIcon(), widget.LowImportance, nil)
	toggle.OnTapped = func() {
		if more.Visible() {
			more.Hide()
			toggle.SetText("More")
			toggle.SetIcon(theme.MenuDropDownIcon())
		} else {
			more.Show()
			toggle.SetText("Less")
			toggle.SetIcon(theme.MenuDropUpIcon())
		}
	}
	head := container.NewBorder(nil, nil, container.NewCenter(widget.NewIcon(icon)), toggle,
		&widget.Label{Text: title, TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord})
	return tinted(tint, container.NewVBox(head, more)), toggle
}

// newFitColumn stacks objects like a VBox whose height follows its width:
// word-wrapped text is measured at the width the column was last given
// (400 before the first layout), not at none. A VBox of wrapped labels
// outside a scroll container otherwise asks for the height of one word a
// line, and the window grows to fit it.
func newFitColumn(objects ...fyne.CanvasObject) *fyne.Container {
	return container.New(&fitColumn{}, objects...)
}

type fitColumn struct{ width float32 }

func (l *fitColumn) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	l.width = size.Width
	y := float32(0)
	for _, o := range objects {
		if !o.Visible() {
			continue
		}
		o.Resize(fyne.NewSize(size.Width, o.MinSize().Height))
		h := o.MinSize().Height
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h + theme.Padding()
	}
}

func (l *fitColumn) MinSize(objects []fyne.CanvasObject) fyne.Size {
	w := l.width
	if w <= 0 {
		w = 400
	}
	var min fyne.Size
	n := 0
	for _, o := range objects {
		if !o.Visible() {
			continue
		}
		o.Resize(fyne.NewSize(w, o.Size().Height))
		m := o.MinSize()
		min.Width = fyne.Max(min.Width, m.Width)
		min.Height += m.Height
		n++
	}
	if n > 1 {
		min.Height += theme.Padding() * float32(n-1)
	}
	return min
}

// newColumns lays two objects side by side in equal halves when the
// width allows both their minimum widths, and one above the other (the
// first taking two fifths of the height) when it does not, so that a
// two-column tab does not make the window wider than a small or scaled
// screen (800×600 at 150% is 533 units wide).
func newColumns(first, second fyne.CanvasObject) *fyne.Container {
	return container.New(&columns{}, first, second)
}

// columns is newColumns' layout; width is the width it was last laid out
// at (MinSize follows the arrangement it chose there).
type columns struct{ width float32 }

// sideBySide reports whether both fit next to each other at width w.
func (*columns) sideBySide(objects []fyne.CanvasObject, w float32) bool {
	need := float32(0)
	for _, o := range objects {
		need = fyne.Max(need, o.MinSize().Width)
	}
	return w >= 2*need+theme.Padding()
}

func (c *columns) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	if len(objects) != 2 {
		return
	}
	c.width = size.Width
	p := theme.Padding()
	if c.sideBySide(objects, size.Width) {
		w := (size.Width - p) / 2
		objects[0].Move(fyne.NewPos(0, 0))
		objects[0].Resize(fyne.NewSize(w, size.Height))
		objects[1].Move(fyne.NewPos(w+p, 0))
		objects[1].Resize(fyne.NewSize(size.Width-w-p, size.Height))
		return
	}
	h0 := fyne.Max(objects[0].MinSize().Height, (size.Height-p)*2/5)
	h1 := fyne.Max(objects[1].MinSize().Height, size.Height-p-h0)
	h0 = fyne.Max(objects[0].MinSize().Height, size.Height-p-h1)
	objects[0].Move(fyne.NewPos(0, 0))
	objects[0].Resize(fyne.NewSize(size.Width, h0))
	objects[1].Move(fyne.NewPos(0, h0+p))
	objects[1].Resize(fyne.NewSize(size.Width, h1))
}

func (c *columns) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var m fyne.Size
	if c.width == 0 || c.sideBySide(objects, c.width) {
		// Side by side (also before the first layout, as a window
		// starts wide): the wider pair, the taller one.
		for _, o := range objects {
			om := o.MinSize()
			m.Width = fyne.Max(m.Width, om.Width)
			m.Height = fyne.Max(m.Height, om.Height)
		}
		return m
	}
	for _, o := range objects {
		om := o.MinSize()
		m.Width = fyne.Max(m.Width, om.Width)
		m.Height += om.Height
	}
	if len(objects) > 1 {
		m.Height += theme.Padding()
	}
	return m
}

// newTurningSplit holds split (made horizontal) and turns it vertical
// when the width is too small for both its sides next to each other, and
// back when it is not, so that the divider stays for the user to drag
// and the window is never made wider than a small or scaled screen; like
// newColumns, it asks only for the wider side's width.
func newTurningSplit(split *container.Split) *fyne.Container {
	return container.New(&turningSplit{split: split}, split)
}

type turningSplit struct{ split *container.Split }

// divider is room for the split's divider.
func (*turningSplit) divider() float32 { return 2 * theme.Padding() }

func (l *turningSplit) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	s := l.split
	wide := size.Width >= s.Leading.MinSize().Width+s.Trailing.MinSize().Width+l.divider()
	if s.Horizontal != wide {
		s.Horizontal = wide
		s.Refresh()
	}
	for _, o := range objects {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (l *turningSplit) MinSize([]fyne.CanvasObject) fyne.Size {
	s := l.split
	a, b := s.Leading.MinSize(), s.Trailing.MinSize()
	if s.Horizontal {
		return fyne.NewSize(fyne.Max(a.Width, b.Width), fyne.Max(a.Height, b.Height))
	}
	return fyne.NewSize(fyne.Max(a.Width, b.Width), a.Height+b.Height+l.divider())
}
