package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// settingsLayout puts the Settings tab's section buttons (side, with their
// separator) beside the section shown (pane) when the width allows both
// the buttons and the section's own width; otherwise a one-line choice of
// section (pick) above the section, which then has the whole width: at
// 800×600 and 200% scaling (400 units wide) the buttons left a section
// 220 of the 390 units it needs, and its text was cut at the right.
type settingsLayout struct {
	t *settingsTab
	// width is the width last laid out at (MinSize follows the
	// arrangement chosen there; 0 before: side by side).
	width float32
}

// sideBySide reports whether the buttons and the section shown fit next
// to each other at width w.
func (l *settingsLayout) sideBySide(side fyne.CanvasObject, w float32) bool {
	need := side.MinSize().Width + theme.Padding()
	if s := l.t.current; s != nil {
		// The section, padded, and room for its scroll bar.
		need += s.content.MinSize().Width + 2*theme.Padding() + theme.ScrollBarSize()
	}
	return w >= need
}

func (l *settingsLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	side, pick, pane := objects[0], objects[1], objects[2]
	l.width = size.Width
	if l.sideBySide(side, size.Width) {
		pick.Hide()
		side.Show()
		// As container.NewBorder with side on the left did.
		w := side.MinSize().Width
		side.Move(fyne.NewPos(0, 0))
		side.Resize(fyne.NewSize(w, size.Height))
		p := theme.Padding()
		pane.Move(fyne.NewPos(w+p, 0))
		pane.Resize(fyne.NewSize(size.Width-w-p, size.Height))
		return
	}
	side.Hide()
	pick.Show()
	p := theme.Padding()
	h := pick.MinSize().Height
	pick.Move(fyne.NewPos(p, p))
	pick.Resize(fyne.NewSize(size.Width-2*p, h))
	pane.Move(fyne.NewPos(0, h+2*p))
	pane.Resize(fyne.NewSize(size.Width, size.Height-h-2*p))
}

func (l *settingsLayout) MinSize(objects []fyne.CanvasObject) fyne.Size {
	side, pick, pane := objects[0], objects[1], objects[2]
	pm := pane.MinSize()
	if l.width == 0 || l.sideBySide(side, l.width) {
		sm := side.MinSize()
		return fyne.NewSize(sm.Width+theme.Padding()+pm.Width, fyne.Max(sm.Height, pm.Height))
	}
	k := pick.MinSize()
	p := theme.Padding()
	return fyne.NewSize(fyne.Max(k.Width+2*p, pm.Width), k.Height+2*p+pm.Height)
}

// newSectionPick is the one-line choice of section shown instead of the
// buttons on a narrow window.
func (t *settingsTab) newSectionPick() *widget.Select {
	var titles []string
	for _, s := range t.sections {
		titles = append(titles, s.title)
	}
	pick := widget.NewSelect(titles, func(title string) {
		if t.current == nil || t.current.title != title {
			t.showSection(title)
		}
	})
	pick.PlaceHolder = "Choose a section"
	pick.Hide()
	return pick
}
