package app

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
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
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

// detailMinWidth is the least width, in Fyne's units, at which the
// Inbox shows a message's detail beside the list: "Select a message…"
// wrapped mid-word in the 60 units a 400-unit-wide window left it.
const detailMinWidth = 240

// pollEvery is how often the inbox checks for new mail while the app runs.
const pollEvery = 2 * time.Minute

// inboxTab is the pharmacist's tab: received messages with their verdicts,
// newest first, and the detail of the selected one.
type inboxTab struct {
	ui   *UI
	item *container.TabItem

	// items are every message fetched or opened, newest first; rows are
	// those the list shows (inboxrows.go: counted acknowledgements only
	// when receipts is ticked).
	items    []Received
	rows     []Received
	receipts *focusCheck
	// search filters the rows by patient NHI, sender's name or address,
	// or document type (inboxMatches); Enter opens the first match.
	search *focusEntry
	title  *widget.Label
	// lowTitle says whose inbox this is, in the body text's size and
	// above the scrolled rest, instead of title on a low window (setLow).
	lowTitle    *widget.Label
	lowTitleBox *fyne.Container // holds lowTitle; hidden with it
	// tools lays out the buttons and the search (toolsBox) side by side
	// on a low window, one above the other otherwise.
	tools *toolsLayout
	// body holds, below the heading, the list (left, with the buttons
	// above it) and the detail (detailPane) side by side or stacked in
	// a sideways scroll; on a low window (setLow) one of the two at a
	// time, the detail under back, which returns to the list.
	body       *fyne.Container
	left       *fyne.Container
	detailPane *fyne.Container
	back       *focusButton
	toolsBox   *fyne.Container
	list       *widget.List
	status     *widget.Label
	failed     *widget.Label // messages that could not be received
	check      *widget.Button
	detail     *fyne.Container

	known map[string]bool // keys already announced
	// lastCheck is when the last check started (opened).
	lastCheck time.Time

	mu       sync.Mutex
	fetching bool
	// fetchDone, when set (tests), is called on the UI goroutine after a
	// fetch has been shown.
	fetchDone func()
	// thumbnail renders previews (doccheck.Thumbnail when nil; tests);
	// previewDone, when set (tests), is called on the UI goroutine after
	// a preview has been shown or refused.
	thumbnail   func(info *doccheck.Info, max int) (image.Image, error)
	previewDone func()
	// afterFetch are called once, on the UI goroutine, after the fetch
	// under way has been shown (CheckInbox).
	afterFetch []func()
	// ackDone, when set (tests), is called on the UI goroutine after the
	// acknowledgements already sent have been shown, or after Accept or
	// Reject has finished.
	ackDone func()
}

// CheckInbox checks for new mail now, as Check now does, and calls done
// (when not nil) on the UI goroutine once the outcome is shown, or at once
// when there is no mailbox to check. Tools and tests that drive the window
// use it; call it on the UI goroutine.
func (u *UI) CheckInbox(done func()) {
	t := u.inbox
	if done != nil {
		t.afterFetch = append(t.afterFetch, done)
	}
	if !t.startCheck() && !t.isFetching() {
		t.runAfterFetch()
	}
}

func (t *inboxTab) isFetching() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fetching
}

func (t *inboxTab) runAfterFetch() {
	fns := t.afterFetch
	t.afterFetch = nil
	for _, fn := range fns {
		fn()
	}
}

func newInboxTab(u *UI) *inboxTab {
	t := &inboxTab{ui: u}
	t.buildUI()
	return t
}

func (t *inboxTab) tabItem() *container.TabItem { return t.item }

