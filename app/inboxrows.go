package app

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

// The Inbox list's rows (issue 16). A pharmacist scans the list for
// prescriptions; a signed acknowledgement of a message the user sent
// (a "receipt") is not one, and a row that looks like every other, with
// a green Verified, invites opening it as one. Counted receipts are
// therefore left out of the list: what they say is shown where the user
// looks for it, on the message they acknowledge in the Sent tab, and the
// status line counts them ("… and 2 acknowledgements, shown in the Sent
// tab"); "Show acknowledgements" lists them again as muted "Receipt" rows
// (for the clinician who wants to see the mail itself). An
// acknowledgement that did not count (not verified, not matching a sent
// message) stays in the list, amber, saying so: it may be a forgery, and
// hiding it would hide that. A message its sender cancelled or replaced
// says so in red in its row, not only in its detail.

// isReceipt reports whether r is a verified acknowledgement that was
// counted for a message the user sent (desk.AckRemark).
func isReceipt(r *receive.Report) bool {
	return r != nil && slices.Contains(r.Remarks, desk.AckRemark)
}

// countReceipts counts the counted acknowledgements among items.
func countReceipts(items []Received) int {
	n := 0
	for _, it := range items {
		if isReceipt(it.Report) {
			n++
		}
	}
	return n
}

// receiptsText is the status line's mention of n counted
// acknowledgements ("" for none).
func receiptsText(n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return " and 1 acknowledgement of a message you sent (shown in the Sent tab)"
	}
	return fmt.Sprintf(" and %d acknowledgements of messages you sent (shown in the Sent tab)", n)
}

// refilter picks the rows the list shows from the items and refreshes
// the list; "Show acknowledgements" shows only when there are some.
func (t *inboxTab) refilter() {
	n := countReceipts(t.items)
	show := t.receipts.Checked
	q := ""
	if t.search != nil {
		q = t.search.Text
	}
	t.rows = t.rows[:0]
	for _, it := range t.items {
		if (show || !isReceipt(it.Report)) && inboxMatches(it.Report, q, t.ui.cfg.Recipients) {
			t.rows = append(t.rows, it)
		}
	}
	if n == 0 {
		t.receipts.Hide()
	} else {
		t.receipts.Text = fmt.Sprintf("Show acknowledgements of messages you sent (%d)", n)
		t.receipts.Show()
		t.receipts.Refresh()
	}
	t.list.UnselectAll()
	t.list.Refresh()
}

// newInboxRow is the list's row template: an icon, then the verdict and
// time with the red cancelled/replaced mark, sender and subject, and the
// manifest's NHI and document type.
func newInboxRow() fyne.CanvasObject {
	mark := &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Importance: widget.DangerImportance}
	mark.Hide()
	return container.NewBorder(nil, nil, widget.NewIcon(theme.ConfirmIcon()), nil,
		container.NewVBox(
			container.NewHBox(&widget.Label{Text: "verdict", TextStyle: fyne.TextStyle{Bold: true}}, mark),
			&widget.Label{Text: "from — subject", Truncation: fyne.TextTruncateEllipsis},
			&widget.Label{Text: "manifest", Truncation: fyne.TextTruncateEllipsis},
		))
}

