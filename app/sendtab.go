package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
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

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/doccheck"
	"github.com/securesend/securesend/internal/nhi"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// Document types offered in the Send tab, as the hot folder and the relay
// offer them: the chosen one is the subject and, in lower case, the signed
// manifest's document type (desk.DocumentType).
var docTypes = desk.DocumentTypes

// sendTab is the clinician's tab: documents, recipient, optional details,
// Send securely, progress, then the transmission confirmation.
type sendTab struct {
	ui   *UI
	item *container.TabItem

	// left (documents), right (recipient and details) and actions (the
	// Send button and its check step) make the form's body (body).
	left, right, actions fyne.CanvasObject

	docs    []*doccheck.Info
	docBox  *fyne.Container // one row per accepted document
	refused *fyne.Container // one row per refused file
	combine *focusCheck
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
	samplesBtn *focusButton
	addBtn     *focusButton
	// from says who sends; signing says whether what is sent is signed,
	// and with which key.
	from    *widget.Label
	signing *widget.Label
	to      *focusSelectEntry
	// keyState says what is known of the chosen recipient's key, under
	// the To field and wrapped, so that it is never cut off at 800 px.
	keyState *widget.Label
	// toFull names the picked recipient in full when the To field is too
	// narrow to show them whole (sendto.go).
	toFull *recipientLine
	// toOptions are the picker's entries.
	toOptions []string
	nhiEntry  *focusEntry
	// nhiMsg says what is wrong with the NHI, that it is valid, or how
	// it is written; nhiIcon marks which (never colour alone).
	nhiMsg  *widget.Label
	nhiIcon *widget.Icon
	// noNHI is the explicit "No NHI for this patient" choice.
	noNHI   *focusCheck
	docType *focusSelect
	note    *focusEntry
	problem *fyne.Container // why the last attempt did not send
	// cause is the field the problem shown is about ("to", "nhi", "docs",
	// "checking"; "" for any other problem, e.g. from the server): when
	// that cause is gone, the problem goes too.
	cause    string
	sendBtn  *focusButton
	progress *widget.ProgressBar
	cancel   *focusButton
	status   *widget.Label
	busy     *fyne.Container
	// check is the step between Send securely and sending: what is about
	// to go, to whom, for which patient, with Send now and Go back.
	check     *fyne.Container
	checkBody *widget.Form
	sendNow   *focusButton
	goBack    *focusButton

	form *fyne.Container
	// replacing is the sent message this draft replaces (replace.go),
	// nil for a new message; replaceBox shows it above the form (its
	// banner and button in replaceBody).
	replacing   *replaceDraft
	replaceBox  *fyne.Container
	replaceBody *fyne.Container
	confirm     *confirmView
	stack       *fyne.Container

	mu         sync.Mutex
	cancelSend context.CancelFunc
	// job is the outbox job the tab is sending now (it announces its own
	// outcome); guarded by mu.
	job     string
	sending bool
	// sent describes the message being sent, for its confirmation (UI
	// goroutine only).
	sent summary
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
	s.combine = newCheck(combineLabel, func(bool) { s.formChanged() })
	s.combine.SetChecked(true)

	s.to = newSelectEntry("Pick a recipient or type an e-mail address")
	s.keyState = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.toFull = newRecipientLine()
	s.keyState.Hide()
	s.to.OnChanged = func(string) { s.formChanged() }
	s.to.OnSubmitted = func(string) { s.requestSend() }
	s.setRecipients("")
	s.nhiEntry = newEntry(false, "7 characters, e.g. ZZZ0016")
	s.nhiEntry.OnChanged = s.onNHIChanged
	s.nhiEntry.OnLeft = s.onNHILeft
	s.nhiEntry.OnSubmitted = func(string) { s.onNHILeft(); s.requestSend() }
	s.nhiMsg = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.nhiIcon = widget.NewIcon(nil)
	s.noNHI = newCheck("No NHI for this patient", s.onNoNHI)
	s.docType = newSelect(docTypes, docTypes[0])
	s.docType.OnChanged = func(string) { s.showNHIState(false); s.formChanged() }
	s.note = newEntry(true, "A short note for the recipient (optional)")
	s.note.SetMinRowsVisible(3)
	s.note.OnChanged = func(string) { s.formChanged() }

	s.problem = newFitColumn()
	s.sendBtn = newButton("Send securely… (Ctrl+Enter)", theme.MailSendIcon(), widget.HighImportance, s.requestSend)
	s.progress = widget.NewProgressBar()
	s.cancel = newButton("Cancel", theme.CancelIcon(), widget.MediumImportance, s.onCancel)
	s.status = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.busy = container.NewBorder(nil, s.status, nil, s.cancel, s.progress)
	s.busy.Hide()
	s.checkBody = widget.NewForm()
	s.sendNow = newButton("Send now", theme.ConfirmIcon(), widget.HighImportance, s.onSend)
	s.goBack = newButton("Go back (Esc)", theme.NavigateBackIcon(), widget.MediumImportance, s.cancelCheck)
	s.sendNow.onEscape, s.goBack.onEscape = s.cancelCheck, s.cancelCheck
	s.check = newFitColumn(
		banner(theme.QuestionIcon(), theme.ColorNamePrimary, "Check before sending", "Is this the right patient, document and recipient? Enter sends it now."),
		s.checkBody,
		container.NewHBox(s.sendNow, s.goBack),
	)
	s.check.Hide()

	s.addBtn = newButton("Add documents… (Ctrl+O)", theme.ContentAddIcon(), widget.MediumImportance, s.openFileDialog)
	s.samplesBtn = newButton("Add sample documents", theme.DocumentIcon(), widget.MediumImportance, func() { s.addPaths(s.ui.cfg.Samples) })
	drop := dropZone(container.NewVBox(s.addBtn, s.samplesBtn))

	// The NHI's status line keeps three lines' room (the longest
	// message at 800 wide), so that a message appearing or going never
	// moves the fields and the Send button.
	nhiRoom := canvas.NewRectangle(color.Transparent)
	nhiRoom.SetMinSize(fyne.NewSize(1, 3*theme.TextSize()*1.3+theme.InnerPadding()))
	nhiStatus := container.NewStack(nhiRoom, container.NewBorder(nil, nil, container.NewVBox(s.nhiIcon), nil, s.nhiMsg))
	details := widget.NewForm(
		widget.NewFormItem("To", container.New(toColumn{}, s.to, s.toFull, s.keyState)),
		widget.NewFormItem("Patient NHI", container.NewVBox(s.nhiEntry, nhiStatus, s.noNHI)),
		widget.NewFormItem("Document type", s.docType),
		widget.NewFormItem("Note", s.note),
	)
	s.from = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.signing = &widget.Label{Wrapping: fyne.TextWrapWord}
	s.showSender()
	s.showNHIState(false)
	left := container.NewVBox(
		heading("1. Documents"),
		drop,
		s.checkMsg,
		s.docBox,
		s.refused,
		s.combine,
		&widget.Label{Text: combineHelp, Wrapping: fyne.TextWrapWord, SizeName: theme.SizeNameCaptionText},
	)
	right := container.NewVBox(
		heading("2. Recipient and details"),
		s.from,
		s.signing,
		details,
	)
	// The Send button, the check step and what went wrong stay below the
	// scrolling fields, so they are on screen at any window size.
	actions := newFitColumn(s.problem, s.check, s.sendBtn, s.busy)
	s.replaceBody = newFitColumn()
	s.replaceBox = container.NewPadded(s.replaceBody)
	s.replaceBox.Hide()
	s.left, s.right, s.actions = left, right, actions
	s.form = topFirst(s.replaceBox, s.body(s.ui.low))
	s.confirm = newConfirmView(s.ui, s.reset)
	s.confirm.root.Hide()
	s.stack = container.NewStack(s.form, s.confirm.root)
	s.item = container.NewTabItemWithIcon("Send", theme.MailSendIcon(), s.stack)
}

