package app

import (
	"context"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/internal/doccheck"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// summary is what the user filled in for a message, which the mail
// server's result does not carry: the patient, the document type and the
// recipients' names. The confirmation leads with it.
type summary struct {
	NHI, DocType string
	To           []mail.Address
	// Note is the clinician's note as shown (noteText), "" without one.
	Note string
	// Replaces is the sent message this one replaces (replace.go), nil
	// for a new message.
	Replaces *replaceDraft
	// Supersedes is what an outbox record replaces or cancels
	// (sentstory.go), nil for an ordinary message.
	Supersedes *outbox.Supersedes
}

// summaryOf is the summary an outbox record keeps.
func summaryOf(r *outbox.Record) summary {
	sum := summary{NHI: r.PatientNHI, DocType: r.Subject, Note: noteText(r.Note, r.PatientNHI, r.NoteCut), Supersedes: r.Supersedes}
	for i, a := range r.Envelope.To {
		name := ""
		if i < len(r.ToNames) {
			name = r.ToNames[i]
		}
		sum.To = append(sum.To, mail.Address{Name: name, Address: a})
	}
	return sum
}

// toText names the recipients as people write them.
func (sum summary) toText(res *send.Result) string {
	if len(sum.To) == 0 {
		return recipientsText(res)
	}
	var to []string
	for _, a := range sum.To {
		to = append(to, displayAddress(a))
	}
	return strings.Join(to, ", ")
}

// toNames names the recipients by name where they have one.
func (sum summary) toNames(res *send.Result) string {
	var to []string
	for _, a := range sum.To {
		if a.Name != "" {
			to = append(to, a.Name)
		} else {
			to = append(to, a.Address)
		}
	}
	if len(to) == 0 {
		return recipientsText(res)
	}
	return strings.Join(to, ", ")
}

// confirmView is the transmission confirmation: the fax machine's "OK"
// report, in plain words.
type confirmView struct {
	ui     *UI
	root   *fyne.Container
	body   *fyne.Container
	text   string
	status *widget.Label
	onDone func()
	// another is Send another, focused when the confirmation shows.
	another *focusButton
}

func newConfirmView(u *UI, onDone func()) *confirmView {
	c := &confirmView{ui: u, onDone: onDone}
	c.body = container.NewVBox()
	copyBtn := newButton("Copy", theme.ContentCopyIcon(), widget.MediumImportance, c.onCopy)
	saveBtn := newButton("Save as PDF…", theme.DocumentSaveIcon(), widget.MediumImportance, c.onSavePDF)
	c.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	c.another = newButton("Send another", theme.MailSendIcon(), widget.HighImportance, onDone)
	c.root = container.NewBorder(nil, container.NewPadded(newFitColumn(container.NewHBox(c.another, copyBtn, saveBtn), c.status)), nil, nil,
		container.NewVScroll(container.NewPadded(c.body)))
	return c
}

// show fills the view from res and sum and shows it.
func (c *confirmView) show(res *send.Result, sum summary) {
	c.body.RemoveAll()
	c.text = confirmationText(res, sum, c.ui.cfg.Protection)
	title := "Sent securely to " + sum.toNames(res) + "."
	if sum.Replaces != nil {
		title += " It replaces " + sum.Replaces.text() + "."
	}
	c.body.Add(banner(theme.ConfirmIcon(), theme.ColorNameSuccess, title,
		"Your mail server accepted the message over an encrypted connection. This is your transmission confirmation: Save as PDF files it with the patient's notes."))
	c.body.Add(confirmationDetail(c.ui, res, sum, c.status.SetText))
	c.status.SetText("")
	c.root.Show()
	c.ui.win.Canvas().Focus(c.another)
}

// confirmationDetail shows a confirmation: what a receptionist files
// first, then the technical lines under "Technical details", collapsed.
// say reports what a copy button did.
func confirmationDetail(u *UI, res *send.Result, sum summary, say func(string)) fyne.CanvasObject {
	form := widget.NewForm()
	for _, l := range summaryLines(res, sum, u.cfg.Protection) {
		form.Append(l[0], valueLabel(l[1]))
	}
	tech := widget.NewForm()
	for _, l := range technicalLines(res) {
		switch l[0] {
		case "Certificate SHA-256":
			tech.Append(l[0], hashRow(u, l[1], "certificate fingerprint", say))
		default:
			tech.Append(l[0], valueLabel(l[1]))
		}
	}
	for _, d := range res.Documents {
		tech.Append("SHA-256", container.NewVBox(valueLabel(d.Name), hashRow(u, d.SHA256, "SHA-256 of "+d.Name, say)))
	}
	acc := widget.NewAccordion(widget.NewAccordionItem("Technical details (server, encryption, fingerprints)", tech))
	return container.NewVBox(form, acc)
}

// valueLabel shows a value wrapped between words, selectable for copying.
func valueLabel(text string) *widget.Label {
	return &widget.Label{Text: text, Wrapping: fyne.TextWrapWord, Selectable: true}
}

// hashRow shows a long hex value shortened to its first and last groups,
// with a button that copies it whole.
func hashRow(u *UI, hex, what string, say func(string)) fyne.CanvasObject {
	b := newButton("Copy", theme.ContentCopyIcon(), widget.LowImportance, func() {
		u.app.Clipboard().SetContent(hex)
		say("Copied the " + what + ".")
	})
	return container.NewBorder(nil, nil, nil, b, valueLabel(shortHash(hex)))
}

// shortHash is a hex value as its first two and last two groups of four
// ("7492 99c0 … bd51 5154"); short values are grouped whole.
func shortHash(hex string) string {
	g := groupHex(hex)
	parts := strings.Fields(g)
	if len(parts) <= 5 {
		return g
	}
	return strings.Join(parts[:2], " ") + " … " + strings.Join(parts[len(parts)-2:], " ")
}

// groupHex writes a hex value in groups of four, so it wraps between
// groups and can be read aloud.
func groupHex(hex string) string {
	hex = strings.ReplaceAll(hex, " ", "")
	var b strings.Builder
	for i := 0; i < len(hex); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(hex[i:min(i+4, len(hex))])
	}
	return b.String()
}

