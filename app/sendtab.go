package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/internal/doccheck"
	"github.com/securesend/securesend/internal/nhi"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// Document types offered in the Send tab; the chosen one is the subject.
var docTypes = []string{"Prescription", "Referral", "Results", "Other"}

// sendTab is the clinician's tab: documents, recipient, optional details,
// Send securely, progress, then the transmission confirmation.
type sendTab struct {
	ui   *UI
	item *container.TabItem

	docs    []*doccheck.Info
	docBox  *fyne.Container // one row per accepted document
	refused *fyne.Container // one row per refused file
	combine *widget.Check
	// checkMsg says documents are being checked; checking counts the
	// checks under way.
	checkMsg *widget.Label
	checking int
	// addDone, when set (tests), is called on the UI goroutine after
	// added files have been checked and listed.
	addDone func()
	// thumbnail makes a document's picture (doccheck.Thumbnail; tests
	// replace it). It runs off the UI goroutine.
	thumbnail func(info *doccheck.Info, max int) (image.Image, error)
	// samplesBtn adds the sample documents (demo mode only).
	samplesBtn *widget.Button
	// from says who sends; signing says whether what is sent is signed,
	// and with which key.
	from    *widget.Label
	signing *widget.Label
	to      *widget.SelectEntry
	// toOptions are the picker's entries.
	toOptions []string
	nhiEntry  *widget.Entry
	nhiMsg    *widget.Label
	docType   *widget.Select
	note      *widget.Entry
	problem   *fyne.Container // why the last attempt did not send
	sendBtn   *widget.Button
	progress  *widget.ProgressBar
	cancel    *widget.Button
	status    *widget.Label
	busy      *fyne.Container

	form    fyne.CanvasObject
	confirm *confirmView
	stack   *fyne.Container

	mu         sync.Mutex
	cancelSend context.CancelFunc
	// job is the outbox job the tab is sending now (it announces its own
	// outcome); guarded by mu.
	job     string
	sending bool
	// sendDone, when set (tests), is called on the UI goroutine after a
	// send attempt has been shown.
	sendDone func()
}

func newSendTab(u *UI) *sendTab {
	s := &sendTab{ui: u, thumbnail: doccheck.Thumbnail}
	s.buildUI()
	return s
}

func (s *sendTab) tabItem() *container.TabItem { return s.item }

func (s *sendTab) buildUI() {
	s.docBox = container.NewVBox()
	s.refused = container.NewVBox()
	s.checkMsg = &widget.Label{Text: "Checking…"}
	s.checkMsg.Hide()
	s.combine = widget.NewCheck("Combine images and scanned pages into one PDF", nil)
	s.combine.SetChecked(true)

	s.to = widget.NewSelectEntry(nil)
	s.to.PlaceHolder = "Pick a recipient or type an e-mail address"
	s.setRecipients("")
	s.nhiEntry = &widget.Entry{PlaceHolder: "e.g. ZZZ0016 (optional)"}
	s.nhiMsg = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance}
	s.nhiMsg.Hide()
	s.nhiEntry.OnChanged = s.onNHIChanged
	s.docType = &widget.Select{Options: docTypes, Selected: docTypes[0]}
	s.note = widget.NewMultiLineEntry()
	s.note.PlaceHolder = "A short note for the recipient (optional)"
	s.note.SetMinRowsVisible(3)
	s.note.Wrapping = fyne.TextWrapWord

	s.problem = container.NewVBox()
	s.sendBtn = &widget.Button{Text: "Send securely", Icon: theme.MailSendIcon(), Importance: widget.HighImportance, OnTapped: s.onSend}
	s.progress = widget.NewProgressBar()
	s.cancel = &widget.Button{Text: "Cancel", Icon: theme.CancelIcon(), OnTapped: s.onCancel}
	s.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.busy = container.NewBorder(nil, s.status, nil, s.cancel, s.progress)
	s.busy.Hide()

	addBtn := &widget.Button{Text: "Add documents…", Icon: theme.ContentAddIcon(), OnTapped: s.openFileDialog}
	s.samplesBtn = &widget.Button{Text: "Add sample documents", Icon: theme.DocumentIcon(), OnTapped: func() { s.addPaths(s.ui.cfg.Samples) }}
	buttons := container.NewHBox(addBtn, s.samplesBtn)
	drop := dropZone(buttons)

	details := widget.NewForm(
		widget.NewFormItem("To", s.to),
		widget.NewFormItem("Patient NHI", container.NewVBox(s.nhiEntry, s.nhiMsg)),
		widget.NewFormItem("Document type", s.docType),
		widget.NewFormItem("Note", s.note),
	)
	s.from = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.signing = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.showSender()
	left := container.NewVBox(
		heading("1. Documents"),
		drop,
		s.checkMsg,
		s.docBox,
		s.refused,
		s.combine,
	)
	right := container.NewVBox(
		heading("2. Recipient and details"),
		s.from,
		s.signing,
		details,
		s.problem,
		s.sendBtn,
		s.busy,
	)
	s.form = container.NewGridWithColumns(2,
		container.NewVScroll(container.NewPadded(left)),
		container.NewVScroll(container.NewPadded(right)))
	s.confirm = newConfirmView(s.ui, s.reset)
	s.confirm.root.Hide()
	s.stack = container.NewStack(s.form, s.confirm.root)
	s.item = container.NewTabItemWithIcon("Send", theme.MailSendIcon(), s.stack)
}