// combineLabel and combineHelp say what the Combine check box does:
// pictures become one PDF, PDFs are sent as they are.
const (
	combineLabel = "Put pictures and scans into one PDF"
	combineHelp  = "JPEG, PNG and TIFF files become the pages of one PDF, in the order shown; PDF files are sent as they are."
)

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
	s.showKeyState()
}

// showKeyState says under the To field what is known of the key of the
// recipient it holds (keyStateText); nothing for an address not in the
// directory or an empty field.
func (s *sendTab) showKeyState() {
	if s.keyState == nil {
		return
	}
	text := strings.TrimSpace(s.to.Text)
	for _, r := range s.ui.cfg.Recipients {
		if text == s.optionText(r) || strings.EqualFold(text, r.Address) {
			msg, imp := keyStateText(r.KeyState, s.blocked(r))
			s.keyState.Text, s.keyState.Importance = msg, imp
			s.keyState.Show()
			s.keyState.Refresh()
			s.toFull.set(s.optionText(r))
			return
		}
	}
	s.keyState.Hide()
	s.toFull.set("")
}

// keyStateText is what the To field's key line says for a recipient
// whose key is in state ("pinned", "unverified", "none" or ""); blocked
// when the policy requires encryption and there is no key.
func keyStateText(state string, blocked bool) (string, widget.Importance) {
	switch {
	case blocked:
		return "No key: cannot send, your organisation requires encryption. Import and check their key under Settings.", widget.DangerImportance
	case state == "pinned":
		return "Key checked: only they can read what you send.", widget.SuccessImportance
	case state == "unverified":
		return "Key not yet checked: compare its fingerprint with them under Settings.", widget.WarningImportance
	case state == "none" || state == "":
		return "No key: what you send is not encrypted.", widget.WarningImportance
	}
	return "Key " + state + ".", widget.WarningImportance
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
	s.ui.showDialog(d)
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
			s.formChanged()
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
	dismiss := newButton("", theme.CancelIcon(), widget.LowImportance, nil)
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
	remove := newButton("", theme.DeleteIcon(), widget.LowImportance, func() { s.removeDoc(info, row) })
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
	s.formChanged()
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

// NHI status kinds, each with its own icon.
const (
	nhiHint = iota
	nhiValid
	nhiInvalid
)

// onNHIChanged checks the NHI once it is complete (7 characters): never
// while the user is still typing it, and any earlier message goes as
// soon as they change it.
func (s *sendTab) onNHIChanged(string) {
	s.showNHIState(false)
	s.formChanged()
}

// onNHILeft checks the NHI as it is when the user moves on.
func (s *sendTab) onNHILeft() {
	s.showNHIState(true)
}

// onNoNHI is the "No NHI for this patient" choice: the field is cleared
// and closed, and the choice shows on the check step and confirmation.
func (s *sendTab) onNoNHI(on bool) {
	if on {
		s.nhiEntry.SetText("")
		s.nhiEntry.Disable()
	} else {
		s.nhiEntry.Enable()
	}
	s.showNHIState(false)
	s.formChanged()
}

// showNHIState shows under the NHI field what is wrong with it, that it
// is valid, or what is expected; left says that the user has moved on
// (an incomplete NHI is then a problem, not work in progress).
func (s *sendTab) showNHIState(left bool) {
	kind, text := s.nhiState(left)
	s.nhiMsg.Importance = widget.MediumImportance
	switch kind {
	case nhiValid:
		s.nhiIcon.SetResource(theme.ConfirmIcon())
		s.nhiMsg.Importance = widget.SuccessImportance
	case nhiInvalid:
		s.nhiIcon.SetResource(theme.ErrorIcon())
		s.nhiMsg.Importance = widget.DangerImportance
	default:
		s.nhiIcon.SetResource(theme.InfoIcon())
	}
	s.nhiMsg.SetText(text)
}

// nhiState is what the NHI field holds now, in one sentence.
func (s *sendTab) nhiState(left bool) (kind int, text string) {
	if s.noNHI.Checked {
		return nhiValid, "Sent without an NHI, as you chose."
	}
	typed := strings.Join(strings.Fields(s.nhiEntry.Text), "")
	if typed == "" {
		if s.needsNHI() {
			return nhiHint, "Type the patient's NHI, or tick No NHI for this patient."
		}
		return nhiHint, "Optional for this document type."
	}
	if len([]rune(typed)) < 7 && !left {
		return nhiHint, "An NHI has 7 characters, e.g. ZZZ0016."
	}
	n, err := nhi.Check(typed, s.ui.cfg.Demo)
	switch {
	case err != nil:
		return nhiInvalid, sentence(err.Error())
	case n.Test:
		return nhiValid, "Valid test NHI (accepted in demo mode only)."
	}
	return nhiValid, "Valid NHI."
}

// needsNHI reports whether the chosen document type is about a patient,
// so that leaving the NHI out takes the explicit "No NHI" choice.
func (s *sendTab) needsNHI() bool { return s.docType.Selected != "Other" }

// nhiValue is the NHI to send ("" when none was given) or why the form's
// NHI cannot be sent.
func (s *sendTab) nhiValue() (string, error) {
	if s.noNHI.Checked {
		return "", nil
	}
	typed := strings.TrimSpace(s.nhiEntry.Text)
	if typed == "" {
		if s.needsNHI() {
			return "", errNoNHI
		}
		return "", nil
	}
	n, err := nhi.Check(typed, s.ui.cfg.Demo)
	if err != nil {
		return "", err
	}
	return n.Value, nil
}

// errNoNHI says that a patient document has neither an NHI nor the
// explicit choice to send it without one.
var errNoNHI = errors.New("type the patient's NHI, or tick No NHI for this patient")

// formChanged is called whenever the user changes something in the form:
// the check step (which showed the form as it was) closes, and a problem
// shown goes once its cause is gone.
func (s *sendTab) formChanged() {
	s.showKeyState()
	if s.check != nil && s.check.Visible() {
		s.check.Hide()
		s.sendBtn.Show()
	}
	if s.cause != "" {
		if cause, _, _ := s.validate(); cause != s.cause {
			s.problem.RemoveAll()
			s.cause = ""
		}
	}
}

// validate returns the first reason the form cannot be sent as it is:
// the field it is about, and a title and detail to show; cause is "" when
// it can be sent.
func (s *sendTab) validate() (cause, title, detail string) {
	if _, err := s.recipient(); err != nil {
		return "to", "Not sent: " + err.Error() + ".", ""
	}
	if s.checking > 0 {
		return "checking", "Not sent yet: the documents are still being checked.", "Press Send securely again in a moment."
	}
	if len(s.docs) == 0 {
		return "docs", "Not sent: add at least one document.", "Drop scans onto the window or use Add documents (Ctrl+O)."
	}
	if _, err := s.nhiValue(); err != nil {
		if errors.Is(err, errNoNHI) {
			return "nhi", "Not sent: " + err.Error() + ".", ""
		}
		return "nhi", "Not sent: the NHI is not valid.", sentence(err.Error())
	}
	return "", "", ""
}

// optionText is how r appears in the picker: name and address only, the
// state of their key shows under the field (showKeyState), where it is
// never cut off.
func (s *sendTab) optionText(r Recipient) string {
	return displayAddress(mail.Address{Name: r.Name, Address: r.Address})
}

func (s *sendTab) blocked(r Recipient) bool {
	req := s.ui.cfg.EncryptionRequired
	return req != nil && (r.KeyState == "none" || r.KeyState == "") && req(r.Address)
}

// recipient parses the To field: a picker entry or a typed address.
func (s *sendTab) recipient() (mail.Address, error) {
	text := strings.TrimSpace(s.to.Text)
	for _, r := range s.ui.cfg.Recipients {
		if text == s.optionText(r) || strings.EqualFold(text, r.Address) {
			if s.blocked(r) {
				return mail.Address{}, fmt.Errorf("%s has no key, and your organisation requires messages to them to be encrypted; import and pin their key first", r.Address)
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

// showProblem replaces the problem area with one plain message (about no
// field of the form: it stays until the next attempt).
func (s *sendTab) showProblem(title, detail string) {
	s.cause = ""
	s.problem.RemoveAll()
	s.problem.Add(banner(theme.ErrorIcon(), theme.ColorNameError, title, detail))
}

// requestSend is Send securely (the button, Ctrl+Enter, Enter in a
// field): it says what is wrong, next to nothing else, or shows the check
// step, from which Send now sends. Nothing is sent by one key press.
func (s *sendTab) requestSend() {
	s.mu.Lock()
	busy := s.sending
	s.mu.Unlock()
	if busy || !s.confirm.root.Hidden {
		return
	}
	s.showNHIState(true)
	if cause, title, detail := s.validate(); cause != "" {
		s.showProblem(title, detail)
		s.cause = cause
		s.focusCause(cause)
		return
	}
	s.problem.RemoveAll()
	s.cause = ""
	s.fillCheck()
	s.sendBtn.Hide()
	s.check.Show()
	s.ui.win.Canvas().Focus(s.sendNow)
}

// focusCause puts the keyboard focus on the field a problem is about.
func (s *sendTab) focusCause(cause string) {
	var target fyne.Focusable
	switch cause {
	case "to":
		target = s.to
	case "nhi":
		target = s.nhiEntry
	case "docs":
		target = s.addBtn
	}
	if target == nil {
		return
	}
	s.ui.win.Canvas().Focus(target)
}

// fillCheck lists on the check step what Send now will send.
func (s *sendTab) fillCheck() {
	to, _ := s.recipient()
	nhiText, _ := s.nhiValue()
	if nhiText == "" {
		nhiText = "None (no NHI for this patient)"
	}
	names := sentNames(s.docs, s.combine.Checked)
	s.checkBody.Items = nil
	toText := displayAddress(to)
	lines := [][2]string{
		{"Patient NHI", nhiText},
		{"Document type", s.docType.Selected},
		{"To", toText},
		{"Documents", strings.Join(names, ", ")},
	}
	// The note is what the pharmacist reads first ("dispense today"):
	// checked here with the rest.
	if note := strings.TrimSpace(s.note.Text); note != "" {
		lines = append(lines, [2]string{"Note", note})
	}
	if d := s.replacing; d != nil {
		m := &send.Message{To: []mail.Address{to}}
		d.apply(m)
		var all []string
		for _, a := range m.To {
			all = append(all, displayAddress(a))
		}
		lines[2][1] = strings.Join(all, ", ")
		lines = append(lines, [2]string{"Replaces", d.text() + ", which the pharmacy then sees marked \"Replaced\""})
	}
	for _, l := range lines {
		s.checkBody.Append(l[0], &widget.Label{Text: l[1], Wrapping: fyne.TextWrapWord})
	}
	s.checkBody.Refresh()
}

// cancelCheck closes the check step without sending (Go back, Escape).
func (s *sendTab) cancelCheck() {
	s.check.Hide()
	s.sendBtn.Show()
	s.ui.win.Canvas().Focus(s.sendBtn)
}

// onSend sends the form as it is now (Send now on the check step).
func (s *sendTab) onSend() {
	s.mu.Lock()
	busy := s.sending
	s.mu.Unlock()
	if busy || !s.confirm.root.Hidden {
		return
	}
	s.check.Hide()
	s.sendBtn.Show()
	if cause, title, detail := s.validate(); cause != "" {
		s.showProblem(title, detail)
		s.cause = cause
		return
	}
	to, _ := s.recipient()
	nhiText, _ := s.nhiValue()
	s.problem.RemoveAll()
	subject, manifestType, ok := desk.DocumentType(s.docType.Selected)
	if !ok {
		subject = s.docType.Selected
	}
	m := &send.Message{
		From:    s.ui.cfg.From,
		To:      []mail.Address{to},
		Subject: subject,
		// The pharmacist's app shows the signed manifest's type beside
		// the patient's NHI: it must say what the sender chose.
		DocumentType: manifestType,
		Note:         composeNote(nhiText, s.note.Text),
		PatientNHI:   nhiText,
	}
	s.replacing.apply(m)
	sum := summary{NHI: nhiText, DocType: m.Subject, To: m.To, Note: noteText(s.note.Text, "", false), Replaces: s.replacing}
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
	s.sent = sum
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
			name := combinedName(images)
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
		s.replaceDone() // queued: the replacement is on its way
		if rec.State == outbox.Sent && rec.Result != nil {
			s.progress.SetValue(1)
			s.confirm.show(rec.Result, s.sent)
			s.ui.notify("Sent securely", "Accepted for "+recipientsText(rec.Result)+". Queue ID "+rec.Result.QueueID+".")
			s.form.Hide()
		} else {
			title, detail := queuedOutcome(rec, err, s.ui.cfg.Now())
			s.clearDocuments()
			s.problem.RemoveAll()
			s.problem.Add(banner(outcomeIcon(rec), outcomeColour(rec), title, detail))
			s.problem.Add(newButton("Show in the Sent tab", theme.MailForwardIcon(), widget.MediumImportance, func() {
				s.ui.tabs.Select(s.ui.sent.item)
				s.ui.sent.selectJob(id)
			}))
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
			s.replaceDone()
			s.progress.SetValue(1)
			s.confirm.show(res, s.sent)
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
	s.noNHI.SetChecked(false)
	s.note.SetText("")
	s.showNHIState(false)
}

// combinedName is the name of the PDF that images are combined into: the
// first image's, with .pdf for its extension.
func combinedName(images []*doccheck.Info) string {
	return strings.TrimSuffix(images[0].Name, filepath.Ext(images[0].Name)) + ".pdf"
}

// sentNames are the names docs are sent under, in the order run sends
// them: the files sent as they are, then, when combine is set, the one
// PDF the pictures and scans become ("referral.pdf", or "scan.pdf (3
// pictures in one PDF)" when it holds more than one). Short: the check
// step stays on a 1280×720 screen at 150%.
func sentNames(docs []*doccheck.Info, combine bool) []string {
	var names []string
	var images []*doccheck.Info
	for _, d := range docs {
		if combine && d.Kind.IsImage() {
			images = append(images, d)
			continue
		}
		names = append(names, d.Name)
	}
	switch len(images) {
	case 0:
	case 1:
		names = append(names, combinedName(images))
	default:
		names = append(names, fmt.Sprintf("%s (%d pictures in one PDF)", combinedName(images), len(images)))
	}
	return names
}