func (c *confirmView) onCopy() {
	c.ui.app.Clipboard().SetContent(c.text)
	c.status.SetText("Copied.")
}

func (c *confirmView) onSavePDF() {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		c.savePDF(w, w.URI().Name())
	}, c.ui.win)
	d.SetFileName("transmission-confirmation-" + c.ui.cfg.Now().Format("2006-01-02-1504") + ".pdf")
	c.ui.showDialog(d)
}

// savePDF writes the confirmation as PDF to w and closes it.
func (c *confirmView) savePDF(w io.WriteCloser, name string) {
	c.status.SetText(savePDF(w, name, c.text))
}

// savePDF writes text as a PDF to w, closes it and says how it went.
func savePDF(w io.WriteCloser, name, text string) string {
	err := doccheck.TextToPDF(context.Background(), w, strings.Split(text, "\n"))
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "Could not save the PDF: " + err.Error()
	}
	return "Saved " + name + "."
}

func recipientsText(res *send.Result) string {
	var to []string
	for _, a := range res.Accepted {
		to = append(to, a.Address)
	}
	if len(to) == 0 {
		return "the recipient"
	}
	return strings.Join(to, ", ")
}

// stateLine is the State line of a confirmation.
const stateLine = "Sent: your mail server accepted the message for delivery"

