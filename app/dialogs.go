package app

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
)

// showDialog shows d and lets Escape close it as its Cancel (or Close,
// Keep it) button would: Fyne's dialogs take no Escape of their own, so a
// keyboard user could not leave a file chooser or a question without
// finding its Cancel button by Tab.
func (u *UI) showDialog(d dialog.Dialog) {
	u.dialogs = append(u.dialogs, d)
	d.SetOnClosed(func() {
		u.dialogs = slices.DeleteFunc(u.dialogs, func(o dialog.Dialog) bool { return o == d })
	})
	d.Show()
}

// dismissTopDialog closes the dialog opened last and still open, as its
// dismiss button does; false when none is open.
func (u *UI) dismissTopDialog() bool {
	if len(u.dialogs) == 0 {
		return false
	}
	u.dialogs[len(u.dialogs)-1].Dismiss()
	return true
}

// escapeToWindow passes Escape, typed into a widget that has no use for
// it, on to the window (UI.onTypedKey): it closes the dialog the widget is
// in. It reports whether there was a window to pass it to.
func escapeToWindow(o fyne.CanvasObject, ev *fyne.KeyEvent) bool {
	if ev.Name != fyne.KeyEscape {
		return false
	}
	c := fyne.CurrentApp().Driver().CanvasForObject(o)
	if c == nil || c.OnTypedKey() == nil {
		return false
	}
	c.OnTypedKey()(ev)
	return true
}
