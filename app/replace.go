package app

import (
	"net/mail"
	"slices"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// Replacing a sent message (issue 16): "Replace…" on a sent message in
// the Sent tab opens the Send tab for the same recipients and document
// type, with the new documents (and the patient's NHI, entered again on
// purpose: a wrong patient is one reason to replace) to add. The message
// sent then names the original in its signed manifest (Supersedes, kind
// replace), which desk completes from the original's outbox record (its
// documents' hashes) and checks (same sender, same signing key, every
// original recipient): the pharmacy's copy of the original is marked
// "Replaced" with a link to the new one.

// replaceDraft is the original a Send tab draft replaces.
type replaceDraft struct {
	// MessageID is the original's Message-ID.
	MessageID string
	// SentAt is when the mail server accepted it.
	SentAt time.Time
	// To are its recipients: the replacement goes to all of them.
	To []mail.Address
	// DocType and NHI are its document type and patient, to name it.
	DocType, NHI string
}

// text names the original in words: "the Prescription for ZZZ0016 sent
// on Mon 23 Nov 2026 at 09:30".
func (r *replaceDraft) text() string {
	what := "the message"
	if r.DocType != "" {
		what = "the " + r.DocType
	}
	if r.NHI != "" {
		what += " for " + r.NHI
	}
	return what + " sent " + r.SentAt.Local().Format("on Mon 2 Jan 2006 at 15:04")
}

// replaceable reports whether r can be replaced: a sent message with
// documents (not a cancellation or an acknowledgement).
func replaceable(r *outbox.Record) bool {
	return r.State == outbox.Sent && len(r.Documents) > 0
}

// replace opens the Send tab to replace r, after asking when that would
// clear documents or a note the user has not sent yet.
func (t *sentTab) replace(r *outbox.Record) {
	s := t.ui.send
	if len(s.docs) > 0 || strings.TrimSpace(s.note.Text) != "" {
		d, _ := t.ui.askDialog("Put aside what the Send tab holds?",
			&widget.Label{Wrapping: fyne.TextWrapWord, Text: "The Send tab holds documents or a note you have not sent. The replacement starts from an empty form: they are taken off the form (the files stay where they are)."},
			"Keep them", "Replace", func() { t.startReplace(r) })
		d.Resize(fyne.NewSize(min(480, t.ui.win.Canvas().Size().Width-40), 0))
		t.ui.showDialog(d)
		return
	}
	t.startReplace(r)
}

// startReplace fills the Send tab to replace r and shows it.
func (t *sentTab) startReplace(r *outbox.Record) {
	s := t.ui.send
	if !s.startReplacing(r) {
		t.status.SetText("Not now: a message is being sent. Replace it once that is done.")
		return
	}
	t.ui.tabs.Select(s.item)
	t.ui.win.Canvas().Focus(s.addBtn)
}

// startReplacing fills the form to replace r: its recipients and
// document type, no documents, no NHI, and a banner that names r. It
// reports false while a message is being sent.
func (s *sendTab) startReplacing(r *outbox.Record) bool {
	s.mu.Lock()
	busy := s.sending
	s.mu.Unlock()
	if busy {
		return false
	}
	if !s.confirm.root.Hidden {
		s.reset()
	}
	sum := summaryOf(r)
	d := &replaceDraft{MessageID: r.MessageID, SentAt: r.Created, To: sum.To, DocType: sum.DocType, NHI: sum.NHI}
	if r.Result != nil && !r.Result.Finished.IsZero() {
		d.SentAt = r.Result.Finished
	}
	s.clearDocuments()
	s.problem.RemoveAll()
	s.cause = ""
	s.cancelCheck()
	if len(d.To) > 0 {
		to := d.To[0]
		text := to.Address
		for _, rc := range s.ui.cfg.Recipients {
			if strings.EqualFold(rc.Address, to.Address) {
				text = s.optionText(rc)
			}
		}
		s.to.SetText(text)
	}
	if slices.Contains(docTypes, d.DocType) {
		s.docType.SetSelected(d.DocType)
	} else {
		s.docType.SetSelected("Other")
	}
	s.replacing = d
	s.showReplacing()
	return true
}

// showReplacing shows (or hides) the banner of the original the draft
// replaces.
func (s *sendTab) showReplacing() {
	s.replaceBody.RemoveAll()
	d := s.replacing
	if d == nil {
		s.replaceBox.Hide()
		return
	}
	detail := "Add the corrected documents and enter the patient's NHI again. The pharmacy sees " + d.text() + " marked \"Replaced\", with a link to this one."
	if others := d.others(); len(others) > 0 {
		detail += " It also goes to " + strings.Join(others, ", ") + ", who had the original."
	}
	s.replaceBody.Add(banner(theme.MailReplyIcon(), theme.ColorNameWarning, "Replaces "+d.text(), detail))
	s.replaceBody.Add(newButton("Do not replace: a new message", theme.CancelIcon(), widget.MediumImportance, s.stopReplacing))
	s.replaceBox.Show()
}

// others are the original's recipients after the first (the To field
// holds the first), as people write them.
func (d *replaceDraft) others() []string {
	var out []string
	for i, a := range d.To {
		if i > 0 {
			out = append(out, displayAddress(a))
		}
	}
	return out
}

// stopReplacing makes the draft an ordinary new message.
func (s *sendTab) stopReplacing() {
	s.replacing = nil
	s.showReplacing()
	s.formChanged()
}

// apply makes m the replacement of the draft's original: its
// manifest names the original (desk fills in the original's hashes and
// refuses what the pharmacy would not apply), and it goes to every
// recipient of the original, the one in the To field first.
func (d *replaceDraft) apply(m *send.Message) {
	if d == nil {
		return
	}
	m.Supersedes = &manifest.Supersedes{Kind: manifest.Replace, MessageID: d.MessageID}
	for _, a := range d.To {
		if !slices.ContainsFunc(m.To, func(b mail.Address) bool { return strings.EqualFold(a.Address, b.Address) }) {
			m.To = append(m.To, a)
		}
	}
}

// replacedLine is the confirmation's line naming the original.
func replacedLine(d *replaceDraft) [2]string {
	return [2]string{"Replaces", strings.ToUpper(d.text()[:1]) + d.text()[1:] + " (Message-ID " + d.MessageID + ")"}
}

// replaceDone ends the draft's replacing once its message is in the
// outbox or sent.
func (s *sendTab) replaceDone() {
	if s.replacing != nil {
		s.replacing = nil
		s.showReplacing()
	}
}