// summaryLines are the lines a confirmation leads with: patient, document
// type, recipients, documents, time, state and protection.
func summaryLines(res *send.Result, sum summary, protectionLine string) [][2]string {
	when := res.Finished
	if when.IsZero() {
		when = res.Started
	}
	nhiText := sum.NHI
	if nhiText == "" {
		nhiText = "None given"
	}
	docType := sum.DocType
	if docType == "" {
		docType = "Not recorded"
	}
	var docs []string
	for _, d := range res.Documents {
		docs = append(docs, fmt.Sprintf("%s (%s)", d.Name, sizeText(d.Size)))
	}
	if len(docs) == 0 {
		docs = []string{"None"}
	}
	content := protectionLine
	switch {
	case res.Encrypted:
		content = "Signed and encrypted with OpenPGP (PGP/MIME): only the recipient can read it, and any change would show"
	case res.Signed:
		content = "Signed with OpenPGP (PGP/MIME), not encrypted: any change would show, but the mail servers could read it"
	case content == "":
		content = "Neither signed nor encrypted: protected by TLS on the way to your mail server only"
	}
	lines := [][2]string{
		{"Patient NHI", nhiText},
		{"Document type", docType},
	}
	if sum.Note != "" {
		lines = append(lines, [2]string{"Note", sum.Note})
	}
	switch {
	case sum.Replaces != nil:
		lines = append(lines, replacedLine(sum.Replaces))
	case sum.Supersedes != nil:
		lines = append(lines, supersedesLine(sum.Supersedes))
	}
	lines = append(lines, [][2]string{
		{"To", sum.toText(res)},
		{"Documents", strings.Join(docs, "\n")},
		{"Sent at", when.Local().Format("Mon 2 Jan 2006, 15:04:05 MST")},
		{"State", stateLine},
		{"Content", content},
	}...)
	for _, r := range res.Rejected {
		lines = append(lines, [2]string{"Refused", fmt.Sprintf("%s: %d %s", r.Address, r.Reply.Code, r.Reply.Text)})
	}
	return lines
}

// technicalLines are the lines under "Technical details": the server, its
// reply, the connection and the identifiers.
func technicalLines(res *send.Result) [][2]string {
	queue := res.QueueID
	if queue == "" {
		queue = "(the server gave none)"
	}
	security := "TLS from the first byte (implicit TLS)"
	if res.Security == "starttls" {
		security = "STARTTLS (upgraded to TLS before signing in)"
	}
	requiretls := "not requested"
	if res.RequireTLS {
		requiretls = "yes: onward delivery must also use TLS (REQUIRETLS)"
	}
	lines := [][2]string{
		{"Server", res.Server},
		{"Server reply", strings.TrimSpace(fmt.Sprintf("%d %s %s", res.Reply.Code, res.Reply.EnhancedCode, res.Reply.Text))},
		{"Queue ID", queue},
		{"Connection", fmt.Sprintf("%s, %s", res.TLS.Version, res.TLS.CipherSuite)},
		{"Security", security},
		{"Certificate", fmt.Sprintf("%s, issued by %s, valid until %s", res.TLS.CertSubject, res.TLS.CertIssuer, res.TLS.CertExpiry.Format("2 Jan 2006"))},
		{"Certificate SHA-256", res.TLS.CertSHA256},
		{"REQUIRETLS", requiretls},
		{"Size", sizeText(res.Size)},
		{"Message-ID", res.MessageID},
	}
	if res.SignerFingerprint != "" {
		lines = append(lines, [2]string{"Signed with key", groupFingerprint(res.SignerFingerprint)})
	}
	return append(lines, [2]string{"Took", res.Finished.Sub(res.Started).Round(time.Millisecond).String()})
}

// confirmationText is the whole confirmation as plain text, for Copy and
// the PDF: the summary first, then every technical line and every
// document's full SHA-256.
func confirmationText(res *send.Result, sum summary, protection string) string {
	var b strings.Builder
	b.WriteString("securesend transmission confirmation\n\n")
	for _, l := range summaryLines(res, sum, protection) {
		fmt.Fprintf(&b, "%-20s %s\n", l[0]+":", strings.ReplaceAll(l[1], "\n", "\n"+strings.Repeat(" ", 21)))
	}
	b.WriteString("\nTechnical details\n")
	for _, l := range technicalLines(res) {
		v := l[1]
		if l[0] == "Certificate SHA-256" {
			v = groupHex(v)
		}
		fmt.Fprintf(&b, "%-20s %s\n", l[0]+":", v)
	}
	b.WriteString("\nDocuments:\n")
	for _, d := range res.Documents {
		fmt.Fprintf(&b, "  %s (%s, %d bytes)\n    SHA-256 %s\n", d.Name, d.ContentType, d.Size, d.SHA256)
	}
	return b.String()
}