// showSender shows who sends, whether it is signed and which sample
// documents are offered, as the configuration says now.
func (s *sendTab) showSender() {
	s.from.SetText("From: " + displayAddress(s.ui.cfg.From))
	if k := s.ui.cfg.OwnKey; k != "" {
		s.signing.Importance = widget.MediumImportance
		s.signing.SetText("Signed with your key " + k)
	} else {
		s.signing.Importance = widget.WarningImportance
		s.signing.SetText("Not signed: you have no key for this address yet. Create one under Settings, Your key.")
	}
	if s.ui.cfg.Demo && len(s.ui.cfg.Samples) > 0 {
		s.samplesBtn.Show()
	} else {
		s.samplesBtn.Hide()
	}
}

// setRecipients fills the picker from the configuration; the recipient
// with address picked stays chosen when it is still offered, else the
// first one is (or none).
func (s *sendTab) setRecipients(picked string) {
	var options []string
	choose := ""
	for _, r := range s.ui.cfg.Recipients {
		o := s.optionText(r)
		options = append(options, o)
		if picked != "" && strings.EqualFold(r.Address, picked) && choose == "" {
			choose = o
		}
	}
	if choose == "" && len(options) > 0 {
		choose = options[0]
	}
	s.toOptions = options
	s.to.SetOptions(options)
	s.to.SetText(choose)
}

// pickedAddress is the address of the picker entry chosen now; "" when the
// To field holds something else (a typed address, or nothing).
func (s *sendTab) pickedAddress() string {
	text := strings.TrimSpace(s.to.Text)
	for _, r := range s.ui.cfg.Recipients {
		if text == s.optionText(r) {
			return r.Address
		}
	}
	return ""
}

// applyConfig shows the configuration after a reload: sender, signing key,
// recipients (keeping a typed address, and the picked recipient when it
// is still offered).
func (s *sendTab) applyConfig(picked string) {
	s.showSender()
	typed := strings.TrimSpace(s.to.Text)
	if picked == "" && typed != "" {
		s.toOptions = nil
		for _, r := range s.ui.cfg.Recipients {
			s.toOptions = append(s.toOptions, s.optionText(r))
		}
		s.to.SetOptions(s.toOptions)
		return
	}
	s.setRecipients(picked)
}

func heading(text string) *widget.Label {
	return &widget.Label{Text: text, TextStyle: fyne.TextStyle{Bold: true}, SizeName: theme.SizeNameSubHeadingText}
}

