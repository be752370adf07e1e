package app

import (
	"strings"
	"time"

	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/send/outbox"
)

// The Sent record tells the whole story (issue 16): the clinician's note,
// what a replacement or cancellation supersedes ("Replaces the
// Prescription for ZZZ0016 sent at 09:30"), and on the original, what
// replaced or cancelled it (desk.Tracking.SupersededBy).

// noteText is a record's note as the Sent tab and the confirmation show
// it: without the "Patient NHI:" line the Send tab puts first (the NHI has
// its own line), made safe, and saying so when the record keeps only the
// start of it.
func noteText(note, nhi string, cut bool) string {
	if nhi != "" {
		note = strings.TrimPrefix(note, "Patient NHI: "+nhi)
	}
	note = strings.TrimSpace(termsafe.Text(note))
	if cut && note != "" {
		note += " … (the rest is in the message as sent)"
	}
	return note
}

// originalText names the message s supersedes: "the Prescription for
// ZZZ0016 sent on Mon 23 Nov 2026 at 09:30".
func originalText(s *outbox.Supersedes) string {
	d := replaceDraft{MessageID: s.MessageID, SentAt: s.SentAt, DocType: termsafe.String(s.Subject), NHI: termsafe.String(s.PatientNHI)}
	if s.SentAt.IsZero() {
		what := "the message"
		if d.DocType != "" {
			what = "the " + d.DocType
		}
		if d.NHI != "" {
			what += " for " + d.NHI
		}
		return what + " with Message-ID " + s.MessageID
	}
	return d.text()
}

// supersedesLine is the confirmation's line naming what a record replaces
// or cancels: ("Replaces", "The Prescription for … (Message-ID …)").
func supersedesLine(s *outbox.Supersedes) [2]string {
	label := "Replaces"
	if s.Kind == manifest.Cancel {
		label = "Cancels"
	}
	text := originalText(s)
	if !strings.Contains(text, "Message-ID") {
		text += " (Message-ID " + s.MessageID + ")"
	}
	return [2]string{label, strings.ToUpper(text[:1]) + text[1:]}
}

// supersedesText is a replacement's or cancellation's own line in the
// list: "Replaces the Prescription for ZZZ0016 sent on … at 09:30".
func supersedesText(s *outbox.Supersedes) string {
	l := supersedesLine(s)
	if i := strings.Index(l[1], " (Message-ID "); i > 0 {
		l[1] = l[1][:i]
	}
	return l[0] + " " + strings.ToLower(l[1][:1]) + l[1][1:]
}

// supersededText says what replaced or cancelled a sent message:
// "Replaced by your message sent at 10:42", or that the replacement is on
// its way.
func supersededText(s *desk.Superseding, now time.Time) string {
	what := "Replaced"
	if s.Kind == manifest.Cancel {
		what = "Cancelled"
	}
	switch s.State {
	case outbox.Sent:
		return what + " by your message sent " + whenText(s.Time, now)
	case outbox.PossiblySent:
		return what + " by your message that may have been sent " + whenText(s.Time, now)
	}
	noun := "replacement"
	if s.Kind == manifest.Cancel {
		noun = "cancellation"
	}
	return "Your " + noun + " of it is waiting to be sent (queued " + whenText(s.Time, now) + ")"
}

// storyText is what a list row says of a record's place in a
// replacement or cancellation, "" for an ordinary message: what replaced
// or cancelled it, else what it replaces or cancels.
func storyText(r *outbox.Record, tr desk.Tracking, now time.Time) string {
	if s := tr.SupersededBy; s != nil {
		return supersededText(s, now)
	}
	if r.Supersedes != nil {
		return supersedesText(r.Supersedes)
	}
	return ""
}

// supersedesTitle is what the Sent detail's headline adds for a
// replacement or cancellation, as the confirmation's does: " It replaces
// the Prescription for ZZZ0016 sent on … at 09:30."; "" for an ordinary
// message.
func supersedesTitle(s *outbox.Supersedes) string {
	if s == nil {
		return ""
	}
	verb := "replaces"
	if s.Kind == manifest.Cancel {
		verb = "cancels"
	}
	return " It " + verb + " " + originalText(s) + "."
}

// storyDetail adds to the Sent tab's detail of r what replaced or
// cancelled it, with a button to show that message: in red once sent, so
// that nobody files the original as current. For a replacement or
// cancellation, whose headline names the original, a button shows the
// original when it is still in the Sent list.
func (t *sentTab) storyDetail(r *outbox.Record, tr desk.Tracking) {
	if r.Supersedes != nil {
		for _, o := range t.recs {
			if o.ID != r.ID && o.MessageID == r.Supersedes.MessageID {
				id := o.ID
				t.detail.Add(container.NewHBox(newButton("Show the original", theme.NavigateBackIcon(), widget.MediumImportance, func() { t.selectJob(id) })))
				break
			}
		}
	}
	s := tr.SupersededBy
	if s == nil {
		return
	}
	now := t.ui.cfg.Now()
	detail := "The pharmacy's securesend marks this message \"Replaced\" and links it to the new one; file the new one's confirmation with the patient's notes."
	if s.Kind == manifest.Cancel {
		detail = "The pharmacy's securesend marks this message \"Cancelled by the sender\" with your reason. If it may already have been dispensed, phone the pharmacy."
	}
	colour := theme.ColorNameError
	if s.State != outbox.Sent && s.State != outbox.PossiblySent {
		colour = theme.ColorNameWarning
		detail = "Until it is sent, the pharmacy still treats this message as current."
	}
	t.detail.Add(banner(theme.MailReplyIcon(), colour, supersededText(s, now)+".", detail))
	job := s.Job
	t.detail.Add(container.NewHBox(newButton("Show the "+map[bool]string{true: "cancellation", false: "replacement"}[s.Kind == manifest.Cancel],
		theme.NavigateNextIcon(), widget.MediumImportance, func() { t.selectJob(job) })))
}

// storyForm adds to the form of a record not sent (yet) its note and what
// it replaces or cancels.
func storyForm(add func(k, v string), sum summary) {
	if sum.Note != "" {
		add("Note", sum.Note)
	}
	if sum.Supersedes != nil {
		l := supersedesLine(sum.Supersedes)
		add(l[0], l[1])
	}
}
