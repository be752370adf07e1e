package app

import (
	"context"
	"errors"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/send/outbox"
)

// Canceller is the part of an Outbox that cancels a sent message
// (*desk.Outbox implements it): a signed cancellation to the original's
// recipients, queued (see desk.Outbox.SendCancellation). An Outbox
// without it offers no "Cancel…" on sent messages.
type Canceller interface {
	SendCancellation(ctx context.Context, messageID, reason string) (string, error)
}

// supersedeActions adds "Replace…" (replace.go) and "Cancel…" to the
// detail of a sent message (not to a cancellation or an acknowledgement:
// they have no documents).
func (t *sentTab) supersedeActions(r *outbox.Record) {
	if !replaceable(r) {
		return
	}
	row := container.NewHBox(newButton("Replace…", theme.DocumentCreateIcon(), widget.MediumImportance, func() { t.replace(r) }))
	if c, ok := t.ui.cfg.Outbox.Box.(Canceller); ok {
		row.Add(newButton("Cancel…", theme.ContentClearIcon(), widget.DangerImportance, func() { t.askCancel(c, r) }))
	}
	t.detail.Add(row)
}

// askCancel asks for the reason and sends the cancellation of r.
func (t *sentTab) askCancel(c Canceller, r *outbox.Record) {
	reason := newEntry(true, "Why, e.g. wrong dose: a corrected prescription follows") // Escape closes the dialog
	// The form keeps "Send cancellation" disabled until there is a
	// reason, and says so beside the field, instead of closing and
	// refusing in the status line under the list.
	reason.Validator = cancelReasonError
	items := []*widget.FormItem{
		widget.NewFormItem("", &widget.Label{Wrapping: fyne.TextWrapWord, Text: "The recipients' securesend marks this message \"Cancelled by the sender\" with your reason. If it may already have been dispensed, phone the pharmacy as well."}),
		widget.NewFormItem("Reason", reason),
	}
	d := t.ui.askForm("Cancel this message?", items, "Keep it", "Send cancellation", func() { t.sendCancellation(c, r.MessageID, reason.Text) })
	d.Resize(fyne.NewSize(520, 0))
	t.ui.showDialog(d)
}

// cancelReasonError is what is wrong with a cancellation's reason: the
// pharmacist sees it, so there must be one.
func cancelReasonError(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("give the reason: the pharmacist sees it")
	}
	return nil
}

// sendCancellation queues and delivers the cancellation of messageID,
// showing the outcome in the status line.
func (t *sentTab) sendCancellation(c Canceller, messageID, reason string) {
	if strings.TrimSpace(reason) == "" {
		t.status.SetText("Not cancelled: give the reason (the pharmacist sees it).")
		return
	}
	t.status.SetText("Sending the cancellation…")
	go func() {
		msg := "Cancellation sent."
		id, err := c.SendCancellation(context.Background(), messageID, reason)
		if err == nil {
			var rec *outbox.Record
			rec, err = t.ui.cfg.Outbox.Box.Deliver(context.Background(), id, nil)
			if rec != nil && err == nil {
				_, state := stateText(rec, t.ui.cfg.Now())
				msg = "Cancellation: " + state + "."
			}
		}
		if err != nil {
			msg = "Could not cancel: " + plainOutboxError(err)
		}
		fyne.Do(func() {
			t.status.SetText(msg)
			t.refreshSoon()
			if t.actionDone != nil {
				t.actionDone()
			}
		})
	}()
}