// dropZone is the large target that invites dragging scans onto the window
// (the whole window accepts drops; this says so).
func dropZone(buttons fyne.CanvasObject) fyne.CanvasObject {
	border := canvas.NewRectangle(withAlpha(theme.Color(theme.ColorNamePrimary), 0x18))
	border.StrokeColor = theme.Color(theme.ColorNamePrimary)
	border.StrokeWidth = 2
	border.CornerRadius = 8
	border.SetMinSize(fyne.NewSize(300, 150))
	text := container.NewVBox(
		container.NewCenter(widget.NewIcon(theme.UploadIcon())),
		&widget.Label{Text: "Drop scans here", Alignment: fyne.TextAlignCenter, TextStyle: fyne.TextStyle{Bold: true}},
		&widget.Label{Text: "PDF, TIFF (also multi-page), JPEG or PNG", Alignment: fyne.TextAlignCenter},
		container.NewCenter(buttons),
	)
	return container.NewStack(border, container.NewPadded(text))
}

// openFileDialog lets the user pick one document (Fyne's dialog picks one
// file at a time; dropping takes many).
func (s *sendTab) openFileDialog() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		s.addPaths([]string{path})
	}, s.ui.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png", ".PDF", ".TIF", ".TIFF", ".JPG", ".JPEG", ".PNG"}))
	d.Resize(fyne.NewSize(800, 560))
	d.Show()
}

// addPaths checks the files and makes their thumbnails off the UI
// goroutine (a large PDF takes a while to validate and to render), then
// lists each one, or why it was refused.
func (s *sendTab) addPaths(paths []string) {
	var todo []string
	for _, p := range paths {
		if !s.hasPath(p) {
			todo = append(todo, p)
		}
	}
	s.problem.RemoveAll()
	s.checking++
	s.checkMsg.SetText(fmt.Sprintf("Checking %d document(s)…", len(todo)))
	s.checkMsg.Show()
	thumbnail := s.thumbnail
	go func() {
		type checked struct {
			path  string
			info  *doccheck.Info
			thumb image.Image // nil: none (e.g. a PDF without pdftoppm)
			err   error
		}
		var results []checked
		for _, p := range todo {
			info, err := doccheck.Check(p)
			var thumb image.Image
			if err == nil && thumbnail != nil {
				thumb, _ = thumbnail(info, 96) // none: the type icon
			}
			results = append(results, checked{p, info, thumb, err})
		}
		fyne.Do(func() {
			for _, r := range results {
				switch {
				case r.err != nil:
					s.addRefused(filepath.Base(r.path), reasonOf(r.err))
				case !s.hasPath(r.path):
					s.docs = append(s.docs, r.info)
					s.docBox.Add(s.docRow(r.info, r.thumb))
				}
			}
			if s.checking--; s.checking == 0 {
				s.checkMsg.Hide()
			}
			if s.addDone != nil {
				s.addDone()
			}
		})
	}()
}

func (s *sendTab) hasPath(p string) bool {
	for _, d := range s.docs {
		if d.Path == p {
			return true
		}
	}
	return false
}

func reasonOf(err error) string {
	var de *doccheck.Error
	if errors.As(err, &de) {
		return de.Reason
	}
	return err.Error()
}

func (s *sendTab) addRefused(name, reason string) {
	var row *fyne.Container
	dismiss := &widget.Button{Icon: theme.CancelIcon(), Importance: widget.LowImportance}
	row = container.NewBorder(nil, nil, widget.NewIcon(theme.ErrorIcon()), dismiss,
		&widget.Label{Text: "Not added: " + name + " — " + reason, Wrapping: fyne.TextWrapWord, Importance: widget.DangerImportance})
	dismiss.OnTapped = func() { s.refused.Remove(row) }
	s.refused.Add(row)
}

