package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
)

// compactBannerBelow is the window height, in Fyne's units, below which
// the demo banner shrinks to one short line: an 800×600 screen at 200%
// scaling gives 300 units, of which the full banner (two lines beside its
// More button at that width) took 62.
const compactBannerBelow = 360

// fitBanner is the demo banner in two forms, full (with its More button)
// and one compact line, of which the window shows the one that suits its
// height (windowLayout decides).
type fitBanner struct {
	full, compact fyne.CanvasObject
	small         bool
}

// newBannerBox holds full and a one-line form of the banner with title:
// the text at the caption size on the banner's tint, with no More (the
// window's title says demo mode too).
func newBannerBox(full fyne.CanvasObject, icon fyne.Resource, tint fyne.ThemeColorName, title string) (*fyne.Container, *fitBanner) {
	text := canvas.NewText(title, theme.Color(theme.ColorNameForeground))
	text.TextStyle = fyne.TextStyle{Bold: true}
	text.TextSize = theme.CaptionTextSize()
	img := canvas.NewImageFromResource(icon)
	img.FillMode = canvas.ImageFillContain
	img.SetMinSize(fyne.NewSquareSize(text.MinSize().Height))
	bg := canvas.NewRectangle(withAlpha(theme.Color(tint), 0x40))
	bg.StrokeColor, bg.StrokeWidth = theme.Color(tint), 1
	line := container.NewStack(bg,
		container.New(layout.NewCustomPaddedLayout(1, 1, theme.Padding(), theme.Padding()),
			container.New(&rowLayout{}, img, text)))
	b := &fitBanner{full: full, compact: line}
	line.Hide()
	return container.New(b, full, line), b
}

// setSmall shows the compact form (small) or the full one.
func (b *fitBanner) setSmall(small bool) {
	if b.small == small {
		return
	}
	b.small = small
	if small {
		b.full.Hide()
		b.compact.Show()
	} else {
		b.compact.Hide()
		b.full.Show()
	}
}

// Layout gives the form shown the whole area.
func (b *fitBanner) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objects {
		if o.Visible() {
			o.Move(fyne.NewPos(0, 0))
			o.Resize(size)
		}
	}
}

// MinSize is the form shown's.
func (b *fitBanner) MinSize([]fyne.CanvasObject) fyne.Size {
	if b.small {
		return b.compact.MinSize()
	}
	return b.full.MinSize()
}

// rowLayout puts objects side by side at their minimum sizes, centred
// up and down, a padding apart.
type rowLayout struct{}

func (rowLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	x := float32(0)
	for _, o := range objects {
		m := o.MinSize()
		o.Move(fyne.NewPos(x, (size.Height-m.Height)/2))
		o.Resize(m)
		x += m.Width + theme.Padding()
	}
}

func (rowLayout) MinSize(objects []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for i, o := range objects {
		m := o.MinSize()
		s.Width += m.Width
		if i > 0 {
			s.Width += theme.Padding()
		}
		s.Height = fyne.Max(s.Height, m.Height)
	}
	return s
}

// windowLayout is the window's layout: the banner on top, the tabs under
// it, the banner in its compact form while the window is lower than
// compactBannerBelow. onLow, when set, is told when the window becomes
// lower than that or no longer is, before the tabs are laid out, so that
// they can fold their headings away too.
type windowLayout struct {
	banner *fitBanner
	onLow  func(low bool)
	low    bool
}

func (l *windowLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	low := size.Height < compactBannerBelow
	l.banner.setSmall(low)
	if low != l.low {
		l.low = low
		if l.onLow != nil {
			l.onLow(low)
		}
	}
	top, rest := objects[0], objects[1]
	y := float32(0)
	if top.Visible() {
		h := top.MinSize().Height
		top.Move(fyne.NewPos(0, 0))
		top.Resize(fyne.NewSize(size.Width, h))
		y = h + theme.Padding()
	}
	rest.Move(fyne.NewPos(0, y))
	rest.Resize(fyne.NewSize(size.Width, size.Height-y))
}

func (l *windowLayout) MinSize(objects []fyne.CanvasObject) fyne.Size {
	top, rest := objects[0], objects[1]
	m := rest.MinSize()
	if top.Visible() {
		t := top.MinSize()
		m = fyne.NewSize(fyne.Max(m.Width, t.Width), m.Height+t.Height+theme.Padding())
	}
	return m
}