func (t *inboxTab) buildUI() {
	t.status = &widget.Label{Text: "Not checked yet.", Wrapping: fyne.TextWrapWord}
	t.failed = &widget.Label{Wrapping: fyne.TextWrapWord, Importance: widget.WarningImportance}
	t.failed.Hide()
	t.check = &widget.Button{Text: "Check now", Icon: theme.ViewRefreshIcon(), Importance: widget.HighImportance, OnTapped: t.checkNow}
	open := &widget.Button{Text: "Open .eml file…", Icon: theme.FolderOpenIcon(), OnTapped: t.openDialog}
	if t.ui.cfg.Fetch == nil {
		t.check.Disable()
	}
	t.title = heading("")
	t.lowTitle = &widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord}
	t.lowTitleBox = newFitColumn(t.lowTitle)
	t.lowTitleBox.Hide()
	t.showOwner()
	t.list = widget.NewList(
		func() int { return len(t.rows) },
		newInboxRow,
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(t.rows) {
				fillInboxRow(o, t.rows[id], t.ui.cfg.Recipients)
			}
		},
	)
	t.list.OnSelected = func(id widget.ListItemID) {
		if id < len(t.rows) {
			t.showDetail(t.rows[id])
			if t.ui.low {
				t.showLow(true)
			}
		}
	}
	t.receipts = newCheck("Show acknowledgements of messages you sent", func(bool) { t.refilter() })
	t.receipts.Hide()
	t.search = newEntry(false, "Find by patient NHI, name or document type")
	t.search.OnChanged = func(string) { t.refilter() }
	// Enter opens the first match, as in the Sent tab.
	t.search.OnSubmitted = func(string) {
		if len(t.rows) > 0 {
			t.list.Select(0)
		}
	}
	t.tools = &toolsLayout{}
	t.toolsBox = container.New(t.tools, container.NewHBox(t.check, open), t.search)
	top := container.NewVBox(
		t.title,
		t.toolsBox,
		t.status,
		t.receipts,
		t.failed,
	)
	t.detail = container.NewVBox()
	t.clearDetail()
	// The detail asks for detailMinWidth so that, rather than wrap its
	// words letter by letter beside the list, it goes below it.
	width := canvas.NewRectangle(color.Transparent)
	width.SetMinSize(fyne.NewSize(detailMinWidth, 0))
	t.detailPane = container.NewStack(width, container.NewVScroll(container.NewPadded(t.detail)))
	t.left = topFirst(top, t.list) // Tab: the buttons, then the list
	t.back = newButton("Back to the list", theme.NavigateBackIcon(), widget.MediumImportance, func() { t.showLow(false) })
	t.body = container.NewStack()
	t.layoutBody(false)
	t.item = container.NewTabItemWithIcon("Inbox", theme.MailComposeIcon(),
		topFirst(t.lowTitleBox, t.body))
}

// layoutBody puts the list and the detail into the body: side by side
// when the window is wide enough for both, else the list above the
// detail, as in the Sent tab, sideways scrolling rather than make the
// window wider than a small or scaled screen (the heading made it at
// least 816 wide); on a low window (low) one at a time, as no scroll
// holds them: Fyne finds what a click hits by the innermost scroll alone,
// so a list scrolled out of an outer scroll's view still took the clicks
// meant for the tab bar above it.
func (t *inboxTab) layoutBody(low bool) {
	if low {
		t.body.Objects = []fyne.CanvasObject{container.NewStack(t.left, topFirst(container.NewHBox(t.back), t.detailPane))}
		t.showLow(false)
		t.refreshBody()
		return
	}
	t.left.Show()
	t.detailPane.Show()
	split := container.NewHSplit(t.left, t.detailPane)
	split.Offset = 0.4
	t.body.Objects = []fyne.CanvasObject{container.NewHScroll(newTurningSplit(split))}
	t.refreshBody()
}

// refreshBody lays the body out again once it is in the window: before
// the tab is first shown, a refresh would lay out, measure and wrap
// every label of the Inbox at start-up (TestInboxJoinsWindowWhenShown).
func (t *inboxTab) refreshBody() {
	if !t.body.Size().IsZero() {
		t.body.Refresh()
	}
}

// showLow shows, on a low window, the detail of the message selected
// (detail) or the list; back to the list, no message stays selected, so
// that choosing the same one again shows it.
func (t *inboxTab) showLow(detail bool) {
	box := t.body.Objects[0].(*fyne.Container)
	if detail {
		t.left.Hide()
		box.Objects[1].Show()
		t.ui.win.Canvas().Focus(t.back)
	} else {
		box.Objects[1].Hide()
		t.left.Show()
		t.list.UnselectAll()
	}
	t.refreshBody()
}

// setLow shows whose inbox this is in lowTitle, in the body text's size,
// with the buttons and the search in one row and the list or the detail
// below (layoutBody), on a window lower than compactBannerBelow
// (an 800×600 screen at 200% scaling leaves the tab 239 units of height),
// and in the heading again on a higher one.
func (t *inboxTab) setLow(low bool) {
	if low {
		t.title.Hide()
		t.lowTitleBox.Show()
	} else {
		t.lowTitleBox.Hide()
		t.title.Show()
	}
	t.tools.low = low
	t.toolsBox.Refresh()
	t.layoutBody(low)
}