// docRow shows one document: its thumbnail (the picture, or a PDF's
// rendered first page; the type icon when there is none), name, type,
// pages, size, and a remove button.
func (s *sendTab) docRow(info *doccheck.Info, img image.Image) fyne.CanvasObject {
	var thumb fyne.CanvasObject = widget.NewIcon(theme.FileIcon())
	if img != nil {
		ci := canvas.NewImageFromImage(img)
		ci.FillMode = canvas.ImageFillContain
		ci.SetMinSize(fyne.NewSize(48, 48))
		thumb = ci
	}
	thumbBox := container.NewGridWrap(fyne.NewSize(48, 48), thumb)
	detail := fmt.Sprintf("%s · %s · %s", info.Kind, pagesText(info.Pages), sizeText(info.Size))
	var row *fyne.Container
	remove := &widget.Button{Icon: theme.DeleteIcon(), Importance: widget.LowImportance, OnTapped: func() { s.removeDoc(info, row) }}
	row = container.NewBorder(nil, nil, thumbBox, remove, container.NewVBox(
		&widget.Label{Text: info.Name, TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis},
		&widget.Label{Text: detail},
	))
	return row
}

func (s *sendTab) removeDoc(info *doccheck.Info, row fyne.CanvasObject) {
	for i, d := range s.docs {
		if d == info {
			s.docs = append(s.docs[:i], s.docs[i+1:]...)
			break
		}
	}
	s.docBox.Remove(row)
}

func pagesText(n int) string {
	if n == 1 {
		return "1 page"
	}
	return fmt.Sprintf("%d pages", n)
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", (n+512)>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func (s *sendTab) onNHIChanged(text string) {
	msg := ""
	if strings.TrimSpace(text) != "" {
		msg = s.nhiProblem(text)
	}
	s.nhiMsg.SetText(msg)
	if msg == "" {
		s.nhiMsg.Hide()
	} else {
		s.nhiMsg.Show()
	}
}

// nhiProblem returns what is wrong with the NHI as typed, or "" when it is
// acceptable. Test NHIs are accepted in demo mode and warned about
// otherwise.
func (s *sendTab) nhiProblem(text string) string {
	_, err := nhi.Check(text, s.ui.cfg.Demo)
	if err == nil {
		return ""
	}
	if errors.Is(err, nhi.ErrTestNumber) {
		return "Warning: " + err.Error() + "."
	}
	return "NHI not valid: " + err.Error() + "."
}

// optionText is how r appears in the picker; when the policy requires
// encryption and r has no key, it says that r cannot be chosen and why.
func (s *sendTab) optionText(r Recipient) string {
	if s.blocked(r) {
		return displayAddress(mail.Address{Name: r.Name, Address: r.Address}) + " (no key: cannot send, encryption is required)"
	}
	return r.String()
}

func (s *sendTab) blocked(r Recipient) bool {
	return s.ui.cfg.RequireEncryption && (r.KeyState == "none" || r.KeyState == "")
}

// recipient parses the To field: a picker entry or a typed address.
func (s *sendTab) recipient() (mail.Address, error) {
	text := strings.TrimSpace(s.to.Text)
	for _, r := range s.ui.cfg.Recipients {
		if text == s.optionText(r) || strings.EqualFold(text, r.Address) {
			if s.blocked(r) {
				return mail.Address{}, fmt.Errorf("%s has no key, and your organisation requires every message to be encrypted; import and pin their key first", r.Address)
			}
			return mail.Address{Name: r.Name, Address: r.Address}, nil
		}
	}
	if text == "" {
		return mail.Address{}, errors.New("choose who to send to")
	}
	a, err := mail.ParseAddress(text)
	if err != nil {
		return mail.Address{}, fmt.Errorf("%q is not an e-mail address", text)
	}
	return *a, nil
}

// showProblem replaces the problem area with one plain message.
func (s *sendTab) showProblem(title, detail string) {
	s.problem.RemoveAll()
	s.problem.Add(banner(theme.ErrorIcon(), theme.ColorNameError, title, detail))
}

