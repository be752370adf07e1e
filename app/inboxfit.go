package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// toolsLayout lays out the Inbox's buttons and its search field: one
// above the other, as a VBox does, on a window of ordinary height; on a
// low one (an 800×600 screen at 200% scaling), side by side, the search
// taking the width the buttons leave, so that the list below them stays
// in view.
type toolsLayout struct{ low bool }

func (l *toolsLayout) Layout(objects []fyne.CanvasObject, size fyne.Size) {
	if len(objects) != 2 {
		return
	}
	buttons, search := objects[0], objects[1]
	bm, sm := buttons.MinSize(), search.MinSize()
	p := theme.Padding()
	if l.low {
		h := fyne.Max(bm.Height, sm.Height)
		buttons.Move(fyne.NewPos(0, (h-bm.Height)/2))
		buttons.Resize(bm)
		search.Move(fyne.NewPos(bm.Width+p, (h-sm.Height)/2))
		search.Resize(fyne.NewSize(fyne.Max(sm.Width, size.Width-bm.Width-p), sm.Height))
		return
	}
	buttons.Move(fyne.NewPos(0, 0))
	buttons.Resize(fyne.NewSize(size.Width, bm.Height))
	search.Move(fyne.NewPos(0, bm.Height+p))
	search.Resize(fyne.NewSize(size.Width, sm.Height))
}

func (l *toolsLayout) MinSize(objects []fyne.CanvasObject) fyne.Size {
	if len(objects) != 2 {
		return fyne.Size{}
	}
	bm, sm := objects[0].MinSize(), objects[1].MinSize()
	p := theme.Padding()
	if l.low {
		return fyne.NewSize(bm.Width+p+sm.Width, fyne.Max(bm.Height, sm.Height))
	}
	return fyne.NewSize(fyne.Max(bm.Width, sm.Width), bm.Height+p+sm.Height)
}