// showOwner shows whose mailbox this is.
func (t *inboxTab) showOwner() {
	owner := t.ui.cfg.InboxOwner
	if owner == "" {
		owner = "your mailbox"
	}
	t.title.SetText("Inbox of " + owner)
	t.lowTitle.SetText(t.title.Text)
}

func (t *inboxTab) clearDetail() {
	t.detail.RemoveAll()
	t.detail.Add(&widget.Label{Text: "Select a message to see its verdict and documents, or drop an .eml file onto the window.", Wrapping: fyne.TextWrapWord})
}

// startPolling checks now and then every pollEvery until ctx is done (the
// app ends); while no account can fetch, the checks do nothing.
func (t *inboxTab) startPolling(ctx context.Context) {
	t.checkNow()
	go func() {
		tick := time.NewTicker(pollEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				fyne.Do(t.checkNow)
			}
		}
	}()
}

// applyConfig shows the configuration after a reload. When the mailbox
// changed (another account, or out of or into demo mode), the messages
// fetched from the old one go and the new one is checked at once.
func (t *inboxTab) applyConfig(mailboxChanged bool) {
	t.showOwner()
	t.mu.Lock()
	fetching := t.fetching
	t.mu.Unlock()
	if t.ui.cfg.Fetch == nil {
		t.check.Disable()
	} else if !fetching {
		t.check.Enable()
	}
	if !mailboxChanged {
		return
	}
	var kept []Received
	for _, it := range t.items {
		if it.Source != "mailbox" {
			kept = append(kept, it)
		}
	}
	t.items, t.known = kept, nil
	t.list.UnselectAll()
	t.refilter()
	t.clearDetail()
	if t.ui.low {
		t.showLow(false) // the list, as the detail shown is gone
	}
	if t.ui.cfg.Fetch == nil {
		t.status.SetText("No mail account with an inbox server: add one under Settings.")
		return
	}
	t.status.SetText("Not checked yet.")
	if t.ui.running != nil {
		t.checkNow()
	}
}

func (t *inboxTab) checkNow() { t.startCheck() }

// recheckAfter is how long after a check opening the Inbox tab checks
// again: flipping between tabs does not ask the server each time.
const recheckAfter = 10 * time.Second

// opened is the Inbox tab being opened: it checks for new mail unless
// it did so a moment ago (or is doing so).
func (t *inboxTab) opened() {
	if !t.lastCheck.IsZero() && t.ui.cfg.Now().Sub(t.lastCheck) < recheckAfter {
		return
	}
	t.startCheck()
}

// startCheck starts a fetch unless one is under way or there is no
// mailbox; it reports whether it started one.
func (t *inboxTab) startCheck() bool {
	t.mu.Lock()
	fetch, failures := t.ui.cfg.Fetch, t.ui.cfg.Failures
	if t.fetching || fetch == nil {
		t.mu.Unlock()
		return false
	}
	t.fetching = true
	t.mu.Unlock()
	t.lastCheck = t.ui.cfg.Now()
	t.check.Disable()
	t.status.SetText("Checking for new messages…")
	owner := t.ui.cfg.InboxOwner
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		items, err := fetch(ctx)
		failed, ferr := failuresText(failures)
		fyne.Do(func() {
			t.mu.Lock()
			t.fetching = false
			t.mu.Unlock()
			if t.ui.cfg.Fetch != nil {
				t.check.Enable()
			}
			switch {
			case owner != t.ui.cfg.InboxOwner:
				// The app switched to another mailbox meanwhile: this
				// result is not the new mailbox's.
			case err != nil:
				t.status.SetText("Could not check for messages: " + err.Error())
			default:
				t.setItems(items)
				t.status.SetText(fmt.Sprintf("%s. Checked at %s.", countText(len(items)-countReceipts(items))+receiptsText(countReceipts(items)), t.ui.cfg.Now().Format("15:04:05")))
			}
			if owner == t.ui.cfg.InboxOwner {
				t.showFailures(failed, ferr)
			}
			t.runAfterFetch()
			if t.fetchDone != nil {
				t.fetchDone()
			}
		})
	}()
	return true
}

