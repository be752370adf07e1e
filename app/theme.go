package app

import (
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// focusRingWidth is how thick the ring around the focused control is, in
// Fyne units: thick enough to be seen from across a desk.
const focusRingWidth = 3

// appTheme is Fyne's default theme with a focus colour that cannot be
// missed: the stock one is a faint tint that left the focused "Send
// securely" looking almost as it does unfocused.
type appTheme struct{ fyne.Theme }

// newTheme returns base (the theme in use; Fyne's default when nil) with
// the app's focus colour.
func newTheme(base fyne.Theme) fyne.Theme {
	if base == nil {
		base = theme.DefaultTheme()
	}
	if t, ok := base.(appTheme); ok {
		return t
	}
	return appTheme{base}
}

// Color makes the focus colour strong (it tints focused check boxes,
// selects and list rows) and the selection colour neutral; everything
// else is the default.
func (t appTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	switch n {
	case theme.ColorNameFocus:
		return focusColour(v)
	case theme.ColorNameSelection:
		return selectionColour(v)
	}
	return t.Theme.Color(n, v)
}

// selectionColour is the background of the selected list row (and of
// selected text): a neutral grey, so that a selected Verified message
// does not look like an error (the stock colour follows the primary
// colour preference and can be a dark red-brown). Verdicts keep their
// own colours in the row's icon and the detail's banner.
func selectionColour(v fyne.ThemeVariant) color.Color {
	if v == theme.VariantDark {
		return color.NRGBA{R: 0xb0, G: 0xb8, B: 0xc0, A: 0x40}
	}
	return color.NRGBA{R: 0x70, G: 0x78, B: 0x80, A: 0x38}
}

// focusColour is an amber tint, clearly stronger than Fyne's, yet light
// enough that white text on a focused blue button stays readable: the
// focus ring (ringRenderer) is what makes the focus impossible to miss.
func focusColour(v fyne.ThemeVariant) color.Color {
	if v == theme.VariantDark {
		return color.NRGBA{R: 0xff, G: 0xc4, B: 0x00, A: 0x55}
	}
	return color.NRGBA{R: 0xe6, G: 0x8a, B: 0x00, A: 0x55}
}

// ringColour is the colour of the focus ring: the text colour, which
// contrasts with the window background in both variants and with every
// button colour.
func ringColour() color.Color { return theme.Color(theme.ColorNameForeground) }

// ringRenderer draws a thick ring just outside a widget while it has the
// keyboard focus, over the widget's own renderer.
type ringRenderer struct {
	fyne.WidgetRenderer
	ring    *canvas.Rectangle
	focused func() bool
}

func newRingRenderer(r fyne.WidgetRenderer, focused func() bool) *ringRenderer {
	ring := canvas.NewRectangle(color.Transparent)
	ring.StrokeWidth = focusRingWidth
	ring.CornerRadius = theme.InputRadiusSize() + focusRingWidth
	rr := &ringRenderer{WidgetRenderer: r, ring: ring, focused: focused}
	rr.update()
	return rr
}

func (r *ringRenderer) Layout(size fyne.Size) {
	r.WidgetRenderer.Layout(size)
	r.ring.Move(fyne.NewPos(-focusRingWidth, -focusRingWidth))
	r.ring.Resize(size.AddWidthHeight(2*focusRingWidth, 2*focusRingWidth))
}

func (r *ringRenderer) Objects() []fyne.CanvasObject {
	return append(r.WidgetRenderer.Objects(), r.ring)
}

func (r *ringRenderer) Refresh() {
	r.WidgetRenderer.Refresh()
	r.update()
}

func (r *ringRenderer) update() {
	if r.focused() {
		r.ring.StrokeColor = ringColour()
		r.ring.Show()
	} else {
		r.ring.Hide()
	}
	r.ring.Refresh()
}

// focusButton is a button with a focus ring that Enter and Return press as
// Space does.
type focusButton struct {
	widget.Button
	focused bool
	// onEscape, when set, is what Escape does while the button has the
	// focus (Go back on the check step).
	onEscape func()
}

// newButton makes a focusButton.
func newButton(text string, icon fyne.Resource, imp widget.Importance, tapped func()) *focusButton {
	b := &focusButton{}
	b.Text, b.Icon, b.Importance, b.OnTapped = text, icon, imp, tapped
	b.ExtendBaseWidget(b)
	return b
}

// CreateRenderer adds the focus ring to the button's renderer.
func (b *focusButton) CreateRenderer() fyne.WidgetRenderer {
	b.ExtendBaseWidget(b)
	return newRingRenderer(b.Button.CreateRenderer(), func() bool { return b.focused })
}

// FocusGained shows the ring and scrolls the widget into view.
func (b *focusButton) FocusGained() {
	b.focused = true
	b.Button.FocusGained()
	revealFocused(b)
}

// FocusLost hides the ring.
func (b *focusButton) FocusLost() { b.focused = false; b.Button.FocusLost() }

// TypedKey presses the button on Enter and Return too.
func (b *focusButton) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if !b.Disabled() {
			b.Tapped(nil)
		}
		return
	case fyne.KeyEscape:
		if b.onEscape != nil {
			b.onEscape()
			return
		}
		if escapeToWindow(b, ev) {
			return
		}
	}
	b.Button.TypedKey(ev)
}