// fillInboxRow shows it in row o (made by newInboxRow); recips name
// verified senders (senderName).
func fillInboxRow(o fyne.CanvasObject, it Received, recips []Recipient) {
	c := o.(*fyne.Container)
	var icon *widget.Icon
	var text *fyne.Container
	for _, obj := range c.Objects {
		switch v := obj.(type) {
		case *widget.Icon:
			icon = v
		case *fyne.Container:
			text = v
		}
	}
	top := text.Objects[0].(*fyne.Container)
	verdict, mark := top.Objects[0].(*widget.Label), top.Objects[1].(*widget.Label)
	line, extra := text.Objects[1].(*widget.Label), text.Objects[2].(*widget.Label)
	when := it.Received.Local().Format("2 Jan 15:04")
	r := it.Report
	imp := widget.MediumImportance
	switch {
	case isReceipt(r):
		// Muted: not a document to act on.
		icon.SetResource(theme.MailReplyIcon())
		verdict.SetText("Receipt · " + when)
		line.SetText("Acknowledgement from " + senderName(r, recips) + " — see the Sent tab")
		imp = widget.LowImportance
		extra.SetText("")
	case desk.IsAcknowledgement(r): // one that did not count
		icon.SetResource(theme.WarningIcon())
		verdict.SetText("Acknowledgement not counted · " + when)
		line.SetText(listLine(r, recips))
		imp = widget.WarningImportance
		extra.SetText(reportLook(r).Short)
	default:
		look := reportLook(r)
		icon.SetResource(look.Icon)
		verdict.SetText(look.Short + " · " + when)
		l := listLine(r, recips)
		if it.Duplicate != "" {
			l = "Duplicate · " + l
		}
		line.SetText(l)
		extra.SetText(manifestLine(r))
	}
	for _, l := range []*widget.Label{verdict, line, extra} {
		if l.Importance != imp {
			l.Importance = imp
			l.Refresh()
		}
	}
	switch {
	case it.Superseded == nil:
		mark.Hide()
	case it.Superseded.Kind == manifest.Replace:
		mark.SetText("Replaced")
		mark.Show()
	default:
		mark.SetText("Cancelled")
		mark.Show()
	}
}

// ignoredAckBanner is the amber banner on an acknowledgement that did
// not count.
func ignoredAckBanner() fyne.CanvasObject {
	return banner(theme.WarningIcon(), theme.ColorNameWarning, "An acknowledgement that did not count",
		"This message looks like a signed acknowledgement, but it does not count as one: it is not verified, or it does not match a message you sent with the same documents to its signer. Nothing in the Sent tab changed. If you expected an answer from this pharmacy, phone them.")
}

// senderName names who sent r in the Inbox list, made safe: for a
// verified message, the display name of its signed From, else the name
// the directory gives its address, else the name on the pinned key that
// signed it; otherwise (and whenever no name is known) the From address
// alone. A display name no verified signature vouches for is never
// shown: anyone can write "Dr Smith" in front of an address.
func senderName(r *receive.Report, recips []Recipient) string {
	if r == nil {
		return ""
	}
	a, err := mail.ParseAddress(r.From)
	if err != nil {
		return termsafe.String(r.From)
	}
	if r.Verdict != receive.Verified || r.Impostor || withheld(r) {
		return termsafe.String(a.Address)
	}
	if r.Signed.From && strings.TrimSpace(a.Name) != "" {
		return termsafe.String(a.Name)
	}
	for _, rc := range recips {
		if rc.Name != "" && strings.EqualFold(rc.Address, a.Address) {
			return termsafe.String(rc.Name)
		}
	}
	if u, err := mail.ParseAddress(r.SignerUserID); err == nil && u.Name != "" && strings.EqualFold(u.Address, a.Address) {
		return termsafe.String(u.Name)
	}
	return termsafe.String(a.Address)
}

// inboxMatches reports whether the Inbox search text q finds r
// (searchMatches, as in the Sent tab): by the sender's name or address,
// or by the patient NHI or document type of its signed manifest; an
// unverified message's manifest is never searched, as it is never shown
// (desk.ManifestFields).
func inboxMatches(r *receive.Report, q string, recips []Recipient) bool {
	if r == nil {
		return searchMatches(q, "")
	}
	hay := []string{senderName(r, recips)}
	if a, err := mail.ParseAddress(r.From); err == nil {
		hay = append(hay, a.Address)
	} else {
		hay = append(hay, r.From)
	}
	nhi := ""
	if len(desk.ManifestFields(r)) > 0 {
		nhi = r.Manifest.PatientNHI
		hay = append(hay, r.Manifest.DocumentType)
	}
	return searchMatches(q, nhi, hay...)
}