// failuresText asks failures (Config.Failures, may be nil) for the
// messages that could not be received and describes them, one a line,
// made safe (desk.FailureLine); "" when there are none.
func failuresText(failures func() ([]receive.Failure, error)) (string, error) {
	if failures == nil {
		return "", nil
	}
	fs, err := failures()
	if err != nil || len(fs) == 0 {
		return "", err
	}
	lines := []string{fmt.Sprintf("%d message(s) could not be received:", len(fs))}
	for _, f := range fs {
		lines = append(lines, desk.FailureLine(f))
	}
	return strings.Join(lines, "\n"), nil
}

// showFailures shows the messages that could not be received under the
// status, or hides the list when there are none.
func (t *inboxTab) showFailures(text string, err error) {
	if err != nil {
		text = "Could not read the list of messages that failed: " + termsafe.String(err.Error())
	}
	t.failed.SetText(text)
	if text == "" {
		t.failed.Hide()
	} else {
		t.failed.Show()
	}
}

// manifestLine is the third line of a list row: the document type and
// patient NHI from the signed manifest, labelled and made safe
// (desk.ManifestFields); "" without a manifest.
func manifestLine(r *receive.Report) string {
	var parts []string
	for _, f := range desk.ManifestFields(r) {
		if f.Label == desk.LabelDocumentType || f.Label == desk.LabelPatientNHI {
			parts = append(parts, f.Label+": "+f.Value)
		}
	}
	return strings.Join(parts, " · ")
}

func countText(n int) string {
	switch n {
	case 0:
		return "No messages"
	case 1:
		return "1 message"
	}
	return fmt.Sprintf("%d messages", n)
}

// setItems replaces the fetched items (keeping opened files), newest
// first, and announces messages not seen before (after the first check).
func (t *inboxTab) setItems(items []Received) {
	if t.known == nil {
		t.known = map[string]bool{}
		for _, it := range items {
			t.known[it.Key] = true
		}
	}
	var fresh []Received
	for _, it := range items {
		if !t.known[it.Key] {
			t.known[it.Key] = true
			if !isReceipt(it.Report) { // shown in the Sent tab, not news here
				fresh = append(fresh, it)
			}
		}
	}
	switch len(fresh) {
	case 0:
	case 1:
		t.ui.notify("New message: "+reportLook(fresh[0].Report).Short, "From "+termsafe.String(fresh[0].Report.From))
	default:
		t.ui.notify(fmt.Sprintf("%d new messages", len(fresh)), "Open securesend to see their verdicts.")
	}
	var kept []Received
	for _, it := range t.items {
		if it.Source != "mailbox" {
			kept = append(kept, it)
		}
	}
	t.items = append(kept, items...)
	sort.SliceStable(t.items, func(i, j int) bool { return t.items[i].Received.After(t.items[j].Received) })
	t.list.UnselectAll()
	t.refilter()
}

func (t *inboxTab) openDialog() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		path := r.URI().Path()
		r.Close()
		t.openFile(path)
	}, t.ui.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".eml", ".EML"}))
	t.ui.showDialog(d)
}

// openFile verifies a .eml file and shows it in the detail view.
func (t *inboxTab) openFile(path string) {
	if t.ui.cfg.Verify == nil {
		t.status.SetText("Opening .eml files needs a key store; set up your key in Settings.")
		return
	}
	t.status.SetText("Checking " + filepath.Base(path) + "…")
	verify := t.ui.cfg.Verify
	go func() {
		rep, err := verifyFile(verify, path)
		fyne.Do(func() {
			if err != nil {
				t.status.SetText("Could not open " + filepath.Base(path) + ": " + err.Error())
			} else {
				it := Received{Key: path, Received: t.ui.cfg.Now(), Report: rep, Source: path}
				t.items = append([]Received{it}, t.items...)
				t.refilter()
				t.status.SetText("Opened " + filepath.Base(path) + ".")
				t.showDetail(it)
				if t.ui.low {
					t.showLow(true)
				}
			}
			if t.fetchDone != nil {
				t.fetchDone()
			}
		})
	}()
}

func verifyFile(verify func(context.Context, io.Reader) (*receive.Report, error), path string) (*receive.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return verify(ctx, f)
}

// listLine is the second line of a list row: sender (senderName) and
// subject, made safe; the subject is left out when the content is
// withheld and marked when the signature does not cover it.
func listLine(r *receive.Report, recips []Recipient) string {
	from := senderName(r, recips)
	switch {
	case withheld(r):
		return from + " — content withheld"
	case r.Signed.Subject || r.Subject == "":
		return from + " — " + termsafe.String(r.Subject)
	}
	return from + " — " + termsafe.String(r.Subject) + " (unprotected)"
}

