package app

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/internal/doccheck"
	"github.com/securesend/securesend/send"
)

// confirmView is the transmission confirmation: the fax machine's "OK"
// report, in plain words.
type confirmView struct {
	ui     *UI
	root   *fyne.Container
	body   *fyne.Container
	text   string
	status *widget.Label
	onDone func()
}

func newConfirmView(u *UI, onDone func()) *confirmView {
	c := &confirmView{ui: u, onDone: onDone}
	c.body = container.NewVBox()
	copyBtn := &widget.Button{Text: "Copy", Icon: theme.ContentCopyIcon(), OnTapped: c.onCopy}
	saveBtn := &widget.Button{Text: "Save as PDF…", Icon: theme.DocumentSaveIcon(), OnTapped: c.onSavePDF}
	c.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	another := &widget.Button{Text: "Send another", Icon: theme.MailSendIcon(), Importance: widget.HighImportance, OnTapped: onDone}
	c.root = container.NewBorder(nil, container.NewPadded(container.NewBorder(nil, nil, container.NewHBox(copyBtn, saveBtn, another), nil, c.status)), nil, nil,
		container.NewVScroll(container.NewPadded(c.body)))
	return c
}

// show fills the view from res and shows it.
func (c *confirmView) show(res *send.Result) {
	c.body.RemoveAll()
	c.text = confirmationText(res, c.ui.cfg.Protection)
	to := recipientsText(res)
	c.body.Add(banner(theme.ConfirmIcon(), theme.ColorNameSuccess,
		"Sent securely to "+to+".",
		"The mail server accepted the message over an encrypted connection. This is your transmission confirmation."))
	form := widget.NewForm()
	for _, l := range confirmationLines(res, c.ui.cfg.Protection) {
		form.Append(l[0], &widget.Label{Text: l[1], Wrapping: fyne.TextWrapBreak, Selectable: true})
	}
	c.body.Add(form)
	c.body.Add(heading("Documents"))
	for _, d := range res.Documents {
		c.body.Add(&widget.Label{Text: fmt.Sprintf("%s — %s, %s\nSHA-256 %s", d.Name, d.ContentType, sizeText(d.Size), d.SHA256), Wrapping: fyne.TextWrapBreak, Selectable: true})
	}
	c.status.SetText("")
	c.root.Show()
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
	d.Show()
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

// confirmationLines are the label/value pairs of the confirmation.
func confirmationLines(res *send.Result, protectionLine string) [][2]string {
	when := res.Finished
	if when.IsZero() {
		when = res.Started
	}
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
		{"Sent at", when.Local().Format("Mon 2 Jan 2006, 15:04:05 MST")},
		{"To", recipientsText(res)},
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
		{"Took", res.Finished.Sub(res.Started).Round(time.Millisecond).String()},
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
	extra := [][2]string{{"Content", content}}
	if res.SignerFingerprint != "" {
		extra = append(extra, [2]string{"Signed with key", groupFingerprint(res.SignerFingerprint)})
	}
	lines = append(lines[:3], append(extra, lines[3:]...)...)
	for _, r := range res.Rejected {
		lines = append(lines, [2]string{"Refused", fmt.Sprintf("%s: %d %s", r.Address, r.Reply.Code, r.Reply.Text)})
	}
	return lines
}

// confirmationText is the confirmation as plain text, for Copy.
func confirmationText(res *send.Result, protection string) string {
	var b strings.Builder
	b.WriteString("securesend transmission confirmation\n\n")
	for _, l := range confirmationLines(res, protection) {
		fmt.Fprintf(&b, "%-20s %s\n", l[0]+":", l[1])
	}
	b.WriteString("\nDocuments:\n")
	for _, d := range res.Documents {
		fmt.Fprintf(&b, "  %s (%s, %d bytes)\n    SHA-256 %s\n", d.Name, d.ContentType, d.Size, d.SHA256)
	}
	return b.String()
}
