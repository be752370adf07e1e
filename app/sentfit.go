package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// sentIntro is what the Sent tab says before a message is selected.
const sentIntro = "Select a message to see its state and transmission confirmation. Everything you send goes through the outbox first, encrypted on this computer: nothing is lost if the network goes down."

// statusLine is the Sent tab's status line (what an action did): it takes
// no room while it has nothing to say, so that at 800×600 and 200%
// scaling (400×300 in Fyne's units) the list and the detail, stacked,
// fit the window.
type statusLine struct{ widget.Label }

func newStatusLine() *statusLine {
	l := &statusLine{}
	l.Wrapping = fyne.TextWrapWord
	l.ExtendBaseWidget(l)
	l.Hide()
	return l
}

// SetText shows text, or hides the line when text is empty.
func (l *statusLine) SetText(text string) {
	l.Label.SetText(text)
	if text == "" {
		l.Hide()
	} else {
		l.Show()
	}
}

// setLow hides the Sent tab's heading on a window lower than
// compactBannerBelow, and shows it again: at 800×600 and 200% scaling the
// window, banner and tab bar included, has 239 units of height for a
// tab, and the heading took 45 of them (the tab's name says "Sent").
func (t *sentTab) setLow(low bool) {
	if t.title == nil { // not built yet: buildUI reads ui.low
		return
	}
	if low {
		t.title.Hide()
	} else {
		t.title.Show()
	}
}

// body is the Send form below its replacement notice: the documents and
// the recipient's details in two columns, each scrolling, with the
// actions below the second; on a low window (low), both in one scroll
// above the actions, as two scrolls of 45 units each showed little of
// either (the To field was cut).
func (s *sendTab) body(low bool) fyne.CanvasObject {
	actions := container.NewPadded(s.actions)
	if low {
		return container.NewBorder(nil, actions, nil, nil,
			container.NewVScroll(container.NewPadded(container.NewVBox(s.left, s.right))))
	}
	return newColumns(
		container.NewVScroll(container.NewPadded(s.left)),
		container.NewBorder(nil, actions, nil, nil, container.NewVScroll(container.NewPadded(s.right))))
}

// setLow lays the Send form out for a window lower than
// compactBannerBelow (body), or of ordinary height.
func (s *sendTab) setLow(low bool) {
	s.form.Objects[1] = s.body(low)
	s.form.Refresh()
}