// notProtected labels a header field the signature does not cover.
const notProtected = "Not protected by the signature"

// fieldValue shows one header field's value, made safe, with a note
// under it when the signature does not cover it.
func fieldValue(value string, signed bool, wrap fyne.TextWrap) fyne.CanvasObject {
	l := &widget.Label{Text: termsafe.String(value), Wrapping: wrap}
	if signed {
		return l
	}
	return container.NewVBox(l, &widget.Label{Text: notProtected, TextStyle: fyne.TextStyle{Italic: true}, Importance: widget.WarningImportance})
}

// showDetail shows the verdict banner, the message's fields (each marked
// unless the signature covers it), its note as plain text and its
// documents. For a message that failed its integrity or signature check
// nothing from inside it is shown and nothing can be opened.
func (t *inboxTab) showDetail(it Received) {
	r := it.Report
	look := reportLook(r)
	held := withheld(r)
	t.detail.RemoveAll()
	reason := termsafe.String(r.Reason)
	if desk.Trusted(r) {
		reason = "" // the title says it all; the fingerprint follows
	}
	if r.SignerFingerprint != "" {
		reason = strings.TrimSpace(reason + "\nSigner's key fingerprint: " + groupFingerprint(termsafe.String(r.SignerFingerprint)))
	}
	t.detail.Add(banner(look.Icon, look.Tint, bannerTitle(r), reason))
	if it.Duplicate != "" {
		t.detail.Add(banner(theme.WarningIcon(), theme.ColorNameWarning, "Arrived before — check that it is not dispensed twice", it.Duplicate))
	}
	t.showSupersession(it) // superseded.go: cancelled or replaced, in red
	if !isReceipt(r) && desk.IsAcknowledgement(r) {
		t.detail.Add(ignoredAckBanner())
	}
	enc := "no — it travelled readable by the mail servers"
	if r.Encrypted {
		enc = "yes — only you could read it"
	}
	form := widget.NewForm(widget.NewFormItem("From", fieldValue(r.From, r.Signed.From && !held, fyne.TextWrapWord)))
	if !held {
		if len(r.To) > 0 {
			form.Append("To", fieldValue(strings.Join(r.To, ", "), r.Signed.To, fyne.TextWrapWord))
		}
		if len(r.Cc) > 0 {
			form.Append("Cc", fieldValue(strings.Join(r.Cc, ", "), r.Signed.Cc, fyne.TextWrapWord))
		}
		form.Append("Subject", fieldValue(r.Subject, r.Signed.Subject, fyne.TextWrapWord))
		form.Append("Date", fieldValue(dateText(r.Date), r.Signed.Date || r.Date.IsZero(), fyne.TextWrapOff))
	}
	form.Append("Encrypted", &widget.Label{Text: enc})
	if r.MessageID != "" {
		form.Append("Message-ID", fieldValue(r.MessageID, r.Signed.MessageID && !held, fyne.TextWrapBreak))
	}
	for _, f := range desk.ManifestFields(r) { // signed, checked and made safe
		form.Append(f.Label, &widget.Label{Text: f.Value, Wrapping: fyne.TextWrapWord})
	}
	if it.Source != "mailbox" && it.Source != "" {
		form.Append("Opened from", &widget.Label{Text: termsafe.String(it.Source), Wrapping: fyne.TextWrapBreak})
	}
	t.detail.Add(form)
	if len(r.Unprotected) > 0 {
		t.detail.Add(heading("Outside the signature"))
		var lines []string
		for _, f := range r.Unprotected {
			lines = append(lines, termsafe.String(f.Name)+": "+termsafe.String(f.Value))
		}
		t.detail.Add(&widget.Label{Text: "Not protected by the signature; anyone could have changed these:\n" + strings.Join(lines, "\n"), Wrapping: fyne.TextWrapWord})
	}
	for _, m := range r.Remarks {
		t.detail.Add(&widget.Label{Text: termsafe.String(m), Wrapping: fyne.TextWrapWord})
	}
	if held {
		t.detail.Add(heading("Documents withheld"))
		t.detail.Add(&widget.Label{Text: "This message failed its integrity or signature check, so nothing from inside it is shown and its documents cannot be opened or saved. Ask the sender to send it again.", Wrapping: fyne.TextWrapWord})
		t.ackActions(it) // acknowledge.go: says why there is none
		return
	}
	if r.Note != "" {
		t.detail.Add(heading("Note"))
		// Plain text only: mail HTML is never rendered.
		t.detail.Add(&widget.Label{Text: termsafe.Text(r.Note), Wrapping: fyne.TextWrapWord, Selectable: true})
	}
	t.detail.Add(heading(fmt.Sprintf("Documents (%d)", len(r.Documents))))
	for n, d := range r.Documents {
		t.detail.Add(t.documentRow(it.Key, r, n, d))
	}
	for _, o := range r.Omitted {
		t.detail.Add(&widget.Label{Text: "Not shown: " + termsafe.String(o), Wrapping: fyne.TextWrapWord})
	}
	t.ackActions(it) // acknowledge.go: Accept and Reject…
}