// focusCheck is a check box with a focus ring.
type focusCheck struct {
	widget.Check
	focused bool
}

func newCheck(text string, changed func(bool)) *focusCheck {
	c := &focusCheck{}
	c.Text, c.OnChanged = text, changed
	c.ExtendBaseWidget(c)
	return c
}

// CreateRenderer adds the focus ring.
func (c *focusCheck) CreateRenderer() fyne.WidgetRenderer {
	c.ExtendBaseWidget(c)
	return newRingRenderer(c.Check.CreateRenderer(), func() bool { return c.focused })
}

// FocusGained shows the ring and scrolls the widget into view.
func (c *focusCheck) FocusGained() {
	c.focused = true
	c.Check.FocusGained()
	revealFocused(c)
}

// FocusLost hides the ring.
func (c *focusCheck) FocusLost() { c.focused = false; c.Check.FocusLost() }

// TypedKey passes Escape to the window (it closes the dialog the box is
// in); widget.Check swallows it.
func (c *focusCheck) TypedKey(ev *fyne.KeyEvent) {
	if escapeToWindow(c, ev) {
		return
	}
	c.Check.TypedKey(ev)
}

// focusSelect is a drop-down with a focus ring.
type focusSelect struct {
	widget.Select
	focused bool
}

func newSelect(options []string, selected string) *focusSelect {
	s := &focusSelect{}
	s.Options, s.Selected = options, selected
	s.ExtendBaseWidget(s)
	return s
}

// CreateRenderer adds the focus ring.
func (s *focusSelect) CreateRenderer() fyne.WidgetRenderer {
	s.ExtendBaseWidget(s)
	return newRingRenderer(s.Select.CreateRenderer(), func() bool { return s.focused })
}

// FocusGained shows the ring and scrolls the widget into view.
func (s *focusSelect) FocusGained() {
	s.focused = true
	s.Select.FocusGained()
	revealFocused(s)
}

// FocusLost hides the ring.
func (s *focusSelect) FocusLost() { s.focused = false; s.Select.FocusLost() }

// TypedKey passes Escape to the window (it closes the dialog the
// drop-down is in); widget.Select swallows it. An open list of choices
// has the focus itself, so Escape there closes only the list.
func (s *focusSelect) TypedKey(ev *fyne.KeyEvent) {
	if escapeToWindow(s, ev) {
		return
	}
	s.Select.TypedKey(ev)
}

