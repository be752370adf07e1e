package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/fieldform"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send/outbox"
)

// Acknowledger sends the pharmacist's signed answers to received
// messages (*desk.Desk implements it; desk.Setup.Acknowledger gives the
// one whose inbox the app shows): AcknowledgeJob queues an acknowledgement
// of an inbox item in the outbox (desk refuses anything not verified,
// ErrAckNotVerified, and each kind a second time, ErrAckTwice), and
// SentAcknowledgements lists those already sent for it, and
// AcknowledgementMode is the organisation policy's mode (off: nothing is
// offered; manual: "Confirm receipt" is offered as well). Without one the
// Inbox offers no Accept or Reject.
type Acknowledger interface {
	AcknowledgeJob(ctx context.Context, inboxID string, kind ack.Kind, reason string) (desk.JobID, error)
	SentAcknowledgements(inboxID string) ([]desk.SentAck, error)
	AcknowledgementMode() (profile.AckMode, error)
}

// ackSection is the "Your answer to the sender" part of a message's
// detail: what was already sent, Accept, Reject… and, when the policy
// leaves receipts to staff, Confirm receipt.
type ackSection struct {
	t       *inboxTab
	key     string
	acker   Acknowledger
	sent    *widget.Label // what was already sent
	msg     *widget.Label // what the last press did, or why not
	accept  *focusButton
	reject  *focusButton
	receipt *focusButton    // shown only in profile.AckManual
	mode    profile.AckMode // the policy's mode, once read
	modeErr error           // why the mode cannot be read
	stopped string          // why Accept is not offered for a current message ("" when it is)
}

// ackOffText is what the section says when the organisation policy's
// acknowledgement mode is off.
const ackOffText = "Your organisation has switched acknowledgements off, so no answer can be sent from securesend: phone the sender if they need one."

// ackActions adds the answer section to the detail of it: Accept and
// Reject… on a verified message in the inbox; on anything else the
// buttons stay disabled and a line says why. A receipt (an
// acknowledgement itself) gets none.
func (t *inboxTab) ackActions(it Received) {
	r := it.Report
	if desk.IsAcknowledgement(r) { // counted or not: never answered
		return
	}
	acker := t.ui.cfg.Acknowledge
	if acker == nil && !t.ui.cfg.Demo {
		return
	}
	a := &ackSection{t: t, key: it.Key, acker: acker,
		sent: &widget.Label{Wrapping: fyne.TextWrapWord},
		msg:  &widget.Label{Wrapping: fyne.TextWrapWord}}
	a.accept = newButton("Accept", theme.ConfirmIcon(), widget.SuccessImportance, func() { a.send(ack.Accepted, "") })
	a.reject = newButton("Reject…", theme.CancelIcon(), widget.DangerImportance, a.askReject)
	a.receipt = newButton("Confirm receipt", theme.MailSendIcon(), widget.MediumImportance, func() { a.send(ack.Received, "") })
	a.accept.Disable()
	a.reject.Disable()
	a.receipt.Disable()
	a.receipt.Hide()
	t.detail.Add(heading("Your answer to the sender"))
	t.detail.Add(newFitColumn(a.sent, container.NewHBox(a.accept, a.reject, a.receipt), a.msg))
	why := ""
	switch {
	case acker == nil:
		why = "Demo mode sends no answers. With your own mail account, Accept and Reject… send the sender a signed, encrypted answer."
	case withheld(r) || !desk.Trusted(r):
		why = "Only a verified message can be accepted or rejected, so that an answer never tells a forger anything. This message is " + strings.ToLower(reportLook(r).Short) + "."
	case it.Source != "mailbox":
		why = "This message was opened from a file, not received into your inbox: answer it from your inbox."
	}
	if why != "" {
		a.msg.SetText(why)
		return
	}
	if s := it.Superseded; s != nil {
		a.stopped = "The sender cancelled this message, so it cannot be accepted."
		if s.Kind == manifest.Replace {
			a.stopped = "The sender replaced this message, so it cannot be accepted: answer the new one."
		}
	}
	a.sent.SetText("Checking what you already sent…")
	a.load()
}

// load reads the policy's acknowledgement mode and the answers already
// sent (off the UI goroutine: the policy is verified and the record is
// sealed), shows them and enables the buttons of the kinds not yet sent
// that the mode allows.
func (a *ackSection) load() {
	go func() {
		mode, merr := a.acker.AcknowledgementMode()
		sent, err := a.acker.SentAcknowledgements(a.key)
		fyne.Do(func() {
			a.mode, a.modeErr = mode, merr
			a.show(sent, err)
			if a.t.ackDone != nil {
				a.t.ackDone()
			}
		})
	}()
}

// show fills the section from the answers already sent.
func (a *ackSection) show(sent []desk.SentAck, err error) {
	if err != nil {
		a.sent.SetText("What you already sent cannot be read: " + termsafe.String(sentence(err.Error())))
	} else {
		a.sent.SetText(sentAcksText(sent, a.t.ui.cfg.Now()))
	}
	has := func(k ack.Kind) bool {
		for _, s := range sent {
			if s.Kind == k {
				return true
			}
		}
		return false
	}
	open := err == nil && a.modeErr == nil && a.mode != profile.AckOff
	enable(a.accept, open && !has(ack.Accepted) && a.stopped == "")
	enable(a.reject, open && !has(ack.Rejected))
	if a.modeErr == nil && a.mode == profile.AckManual {
		a.receipt.Show()
	} else {
		a.receipt.Hide()
	}
	enable(a.receipt, open && a.mode == profile.AckManual && !has(ack.Received))
	switch {
	case a.modeErr != nil:
		a.msg.SetText("No answer can be sent: your organisation's acknowledgement policy cannot be read (" + termsafe.String(a.modeErr.Error()) + ").")
	case a.mode == profile.AckOff:
		a.msg.SetText(ackOffText)
	case a.stopped != "" && a.msg.Text == "":
		a.msg.SetText(a.stopped)
	}
}