func (s *sendTab) onSend() {
	s.mu.Lock()
	busy := s.sending
	s.mu.Unlock()
	if busy || !s.confirm.root.Hidden {
		return
	}
	to, err := s.recipient()
	if err != nil {
		s.showProblem("Not sent: "+err.Error()+".", "")
		return
	}
	if s.checking > 0 {
		s.showProblem("Not sent yet: the documents are still being checked.", "Press Send securely again in a moment.")
		return
	}
	if len(s.docs) == 0 {
		s.showProblem("Not sent: add at least one document.", "Drop scans onto the window or use Add documents.")
		return
	}
	nhiText := strings.TrimSpace(s.nhiEntry.Text)
	if nhiText != "" {
		if n, err := nhi.Parse(nhiText); err != nil {
			s.showProblem("Not sent: the NHI is not valid.", err.Error()+". Correct it or leave the field empty.")
			return
		} else if n.Test && !s.ui.cfg.Demo {
			s.showProblem("Not sent: "+nhi.ErrTestNumber.Error()+".", "Test NHIs are only accepted in demo mode.")
			return
		} else {
			nhiText = n.Value
		}
	}
	s.problem.RemoveAll()
	m := &send.Message{
		From:    s.ui.cfg.From,
		To:      []mail.Address{to},
		Subject: s.docType.Selected,
		Note:    composeNote(nhiText, s.note.Text),
	}
	docs := append([]*doccheck.Info(nil), s.docs...)
	combine := s.combine.Checked

	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.sending, s.cancelSend = true, cancel
	s.mu.Unlock()
	s.sendBtn.Disable()
	s.progress.SetValue(0)
	s.status.SetText("Connecting securely…")
	s.busy.Show()

	// The functions in use now: a reload while sending does not change
	// where this message goes.
	via := sendVia{outbox: s.ui.cfg.Outbox, send: s.ui.cfg.Send, tempDir: s.ui.cfg.TempDir}
	go s.run(ctx, cancel, via, m, docs, combine)
}

// composeNote puts the NHI, when given, on the note's first line.
func composeNote(nhiValue, note string) string {
	note = strings.TrimSpace(note)
	if nhiValue == "" {
		return note
	}
	if note == "" {
		return "Patient NHI: " + nhiValue
	}
	return "Patient NHI: " + nhiValue + "\n\n" + note
}

// sendVia is how one message is sent: the configuration's outbox or Send
// function, and where combined PDFs are written.
type sendVia struct {
	outbox  *OutboxConfig
	send    func(ctx context.Context, m *send.Message, progress func(sent int64)) (*send.Result, error)
	tempDir string
}

// run prepares the documents and sends, off the UI goroutine.
func (s *sendTab) run(ctx context.Context, cancel context.CancelFunc, via sendVia, m *send.Message, docs []*doccheck.Info, combine bool) {
	defer cancel()
	var tmp string
	defer func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}()
	var images []*doccheck.Info
	for _, d := range docs {
		if combine && d.Kind.IsImage() {
			images = append(images, d)
			continue
		}
		m.Documents = append(m.Documents, send.Document{Path: d.Path, Name: d.Name, ContentType: d.ContentType})
	}
	if len(images) > 0 {
		var err error
		tmp, err = os.MkdirTemp(via.tempDir, "securesend-combine-")
		if err == nil {
			name := strings.TrimSuffix(images[0].Name, filepath.Ext(images[0].Name)) + ".pdf"
			out := filepath.Join(tmp, name)
			fyne.Do(func() { s.status.SetText("Combining images into one PDF…") })
			if err = doccheck.CombineToFile(ctx, out, images...); err == nil {
				m.Documents = append(m.Documents, send.Document{Path: out, Name: name, ContentType: "application/pdf"})
			}
		}
		if err != nil {
			s.finish(nil, fmt.Errorf("the images could not be combined into a PDF: %w", err))
			return
		}
	}
	total := estimateSize(m)
	progress := func(sent int64) {
		fyne.Do(func() {
			v := float64(sent) / float64(total)
			if v > 0.99 {
				v = 0.99
			}
			s.progress.SetValue(v)
			s.status.SetText(fmt.Sprintf("Sending… %s of about %s", sizeText(sent), sizeText(total)))
		})
	}
	if via.outbox != nil {
		s.runOutbox(ctx, via.outbox, m, progress)
		return
	}
	if via.send == nil {
		s.finish(nil, errors.New("no mail account is set up to send with; add one under Settings"))
		return
	}
	res, err := via.send(ctx, m, progress)
	s.finish(res, err)
}