// documentRow shows one document with Preview, Open and Save as…, and
// what they did next to the buttons. A document of a message its sender
// cancelled or replaced is previewed, opened or saved only after a
// question that shows what cancelled or replaced it and why, and one of a
// message that is not verified only after a question that shows the
// verdict's reason: each asked on its own, both for a message that is
// both (confirmThen). Only a PDF, TIFF, JPEG or PNG whose content matches
// its name is previewed or handed to the system viewer.
func (t *inboxTab) documentRow(key string, r *receive.Report, n int, d receive.Document) fyne.CanvasObject {
	name := receive.SanitizeName(d.Name)
	shown := termsafe.String(d.Name)
	msg := &widget.Label{Wrapping: fyne.TextWrapWord}
	say := func(text string, imp widget.Importance) {
		msg.Importance = imp
		msg.SetText(text)
	}
	info := container.NewVBox(
		&widget.Label{Text: shown, TextStyle: fyne.TextStyle{Bold: true}, Wrapping: fyne.TextWrapWord},
		&widget.Label{Text: termsafe.String(d.ContentType) + ", " + sizeText(d.Size), Wrapping: fyne.TextWrapWord},
		container.NewBorder(nil, nil, &widget.Label{Text: "SHA-256"}, nil,
			hashRow(t.ui, termsafe.String(d.SHA256), "SHA-256 of "+shown, func(s string) { say(s, widget.MediumImportance) })),
	)
	// The desk says whether the document is a file to read as it is (one
	// verified into a folder) or is kept in the inbox store, read through
	// cfg.Document: a stored document's Path names its encrypted copy
	// inside the store's item, never a file to open.
	direct := desk.AppDocumentFile(r, n)
	if direct == "" && t.ui.cfg.Document == nil {
		return info
	}
	// path finds the document on disk (decrypting it from the store when
	// the store keeps it encrypted, with the user's answers ok);
	// decrypted reports whether that made a temporary copy, to remove
	// after saving or previewing.
	path := func(ok desk.Confirmations) (p string, decrypted bool, err error) {
		if direct != "" {
			return direct, false, nil
		}
		p, err = t.ui.cfg.Document(key, n, ok)
		return p, err == nil, err
	}
	// Each action runs after confirmThen asked the questions that apply
	// (superseded.go), with their answers; should the store refuse for a
	// question the list did not know of yet (a cancellation fetched since),
	// askRefused asks it and the action runs again.
	var open, save, preview func(ok desk.Confirmations)
	open = func(ok desk.Confirmations) {
		p, _, err := path(ok)
		if err != nil {
			if !t.askRefused(err, "Open", shown, ok, open) {
				say("Could not open "+shown+": "+sentence(err.Error()), widget.DangerImportance)
			}
			return
		}
		head, err := readHead(p)
		if err != nil {
			say("Could not open "+shown+": "+sentence(err.Error()), widget.DangerImportance)
			return
		}
		kind, isOpenable := doccheck.Openable(name, head)
		if !isOpenable {
			say(shown+" is not a PDF, TIFF, JPEG or PNG whose content matches its name, so it is not opened. Use Save as… and check it before opening it.", widget.WarningImportance)
			return
		}
		openFile := func(p string) error { return t.ui.app.OpenURL(&url.URL{Scheme: "file", Path: p}) }
		if t.ui.cfg.OpenFile != nil {
			openFile = t.ui.cfg.OpenFile
		}
		if err := openFile(p); err != nil {
			say("No "+kind+" viewer found — use Preview, or Save as… to keep "+shown+".", widget.WarningImportance)
			return
		}
		say("Opened "+shown+".", widget.MediumImportance)
	}
	save = func(ok desk.Confirmations) {
		p, decrypted, err := path(ok)
		if err != nil {
			if !t.askRefused(err, "Save", shown, ok, save) {
				say("Could not read "+shown+": "+sentence(err.Error()), widget.DangerImportance)
			}
			return
		}
		head, _ := readHead(p)
		if _, isOpenable := doccheck.Openable(name, head); !isOpenable {
			say("Warning: "+shown+" is not a PDF, TIFF, JPEG or PNG whose content matches its name; do not open it unless you expected it from this sender.", widget.WarningImportance)
		}
		t.saveAs(name, p, decrypted)
	}
	pv := newPreview()
	preview = func(ok desk.Confirmations) {
		say("Making the preview…", widget.MediumImportance)
		t.preview(pv, name, shown, func() (string, bool, error) { return path(ok) }, say,
			func(err error) bool { return t.askRefused(err, "Preview", shown, ok, preview) })
	}
	guard := func(verb string, do func(desk.Confirmations)) func() {
		return func() { t.confirmThen(key, r, verb, shown, desk.Confirmations{}, do) }
	}
	previewBtn := newButton("Preview", theme.VisibilityIcon(), widget.MediumImportance, guard("Preview", preview))
	openBtn := newButton("Open", theme.FileIcon(), widget.MediumImportance, guard("Open", open))
	saveBtn := newButton("Save as…", theme.DocumentSaveIcon(), widget.MediumImportance, guard("Save", save))
	return container.NewVBox(info, newFitColumn(container.NewHBox(previewBtn, openBtn, saveBtn), msg), pv.root)
}

