package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
)

// The inbox's view of cancellations and replacements (issue 16): a red
// banner on a message its sender cancelled or replaced, with a link to
// the replacement; a note (red when it changed nothing) on the
// cancellation or replacement itself; and a question before a document
// that is no longer current is opened or saved.

// showSupersession adds the banners of it's cancellation or replacement
// to the detail view.
func (t *inboxTab) showSupersession(it Received) {
	if s := it.Superseded; s != nil {
		title := "Cancelled by the sender — do not dispense"
		if s.Kind == manifest.Replace {
			title = "Replaced by the sender — use the new message"
		}
		t.detail.Add(banner(theme.ErrorIcon(), theme.ColorNameError, title, desk.SupersededBanner(s)))
		if s.Kind == manifest.Replace {
			if i := t.indexOf(s.ByID); i >= 0 {
				t.detail.Add(&widget.Button{Text: "Show the new message (#" + s.ByID + ")", Icon: theme.NavigateNextIcon(),
					OnTapped: func() { t.list.Select(i) }})
			}
		}
	}
	if note, warn := desk.SupersedesNote(it.Supersedes); note != "" {
		if warn {
			t.detail.Add(banner(theme.ErrorIcon(), theme.ColorNameError, "This cancellation or replacement changed nothing", note))
		} else {
			t.detail.Add(&widget.Label{Text: note, Wrapping: fyne.TextWrapWord})
		}
	}
}

// indexOf is the position in the list of the item with key, -1 when it
// is not shown there.
func (t *inboxTab) indexOf(key string) int {
	for i := range t.rows {
		if t.rows[i].Key == key {
			return i
		}
	}
	return -1
}

// superseded is the supersession of the item with key, nil when it is
// current.
func (t *inboxTab) superseded(key string) *receive.Supersession {
	for i := range t.items {
		if t.items[i].Key == key {
			return t.items[i].Superseded
		}
	}
	return nil
}

// current reports whether the item with key was neither cancelled nor
// replaced by its sender.
func (t *inboxTab) current(key string) bool { return t.superseded(key) == nil }

// confirmNotCurrent asks before a document is opened or saved: for a
// message its sender cancelled or replaced, showing the red banner;
// otherwise (not verified) as confirmUnverified. do runs only when the
// user confirms.
func (t *inboxTab) confirmNotCurrent(key string, r *receive.Report, verb, name string, do func()) {
	s := t.superseded(key)
	if s == nil {
		t.confirmUnverified(r, verb, name, do)
		return
	}
	msg := &widget.Label{Wrapping: fyne.TextWrapWord, Text: desk.SupersededBanner(s) + "\n\n" + name + " is from a message that is NO LONGER CURRENT. " + verb + " it anyway?"}
	content := container.NewBorder(nil, nil, widget.NewIcon(theme.ErrorIcon()), nil, msg)
	d := dialog.NewCustomConfirm("No longer current", verb+" anyway", "Cancel", content, func(ok bool) {
		if ok {
			do()
		}
	}, t.ui.win)
	d.Resize(fyne.NewSize(520, 0))
	t.ui.showDialog(d)
}