// runOutbox queues m in the outbox (composed, protected and encrypted at
// rest, before any network I/O), then makes the first delivery attempt.
// Once queued, the message belongs to the outbox: it is retried from there
// and followed in the Sent tab.
func (s *sendTab) runOutbox(ctx context.Context, ob *OutboxConfig, m *send.Message, progress func(int64)) {
	fyne.Do(func() { s.status.SetText("Putting the message in the outbox (encrypted on this computer)…") })
	id, err := ob.Box.Queue(ctx, m)
	if err != nil {
		s.finish(nil, err) // nothing was queued; the documents stay
		return
	}
	s.mu.Lock()
	s.job = id
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.job = ""
		s.mu.Unlock()
	}()
	fyne.Do(func() { s.status.SetText("Connecting securely…") })
	rec, err := ob.Box.Deliver(ctx, id, progress)
	if errors.Is(err, outbox.ErrBusy) {
		// The outbox's own loop picked it up first: follow it.
		rec, err = waitJob(ctx, ob.Box, id)
	}
	if ctx.Err() != nil && rec != nil && (rec.State == outbox.Deferred || rec.State == outbox.Queued) {
		// The user cancelled before the message went out: it is taken
		// out of the outbox, and the documents stay in the form, as if
		// Send had not been pressed.
		if _, cerr := ob.Box.Cancel(id); cerr == nil {
			if ob.Box.Remove(id) == nil {
				s.finish(nil, context.Canceled)
				fyne.Do(s.ui.sent.refreshSoon)
				return
			}
		}
		if r, gerr := ob.Box.Get(id); gerr == nil {
			rec = r
		}
	}
	s.finishJob(id, rec, err)
}

// ownsJob reports whether the tab is sending job id itself.
func (s *sendTab) ownsJob(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.job == id
}