// confirmUnverified asks before a document of a message that is not
// verified is opened or saved, showing the verdict and its reason; do
// runs only when the user confirms. It answers that question only: one
// its sender cancelled or replaced is asked about on its own
// (confirmSuperseded).
func (t *inboxTab) confirmUnverified(r *receive.Report, verb, name string, do func()) {
	look := reportLook(r)
	msg := &widget.Label{Wrapping: fyne.TextWrapWord, Text: bannerTitle(r) + "\n\n" + termsafe.String(r.Reason) +
		"\n\n" + name + " is from a message that is NOT VERIFIED. " + verb + " it anyway?"}
	content := container.NewBorder(nil, nil, widget.NewIcon(look.Icon), nil, msg)
	d, _ := t.ui.askDialog("Not verified: "+look.Short, content, "Cancel", verb+" anyway", do)
	d.Resize(fyne.NewSize(520, 0))
	t.ui.showDialog(d)
}

// readHead returns the first bytes of the file at p, for
// doccheck.Openable.
func readHead(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	head := make([]byte, doccheck.SniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, err
	}
	return head[:n], nil
}

// saveAs copies a received document to where the user chooses. When src
// is a decrypted temporary copy (Config.Document), it is removed once the
// dialog is done, saved or cancelled.
func (t *inboxTab) saveAs(name, src string, temporary bool) {
	dlg := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		t.saved(name, src, temporary, w, err)
	}, t.ui.win)
	dlg.SetFileName(name)
	t.ui.showDialog(dlg)
}

// saved is the end of Save as…: it copies src to w (nil when cancelled),
// says how it went, and removes src when it is a temporary copy.
func (t *inboxTab) saved(name, src string, temporary bool, w fyne.URIWriteCloser, err error) {
	if temporary {
		defer os.Remove(src)
	}
	if err != nil || w == nil {
		return
	}
	f, err := os.Open(src)
	if err == nil {
		_, err = io.Copy(w, f)
		f.Close()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.status.SetText("Could not save " + termsafe.String(name) + ": " + err.Error())
		return
	}
	t.status.SetText("Saved " + termsafe.String(name) + ".")
}

func dateText(t time.Time) string {
	if t.IsZero() {
		return "(none)"
	}
	return t.Local().Format("Mon 2 Jan 2006, 15:04")
}

// groupFingerprint writes a fingerprint in groups of four for comparing
// aloud (and so that it wraps only between groups), whatever spaces it
// came with.
func groupFingerprint(f string) string {
	var b strings.Builder
	i := 0
	for _, r := range f {
		if r == ' ' {
			continue
		}
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
		i++
	}
	return b.String()
}
