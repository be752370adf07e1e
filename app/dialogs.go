package app

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
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

// askDialog is a dialog whose buttons are the app's focusButtons: Escape
// on them closes the dialog (Fyne's stock dialog buttons swallow it once
// Tab has put the focus on them), Enter presses them and their focus ring
// shows. dismiss closes it; confirm, when not empty, closes it and calls
// onConfirm. The confirm button is returned to enable or disable.
func (u *UI) askDialog(title string, content fyne.CanvasObject, dismiss, confirm string, onConfirm func()) (*dialog.CustomDialog, *focusButton) {
	d := dialog.NewCustomWithoutButtons(title, content, u.win)
	cancel := newButton(dismiss, theme.CancelIcon(), widget.MediumImportance, d.Hide)
	if confirm == "" {
		d.SetButtons([]fyne.CanvasObject{cancel})
		return d, nil
	}
	ok := newButton(confirm, theme.ConfirmIcon(), widget.HighImportance, func() {
		d.Hide()
		onConfirm()
	})
	d.SetButtons([]fyne.CanvasObject{cancel, ok})
	return d, ok
}

// askForm is askDialog with a form of items: the confirm button is
// enabled only while every field the form validates is valid, as in
// Fyne's form dialog. With no confirm the form only shows.
func (u *UI) askForm(title string, items []*widget.FormItem, dismiss, confirm string, onConfirm func()) *dialog.CustomDialog {
	form := widget.NewForm(items...)
	d, ok := u.askDialog(title, form, dismiss, confirm, onConfirm)
	if ok == nil {
		return d
	}
	submitState := func(err error) {
		if err != nil {
			ok.Disable()
		} else {
			ok.Enable()
		}
	}
	submitState(form.Validate())
	form.SetOnValidationChanged(submitState)
	return d
}