// focusEntry is a text field with a focus ring that never keeps the Tab
// key: Tab and Shift+Tab always move to the next or previous control, also
// out of a multi-line field (a note has no use for tab characters).
// OnLeft, when set, is called when the field loses the focus (checking
// what was typed once the user moves on).
type focusEntry struct {
	widget.Entry
	focused bool
	OnLeft  func()
}

func newEntry(multiLine bool, placeholder string) *focusEntry {
	e := &focusEntry{}
	e.MultiLine, e.PlaceHolder = multiLine, placeholder
	if multiLine {
		e.Wrapping = fyne.TextWrapWord
	}
	e.ExtendBaseWidget(e)
	return e
}

// AcceptsTab is false: Tab leaves the field.
func (e *focusEntry) AcceptsTab() bool { return false }

// CreateRenderer adds the focus ring and, on a single-line field (which
// has nothing to scroll up or down), passes the mouse wheel to the page
// (wheelPass).
func (e *focusEntry) CreateRenderer() fyne.WidgetRenderer {
	e.ExtendBaseWidget(e)
	r := newRingRenderer(e.Entry.CreateRenderer(), func() bool { return e.focused })
	if e.MultiLine {
		return r
	}
	return withWheelPass(r)
}

// FocusGained shows the ring and scrolls the widget into view.
func (e *focusEntry) FocusGained() {
	e.focused = true
	e.Entry.FocusGained()
	revealFocused(e)
}

// FocusLost hides the ring and reports that the field was left.
func (e *focusEntry) FocusLost() {
	e.focused = false
	e.Entry.FocusLost()
	if e.OnLeft != nil {
		e.OnLeft()
	}
}

// TypedKey never types a tab character; Escape goes to the window (it
// closes the dialog the field is in).
func (e *focusEntry) TypedKey(ev *fyne.KeyEvent) {
	if ev.Name == fyne.KeyTab || escapeToWindow(e, ev) {
		return
	}
	e.Entry.TypedKey(ev)
}

// focusSelectEntry is a text field with a picker and a focus ring.
type focusSelectEntry struct {
	widget.SelectEntry
	focused bool
	OnLeft  func()
}

func newSelectEntry(placeholder string) *focusSelectEntry {
	e := &focusSelectEntry{}
	e.PlaceHolder = placeholder
	e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip)
	e.ExtendBaseWidget(e)
	return e
}

// CreateRenderer adds the focus ring and passes the mouse wheel to the
// page (wheelPass).
func (e *focusSelectEntry) CreateRenderer() fyne.WidgetRenderer {
	e.ExtendBaseWidget(e)
	return withWheelPass(newRingRenderer(e.SelectEntry.CreateRenderer(), func() bool { return e.focused }))
}

// FocusGained shows the ring and scrolls the widget into view.
func (e *focusSelectEntry) FocusGained() {
	e.focused = true
	e.SelectEntry.FocusGained()
	revealFocused(e)
}

// FocusLost hides the ring and reports that the field was left.
func (e *focusSelectEntry) FocusLost() {
	e.focused = false
	e.SelectEntry.FocusLost()
	if e.OnLeft != nil {
		e.OnLeft()
	}
}

// SetOptions sets the choices. The drop-down button beside the field is
// a focusButton: Tab reaches it, and a stock button there would swallow
// Escape.
func (e *focusSelectEntry) SetOptions(options []string) {
	e.SelectEntry.SetOptions(options)
	if b, ok := e.ActionItem.(*widget.Button); ok {
		fb := newButton(b.Text, b.Icon, b.Importance, b.OnTapped)
		if b.Disabled() {
			fb.Disable()
		}
		e.ActionItem = fb
	}
}

// TypedKey passes Escape to the window (it closes the dialog the field is
// in); widget.SelectEntry swallows it. An open list of choices has the
// focus itself, so Escape there closes only the list.
func (e *focusSelectEntry) TypedKey(ev *fyne.KeyEvent) {
	if escapeToWindow(e, ev) {
		return
	}
	e.SelectEntry.TypedKey(ev)
}