// waitJob waits until job id is no longer being sent.
func waitJob(ctx context.Context, box Outbox, id string) (*outbox.Record, error) {
	for {
		rec, err := box.Get(id)
		if err != nil {
			return rec, err
		}
		if rec.State != outbox.Sending && rec.State != outbox.Queued {
			return rec, nil
		}
		select {
		case <-ctx.Done():
			return rec, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// finishJob shows the outcome of a queued send on the UI goroutine: the
// confirmation when sent; otherwise what the outbox will do, with the
// documents cleared (they are in the outbox, and sending them again would
// duplicate the message).
func (s *sendTab) finishJob(id string, rec *outbox.Record, err error) {
	if rec == nil {
		s.finish(nil, err)
		return
	}
	fyne.Do(func() {
		s.mu.Lock()
		s.sending, s.cancelSend = false, nil
		s.mu.Unlock()
		s.busy.Hide()
		s.sendBtn.Enable()
		s.ui.sent.refreshSoon()
		if rec.State == outbox.Sent && rec.Result != nil {
			s.progress.SetValue(1)
			s.confirm.show(rec.Result)
			s.ui.notify("Sent securely", "Accepted for "+recipientsText(rec.Result)+". Queue ID "+rec.Result.QueueID+".")
			s.form.Hide()
		} else {
			title, detail := queuedOutcome(rec, err, s.ui.cfg.Now())
			s.clearDocuments()
			s.problem.RemoveAll()
			s.problem.Add(banner(outcomeIcon(rec), outcomeColour(rec), title, detail))
			s.problem.Add(&widget.Button{Text: "Show in the Sent tab", Icon: theme.MailForwardIcon(), OnTapped: func() {
				s.ui.tabs.Select(s.ui.sent.item)
				s.ui.sent.selectJob(id)
			}})
			s.ui.notify("Not sent yet", title)
		}
		if s.sendDone != nil {
			s.sendDone()
		}
	})
}

// queuedOutcome says in plain words what happened to a queued message that
// was not sent, and what the outbox will do with it.
func queuedOutcome(rec *outbox.Record, err error, now time.Time) (title, detail string) {
	cause := ""
	if err != nil && !errors.Is(err, context.Canceled) {
		cause, _ = explainSendError(err)
		cause = strings.TrimPrefix(strings.TrimPrefix(cause, "Not sent: "), "Only partly sent: ")
	}
	if cause == "" && rec.LastError != "" {
		cause = sentence(plainReason(rec.LastError))
	}
	switch rec.State {
	case outbox.Deferred:
		return "Not sent yet: the mail server could not be reached, or asked to try again later.",
			"The message is safe in the outbox (encrypted on this computer) and will be tried again " + whenText(rec.NextAttempt, now) + ", automatically while the app is open. Do not send it again; follow it in the Sent tab. (Reason: " + plainReason(rec.LastError) + ".)"
	case outbox.PossiblySent:
		return "May have been sent: the connection broke after the message went out.",
			"The recipient may already have it. Check with them before sending it again; the Sent tab has Confirm resend, which sends the very same message."
	case outbox.Cancelled:
		return "Sending was cancelled; the message was not sent.",
			"It is kept in the Sent tab, where you can retry or remove it."
	case outbox.Failed:
		return "Not sent: " + cause,
			"The message is kept in the outbox. Fix the cause (for example the account settings), then press Retry in the Sent tab, or remove it there."
	}
	return "The message is in the outbox (" + string(rec.State) + ").", "Follow it in the Sent tab."
}

func outcomeIcon(rec *outbox.Record) fyne.Resource {
	icon, _ := stateText(rec, time.Time{})
	return icon
}

func outcomeColour(rec *outbox.Record) fyne.ThemeColorName {
	switch rec.State {
	case outbox.Failed:
		return theme.ColorNameError
	case outbox.Cancelled:
		return theme.ColorNamePrimary
	}
	return theme.ColorNameWarning
}

// estimateSize is roughly the message size on the wire: documents in
// base64 plus room for headers and signatures.
func estimateSize(m *send.Message) int64 {
	n := int64(8192 + len(m.Note))
	for _, d := range m.Documents {
		if fi, err := os.Stat(d.Path); err == nil {
			n += fi.Size() * 137 / 100
		}
	}
	return n
}

// finish shows the outcome on the UI goroutine.
func (s *sendTab) finish(res *send.Result, err error) {
	fyne.Do(func() {
		s.mu.Lock()
		s.sending, s.cancelSend = false, nil
		s.mu.Unlock()
		s.busy.Hide()
		s.sendBtn.Enable()
		if err != nil {
			title, detail := explainSendError(err)
			s.showProblem(title, detail)
			s.ui.notify("Not sent", title)
		} else {
			s.progress.SetValue(1)
			s.confirm.show(res)
			s.ui.notify("Sent securely", "Accepted for "+recipientsText(res)+". Queue ID "+res.QueueID+".")
			s.form.Hide()
		}
		if s.sendDone != nil {
			s.sendDone()
		}
	})
}

func (s *sendTab) onCancel() {
	s.mu.Lock()
	cancel := s.cancelSend
	s.mu.Unlock()
	if cancel != nil {
		s.status.SetText("Cancelling…")
		cancel()
	}
}

// reset clears the form after a confirmed send, for the next one.
func (s *sendTab) reset() {
	s.clearDocuments()
	s.problem.RemoveAll()
	s.confirm.root.Hide()
	s.form.Show()
}

// clearDocuments empties the documents, NHI and note.
func (s *sendTab) clearDocuments() {
	s.docs = nil
	s.docBox.RemoveAll()
	s.refused.RemoveAll()
	s.nhiEntry.SetText("")
	s.note.SetText("")
}
