package app

import (
	"errors"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
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

// confirmThen runs do with the user's answers once every question that
// applies to the document of the item with key (report r) is answered
// yes, one dialog at a time, each setting only its own answer in ok: for
// a message its sender cancelled or replaced, the supersession first
// (confirmSuperseded); for one that is not verified, the verdict
// (confirmUnverified). A message that is both (an unverified copy of a
// cancelled one) needs both. Cancel at either stops there.
func (t *inboxTab) confirmThen(key string, r *receive.Report, verb, name string, ok desk.Confirmations, do func(desk.Confirmations)) {
	switch s := t.superseded(key); {
	case s != nil && !ok.Superseded:
		t.confirmSuperseded(s, !desk.Trusted(r) && !ok.Unverified, verb, name, func() {
			ok.Superseded = true
			t.confirmThen(key, r, verb, name, ok, do)
		})
	case !desk.Trusted(r) && !ok.Unverified:
		t.confirmUnverified(r, verb, name, func() {
			ok.Unverified = true
			t.confirmThen(key, r, verb, name, ok, do)
		})
	default:
		do(ok)
	}
}

// askRefused handles a refusal by desk for want of an answer the inbox
// list did not know was needed (it was fetched before a cancellation
// arrived, say): it asks that question and, when the user says yes, runs
// again with that answer added. It reports whether err was such a
// refusal; any other error is the caller's to show.
func (t *inboxTab) askRefused(err error, verb, name string, ok desk.Confirmations, again func(desk.Confirmations)) bool {
	var se *desk.SupersededError
	var ue *desk.UnconfirmedError
	switch {
	case errors.As(err, &se) && !ok.Superseded:
		t.confirmSuperseded(se.Superseded, se.Unverified, verb, name, func() {
			ok.Superseded = true
			again(ok)
		})
	case errors.As(err, &ue) && !ok.Unverified:
		t.confirmUnverified(ue.Report, verb, name, func() {
			ok.Unverified = true
			again(ok)
		})
	default:
		return false
	}
	return true
}

// confirmSuperseded asks before a document of a message its sender
// cancelled or replaced is opened or saved, showing the red banner (what
// cancelled or replaced it, when, why); do runs only when the user
// confirms. It answers that question only; unverifiedNext says that the
// message is not verified either, which is asked next.
func (t *inboxTab) confirmSuperseded(s *receive.Supersession, unverifiedNext bool, verb, name string, do func()) {
	title := "Cancelled by the sender"
	if s.Kind == manifest.Replace {
		title = "Replaced by the sender"
	}
	text := desk.SupersededBanner(s) + "\n\n" + name + " is from a message that is NO LONGER CURRENT. " + verb + " it anyway?"
	if unverifiedNext {
		text += "\n\nIt is not verified either: you will be asked about that next."
	}
	msg := &widget.Label{Wrapping: fyne.TextWrapWord, Text: text}
	content := container.NewBorder(nil, nil, widget.NewIcon(theme.ErrorIcon()), nil, msg)
	d, _ := t.ui.askDialog("No longer current: "+title, content, "Cancel", verb+" anyway", do)
	d.Resize(fyne.NewSize(520, 0))
	t.ui.showDialog(d)
}