// enable enables or disables b.
func enable(b *focusButton, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// sentAcksText says what was already sent, one line each: "Accepted at
// 09:14", "Rejected at 09:20: reason".
func sentAcksText(sent []desk.SentAck, now time.Time) string {
	if len(sent) == 0 {
		return "You have not answered this message yet."
	}
	var lines []string
	for _, s := range sent {
		reason := termsafe.String(s.Reason)
		switch s.Kind {
		case ack.Received:
			lines = append(lines, "Receipt sent "+whenText(s.Time, now)+": received and verified")
		case ack.Accepted:
			l := "Accepted " + whenText(s.Time, now)
			if reason != "" {
				l += ": " + reason
			}
			lines = append(lines, l)
		case ack.Rejected:
			lines = append(lines, "Rejected "+whenText(s.Time, now)+": "+reason)
		}
	}
	return strings.Join(lines, "\n")
}

// reasonError is why a rejection's reason cannot be sent, nil when it
// can: what ack accepts (fieldform.Text: one line of at most
// ack.MaxReason bytes, no control, bidi or invisible character).
func reasonError(s string) error {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return errors.New("give the reason: the sender sees it")
	case len(s) > ack.MaxReason:
		return fmt.Errorf("keep the reason under %d characters and phone the sender for the details", ack.MaxReason)
	case fieldform.Text(s, ack.MaxReason) != nil:
		return errors.New("write the reason on one line, without special characters")
	}
	return nil
}

// askReject asks for the reason and, once the user confirms, sends the
// rejection.
func (a *ackSection) askReject() {
	reason := newEntry(false, "e.g. Dose unclear, please phone the pharmacy") // Escape closes the dialog
	reason.Validator = reasonError
	items := []*widget.FormItem{
		widget.NewFormItem("", &widget.Label{Wrapping: fyne.TextWrapWord, Text: "The sender receives a signed rejection with your reason, in their Sent tab. It cannot be taken back. Phone them as well if the patient is waiting."}),
		widget.NewFormItem("Reason", reason),
	}
	d := a.t.ui.askForm("Reject this message?", items, "Keep it", "Send rejection", func() { a.send(ack.Rejected, reason.Text) })
	d.Resize(fyne.NewSize(min(520, a.t.ui.win.Canvas().Size().Width-40), 0))
	a.t.ui.showDialog(d)
	a.t.ui.win.Canvas().Focus(reason)
}

// send queues the answer of kind and makes one delivery attempt (the
// outbox retries after that), off the UI goroutine, then shows the
// outcome and what has been sent.
func (a *ackSection) send(kind ack.Kind, reason string) {
	if kind == ack.Rejected {
		if err := reasonError(reason); err != nil {
			a.msg.SetText("Not sent: " + err.Error() + ".")
			return
		}
	}
	a.accept.Disable()
	a.reject.Disable()
	a.receipt.Disable()
	a.msg.SetText("Sending your answer…")
	ob := a.t.ui.cfg.Outbox
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		id, err := a.acker.AcknowledgeJob(ctx, a.key, kind, strings.TrimSpace(reason))
		msg := ""
		switch {
		case err != nil:
			msg = ackErrorText(err)
		case ob == nil || ob.Box == nil:
			msg = "Your answer is in the outbox and goes out with the next delivery."
		default:
			rec, derr := ob.Box.Deliver(ctx, id, nil)
			switch {
			case rec != nil && rec.State == outbox.Sent:
				msg = "Your answer was sent to the sender, signed and encrypted."
			case rec != nil && rec.LastError != "":
				msg = "Your answer is in the outbox and will be sent automatically (not sent yet: " + plainReason(rec.LastError) + ")."
			case derr != nil && !errors.Is(derr, outbox.ErrBusy):
				msg = "Your answer is in the outbox and will be sent automatically (not sent yet: " + plainOutboxError(derr) + ")."
			default:
				msg = "Your answer is in the outbox and will be sent automatically."
			}
		}
		sent, lerr := a.acker.SentAcknowledgements(a.key)
		fyne.Do(func() {
			if errors.Is(err, desk.ErrAckOff) {
				// The policy changed since the section was shown.
				a.mode, a.modeErr = profile.AckOff, nil
			}
			a.msg.SetText(msg)
			a.show(sent, lerr)
			a.t.ui.sent.refreshSoon()
			if a.t.ackDone != nil {
				a.t.ackDone()
			}
		})
	}()
}

// ackErrorText says plainly why an answer was not sent.
func ackErrorText(err error) string {
	switch {
	case errors.Is(err, desk.ErrAckTwice):
		return "Not sent: you already sent this answer for this message; each answer goes once."
	case errors.Is(err, desk.ErrAckOff):
		return "Not sent: your organisation has switched acknowledgements off."
	case errors.Is(err, desk.ErrAckNotVerified):
		return "Not sent: only a verified message can be accepted or rejected."
	case errors.Is(err, ack.ErrInvalid):
		return "Not sent: the reason cannot be sent as it is (" + termsafe.String(err.Error()) + "); write it on one line, without special characters."
	}
	return "Not sent: " + termsafe.String(sentence(err.Error()))
}
