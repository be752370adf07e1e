package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// Tracker is implemented by an Outbox that follows the recipients' signed
// acknowledgements (*desk.Outbox): the Sent tab then shows acknowledged,
// accepted, rejected with the reason, and the amber "not acknowledged
// yet" after the policy's wait.
type Tracker interface {
	TrackAll(recs []*outbox.Record) []desk.Tracking
}

// Outbox is the sending side of a desk as the app uses it (*desk.Outbox
// implements it): Queue runs "send these documents securely" up to the
// outbox (the organisation policy gate, signing and encryption, the job,
// composed and encrypted at rest, no network I/O); Deliver and Watch send
// jobs through the policy gate in force at each attempt; the rest manage
// the jobs. Tests pass a fake.
type Outbox interface {
	Queue(ctx context.Context, m *send.Message) (id string, err error)
	Deliver(ctx context.Context, id string, progress func(sent int64)) (*outbox.Record, error)
	Watch(ctx context.Context, poll time.Duration, report func(error)) error
	List() ([]*outbox.Record, error)
	Get(id string) (*outbox.Record, error)
	Retry(id string) (*outbox.Record, error)
	ConfirmResend(id string) (*outbox.Record, error)
	Cancel(id string) (*outbox.Record, error)
	Remove(id string) error
}

// OutboxConfig sends through the desk's durable outbox, as 'securesend
// send' does: the message is composed, protected and written to the
// outbox, encrypted at rest, before any network I/O; then delivered, and
// retried by the outbox's Watch loop while the app runs. The Sent tab
// lists its jobs.
type OutboxConfig struct {
	// Box is the desk's outbox. Open it with its Notify set to
	// Events.Notify so that the Sent tab follows every change.
	Box Outbox
	// Events forwards the outbox's notifications to the UI.
	Events *OutboxEvents
	// Poll is how often the outbox is looked at for jobs that are due
	// (also those queued by 'securesend send'); a minute when zero.
	Poll time.Duration
}

// OutboxEvents passes the outbox's notifications (outbox.Options.Notify)
// to the app once its window exists. The zero value drops them.
type OutboxEvents struct {
	mu sync.Mutex
	fn func(outbox.Record)
}

// Notify is the outbox.Options.Notify function; it may be called on any
// goroutine.
func (e *OutboxEvents) Notify(r outbox.Record) {
	e.mu.Lock()
	fn := e.fn
	e.mu.Unlock()
	if fn != nil {
		fn(r)
	}
}

func (e *OutboxEvents) set(fn func(outbox.Record)) {
	e.mu.Lock()
	e.fn = fn
	e.mu.Unlock()
}

// stateText says in words where a job is, with an icon (never colour
// alone).
func stateText(r *outbox.Record, now time.Time) (fyne.Resource, string) {
	switch r.State {
	case outbox.Queued:
		return theme.HistoryIcon(), "Waiting to be sent"
	case outbox.Sending:
		return theme.UploadIcon(), "Sending now…"
	case outbox.Sent:
		return theme.ConfirmIcon(), "Sent"
	case outbox.Deferred:
		return theme.WarningIcon(), "Not sent yet — next try " + whenText(r.NextAttempt, now)
	case outbox.Failed:
		return theme.ErrorIcon(), "Failed — not sent"
	case outbox.PossiblySent:
		return theme.QuestionIcon(), "May have been sent — needs your decision"
	case outbox.Cancelled:
		return theme.CancelIcon(), "Cancelled — not sent"
	}
	return theme.QuestionIcon(), string(r.State)
}

// trackedText is stateText raised by what the recipient's signed
// acknowledgement says, or amber when one is overdue; importance colours
// the list's state line (never colour alone: the words and icon say it).
func trackedText(r *outbox.Record, tr desk.Tracking, now time.Time) (fyne.Resource, string, widget.Importance) {
	// The acknowledgement parser already refuses control, bidi and
	// zero-width characters in a reason; made safe here too, as every
	// string from a message is before it is shown.
	from := termsafe.String(tr.From)
	switch {
	case tr.Receipt != nil && tr.State == desk.TrackRejected:
		return theme.ErrorIcon(), "Rejected by " + from + ": " + termsafe.String(tr.Receipt.Reason), widget.DangerImportance
	case tr.Receipt != nil && tr.State == desk.TrackAccepted:
		return theme.ConfirmIcon(), "Accepted by " + from, widget.SuccessImportance
	case tr.Receipt != nil:
		return theme.ConfirmIcon(), "Acknowledged — received and verified by " + from, widget.SuccessImportance
	case tr.Overdue:
		return theme.WarningIcon(), "Sent — " + desk.OverdueText, widget.WarningImportance
	}
	icon, text := stateText(r, now)
	return icon, text, widget.MediumImportance
}

// trackedExplanation is stateExplanation for a job with an
// acknowledgement, or overdue for one.
func trackedExplanation(r *outbox.Record, tr desk.Tracking, now time.Time) string {
	switch {
	case tr.Receipt != nil && tr.State == desk.TrackRejected:
		return fmt.Sprintf("%s rejected the message %s, in an acknowledgement signed with their pinned key: %q. Phone them before sending it again.", termsafe.String(tr.From), whenText(tr.Receipt.Time, now), termsafe.String(tr.Receipt.Reason))
	case tr.Receipt != nil && tr.State == desk.TrackAccepted:
		return fmt.Sprintf("%s accepted the message %s, in an acknowledgement signed with their pinned key.", tr.From, whenText(tr.Receipt.Time, now))
	case tr.Receipt != nil:
		return fmt.Sprintf("%s's securesend received the message, decrypted it and verified your signature %s; its acknowledgement is signed with their pinned key and names the same documents.", tr.From, whenText(tr.Receipt.Time, now))
	case tr.Overdue:
		return "The mail server accepted the message, but no signed acknowledgement has arrived from the recipient yet. Phone the pharmacy to check that it arrived before the patient gets there."
	}
	return stateExplanation(r, now)
}

// ackConfirmation is the acknowledgement's lines for the transmission
// confirmation (copied and saved as PDF); "" without one.
func ackConfirmation(tr desk.Tracking) string {
	if tr.Receipt == nil {
		if tr.Overdue {
			return "\nAcknowledgement      none yet — " + desk.OverdueText + "\n"
		}
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nAcknowledgement      %s by %s (signed, verified)\n", tr.State, tr.From)
	fmt.Fprintf(&b, "Acknowledged at      %s\n", tr.Receipt.Time.Local().Format("Mon 2 Jan 2006, 15:04:05 MST"))
	if tr.Receipt.Reason != "" {
		fmt.Fprintf(&b, "Reason               %s\n", termsafe.String(tr.Receipt.Reason))
	}
	for _, d := range tr.Receipt.Documents {
		fmt.Fprintf(&b, "Acknowledged SHA-256 %s\n", d.SHA256)
	}
	return b.String()
}

// whenText is a time as people say it: "at 10:42" today, or with the date.
func whenText(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if t.YearDay() == now.YearDay() && t.Year() == now.Year() {
		return "at " + t.Format("15:04")
	}
	return "on " + t.Format("Mon 2 Jan at 15:04")
}

// stateExplanation tells the user what the state means and what they can
// do.
func stateExplanation(r *outbox.Record, now time.Time) string {
	switch r.State {
	case outbox.Queued:
		return "The message is safe in the outbox (encrypted on this computer) and is about to be sent."
	case outbox.Sending:
		return fmt.Sprintf("Attempt %d is under way.", r.Attempts)
	case outbox.Sent:
		return "The mail server accepted the message. The transmission confirmation is below."
	case outbox.Deferred:
		return fmt.Sprintf("The last attempt failed for a reason that is usually temporary: %s. The message is safe in the outbox and will be tried again %s, automatically while the app is open. Retry now tries at once.",
			plainReason(r.LastError), whenText(r.NextAttempt, now))
	case outbox.Failed:
		return fmt.Sprintf("The message was not sent: %s. It is kept in the outbox; fix the cause (for example the account settings) and press Retry, or remove it.",
			plainReason(r.LastError))
	case outbox.PossiblySent:
		return "The connection was interrupted after the message went out, so the recipient may already have it. Check with the recipient before sending it again: Confirm resend sends the very same message (same Message-ID, so their system can spot the duplicate)."
	case outbox.Cancelled:
		return "You cancelled this message; it was not sent. Retry queues it again, Remove deletes it."
	}
	return ""
}

// sentTab lists the outbox: every message sent from this computer, with
// its state, and what can be done with it.
type sentTab struct {
	ui   *UI
	item *container.TabItem

	recs []*outbox.Record
	// tracks are the jobs' acknowledgement states by job id (empty when
	// the Outbox is no Tracker).
	tracks map[string]desk.Tracking
	// shown are the records the list shows: recs that match the search.
	shown  []*outbox.Record
	search *focusEntry
	list   *widget.List
	status *statusLine // sentfit.go: takes no room while empty
	// title is the "Sent and outbox" heading, hidden on a low window
	// (setLow, sentfit.go), where the tab's name says it.
	title  *widget.Label
	detail *fyne.Container
	// selected is the id of the job shown in the detail.
	selected string

	retryBtn, cancelBtn, confirmBtn, removeBtn *focusButton

	// reloadDone, when set (tests), is called on the UI goroutine after
	// the list has been reloaded.
	reloadDone func()
	// actionDone, when set (tests), is called on the UI goroutine after a
	// button's action (and the delivery it starts) has finished.
	actionDone func()

	mu        sync.Mutex
	reloading bool
	again     bool
}

// newSentTab makes the tab; its content is built when it is first shown
// (ensureBuilt), which keeps startup short.
func newSentTab(u *UI) *sentTab {
	t := &sentTab{ui: u}
	t.item = container.NewTabItemWithIcon("Sent", theme.MailForwardIcon(), container.NewStack())
	return t
}

// ensureBuilt builds the content the first time the tab is shown.
func (t *sentTab) ensureBuilt() {
	if t.list == nil {
		t.buildUI()
		t.refreshSoon()
	}
}

// refreshSoon lists the outbox again (off the UI goroutine) while the app
// follows it; for changes the outbox does not notify (Remove).
func (t *sentTab) refreshSoon() {
	if t.ui.listening.Load() {
		t.reload()
	}
}

// reloadNow lists the outbox on the calling goroutine (tests).
func (t *sentTab) reloadNow() {
	recs, err := t.ui.cfg.Outbox.Box.List()
	t.tracks = trackAll(t.ui.cfg.Outbox.Box, recs)
	t.apply(recs, err)
}

// trackAll is the acknowledgement state of each of recs when box is a
// Tracker (it reads the acknowledgement log: call it off the UI
// goroutine).
func trackAll(box Outbox, recs []*outbox.Record) map[string]desk.Tracking {
	tb, ok := box.(Tracker)
	if !ok || len(recs) == 0 {
		return nil
	}
	ts := tb.TrackAll(recs)
	out := make(map[string]desk.Tracking, len(ts))
	for i, r := range recs {
		if i < len(ts) {
			out[r.ID] = ts[i]
		}
	}
	return out
}

// track is job r's acknowledgement state.
func (t *sentTab) track(r *outbox.Record) desk.Tracking {
	if tr, ok := t.tracks[r.ID]; ok {
		return tr
	}
	return desk.Tracking{State: desk.TrackState(r.State)}
}

func (t *sentTab) tabItem() *container.TabItem { return t.item }

func (t *sentTab) buildUI() {
	t.status = newStatusLine()
	t.search = newEntry(false, "Find by patient NHI, name or document type")
	t.search.OnChanged = func(string) { t.filter() }
	// Enter opens the first match: typing the NHI and Enter shows its
	// confirmation without a trip to the list.
	t.search.OnSubmitted = func(string) {
		if len(t.shown) > 0 {
			t.list.Select(0)
		}
	}
	t.list = widget.NewList(
		func() int {
			if len(t.recs) == 0 {
				t.shown = nil
			}
			return len(t.shown)
		},
		func() fyne.CanvasObject {
			return container.NewBorder(nil, nil, widget.NewIcon(theme.ConfirmIcon()), nil, container.NewVBox(
				&widget.Label{TextStyle: fyne.TextStyle{Bold: true}, Truncation: fyne.TextTruncateEllipsis},
				&widget.Label{Truncation: fyne.TextTruncateEllipsis},
			))
		},
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id >= len(t.shown) {
				return
			}
			r := t.shown[id]
			c := o.(*fyne.Container)
			icon, _, imp := trackedText(r, t.track(r), t.ui.cfg.Now())
			var text *fyne.Container
			for _, obj := range c.Objects {
				switch v := obj.(type) {
				case *widget.Icon:
					v.SetResource(icon)
				case *fyne.Container:
					text = v
				}
			}
			text.Objects[0].(*widget.Label).SetText(jobTitle(r))
			line := text.Objects[1].(*widget.Label)
			line.Importance = imp
			line.SetText(jobSummary(r, t.track(r), t.ui.cfg.Now()))
		},
	)
	t.list.OnSelected = func(id widget.ListItemID) {
		if id < len(t.shown) {
			t.selected = t.shown[id].ID
			t.showDetail(t.shown[id])
		}
	}
	t.retryBtn = newButton("Retry now", theme.ViewRefreshIcon(), widget.MediumImportance, func() { t.act("retry") })
	t.cancelBtn = newButton("Cancel sending", theme.CancelIcon(), widget.MediumImportance, func() { t.act("cancel") })
	t.confirmBtn = newButton("Confirm resend", theme.MailForwardIcon(), widget.WarningImportance, func() { t.act("confirm") })
	t.removeBtn = newButton("Remove…", theme.DeleteIcon(), widget.MediumImportance, t.askRemove)
	t.detail = container.NewVBox(&widget.Label{Text: sentIntro, Wrapping: fyne.TextWrapWord})
	buttons := container.NewHBox(t.retryBtn, t.confirmBtn, t.cancelBtn, t.removeBtn)
	t.setButtons(nil)
	t.title = heading("Sent and outbox")
	t.title.Hidden = t.ui.low
	left := topFirst(newFitColumn(t.title, t.status, t.search), t.list)
	right := container.NewBorder(nil, container.NewPadded(buttons), nil, nil, container.NewVScroll(container.NewPadded(t.detail)))
	split := container.NewHSplit(container.NewPadded(left), right)
	split.SetOffset(0.4)
	stack := t.item.Content.(*fyne.Container)
	// Side by side when the window is wide enough for both, else the
	// list above the detail (800×600 at 150% is 533 units wide).
	stack.Objects = []fyne.CanvasObject{newTurningSplit(split)}
	stack.Refresh()
}

// jobTitle is the first line of a job in the list: patient, document
// type and recipient, as a receptionist looks for it.
func jobTitle(r *outbox.Record) string {
	sum := summaryOf(r)
	nhiText := sum.NHI
	if nhiText == "" {
		nhiText = "No NHI"
	}
	docType := sum.DocType
	if docType == "" {
		docType = "Document"
	}
	return nhiText + " · " + docType + " · " + sum.toNames(nil)
}

// jobSummary is the second line of a job in the list: its state and when.
func jobSummary(r *outbox.Record, tr desk.Tracking, now time.Time) string {
	_, state, _ := trackedText(r, tr, now)
	when := r.Created
	if r.Result != nil && r.State == outbox.Sent && !r.Result.Finished.IsZero() {
		when = r.Result.Finished
	}
	line := state + " · " + when.Local().Format("Mon 2 Jan 15:04")
	if story := storyText(r, tr, now); story != "" {
		line = story + " · " + line // first: the row is cut at its end
	}
	return line
}

// matches reports whether r is found by the search text q: its patient
// NHI (spaces and case ignored), a recipient's name or address, or its
// document type (searchMatches).
func matches(r *outbox.Record, q string) bool {
	sum := summaryOf(r)
	hay := []string{sum.DocType}
	for _, a := range sum.To {
		hay = append(hay, a.Name, a.Address)
	}
	return searchMatches(q, sum.NHI, hay...)
}

// searchMatches is the Sent and Inbox lists' search: whether the search
// text q is empty, is found in the patient NHI nhi with spaces and case
// ignored, or is found in one of hay (names, addresses, document type)
// with case ignored.
func searchMatches(q, nhi string, hay ...string) bool {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" {
		return true
	}
	if compact := strings.ReplaceAll(q, " ", ""); compact != "" && strings.Contains(strings.ToLower(nhi), compact) {
		return true
	}
	for _, h := range hay {
		if strings.Contains(strings.ToLower(h), q) {
			return true
		}
	}
	return false
}

// filter shows the records that match the search, keeping the selection
// when it still shows.
func (t *sentTab) filter() {
	t.refilter()
	t.list.UnselectAll()
	t.list.Refresh()
	t.selectShown(t.selected)
}

// refilter picks the records that match the search.
func (t *sentTab) refilter() {
	q := ""
	if t.search != nil {
		q = t.search.Text
	}
	t.shown = nil
	for _, r := range t.recs {
		if matches(r, q) {
			t.shown = append(t.shown, r)
		}
	}
}

// askRemove asks before removing a record: a sent message's record is the
// proof that it was sent.
func (t *sentTab) askRemove() {
	id := t.selected
	var rec *outbox.Record
	for _, r := range t.recs {
		if r.ID == id {
			rec = r
		}
	}
	if rec == nil {
		return
	}
	title, text := "Remove this message?", "It was not sent. Removing it deletes it from this computer; it cannot be undone."
	if rec.State == outbox.Sent {
		title = "Remove the proof of sending?"
		text = "This record is your proof that the message was sent: its transmission confirmation. Save it as PDF first if you need it for the patient's notes. Removing it cannot be undone."
	}
	d := dialog.NewCustomWithoutButtons(title, &widget.Label{Text: text, Wrapping: fyne.TextWrapWord}, t.ui.win)
	// Keep it is the default: Enter, Space or Escape on it keep the
	// record; removing takes Tab to Remove first.
	keep := newButton("Keep it", theme.CancelIcon(), widget.HighImportance, d.Hide)
	remove := newButton("Remove", theme.DeleteIcon(), widget.DangerImportance, func() {
		d.Hide()
		if t.selected == id {
			t.act("remove")
		}
	})
	keep.onEscape, remove.onEscape = d.Hide, d.Hide
	d.SetButtons([]fyne.CanvasObject{keep, remove})
	d.Resize(fyne.NewSize(min(480, t.ui.win.Canvas().Size().Width-40), 220))
	t.ui.showDialog(d)
	t.ui.win.Canvas().Focus(keep)
}

// setButtons enables the actions that apply to r's state.
func (t *sentTab) setButtons(r *outbox.Record) {
	enable := func(b *focusButton, on bool) {
		if on {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	var st outbox.State
	if r != nil {
		st = r.State
	}
	enable(t.retryBtn, st == outbox.Deferred || st == outbox.Failed || st == outbox.Cancelled)
	enable(t.cancelBtn, st == outbox.Queued || st == outbox.Deferred || st == outbox.PossiblySent || st == outbox.Failed)
	enable(t.confirmBtn, st == outbox.PossiblySent)
	enable(t.removeBtn, st == outbox.Sent || st == outbox.Failed || st == outbox.Cancelled)
	if st == outbox.PossiblySent {
		t.confirmBtn.Show()
	} else {
		t.confirmBtn.Hide()
	}
}

// showDetail fills the detail pane from r.
func (t *sentTab) showDetail(r *outbox.Record) {
	t.detail.RemoveAll()
	now := t.ui.cfg.Now()
	tr := t.track(r)
	icon, state, _ := trackedText(r, tr, now)
	colour := theme.ColorNamePrimary
	switch r.State {
	case outbox.Sent:
		colour = theme.ColorNameSuccess
	case outbox.Deferred, outbox.PossiblySent:
		colour = theme.ColorNameWarning
	case outbox.Failed:
		colour = theme.ColorNameError
	}
	switch {
	case tr.Receipt != nil && tr.State == desk.TrackRejected:
		colour = theme.ColorNameError
	case tr.Receipt != nil:
		colour = theme.ColorNameSuccess
	case tr.Overdue:
		colour = theme.ColorNameWarning
	}
	sum := summaryOf(r)
	t.detail.Add(banner(icon, colour, state+": to "+sum.toNames(r.Result)+"."+supersedesTitle(r.Supersedes), trackedExplanation(r, tr, now)))
	t.storyDetail(r, tr) // sentstory.go: replaced or cancelled by…
	if r.Result != nil && r.State == outbox.Sent {
		t.detail.Add(heading("Transmission confirmation"))
		res := r.Result
		t.detail.Add(confirmationDetail(t.ui, res, sum, t.status.SetText))
		if a := ackConfirmation(tr); a != "" {
			t.detail.Add(valueLabel(strings.TrimSpace(a)))
		}
		copyBtn := newButton("Copy confirmation", theme.ContentCopyIcon(), widget.MediumImportance, func() {
			t.ui.app.Clipboard().SetContent(confirmationText(res, sum, t.ui.cfg.Protection) + ackConfirmation(tr))
			t.status.SetText("Transmission confirmation copied.")
		})
		saveBtn := newButton("Save as PDF…", theme.DocumentSaveIcon(), widget.MediumImportance, func() {
			d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
				if err != nil || w == nil {
					return
				}
				t.status.SetText(savePDF(w, w.URI().Name(), confirmationText(res, sum, t.ui.cfg.Protection)+ackConfirmation(tr)))
			}, t.ui.win)
			d.SetFileName("transmission-confirmation-" + res.Finished.Local().Format("2006-01-02-1504") + ".pdf")
			t.ui.showDialog(d)
		})
		t.detail.Add(container.NewHBox(copyBtn, saveBtn))
		t.supersedeActions(r) // supersede.go: Cancel…
		t.setButtons(r)
		return
	}
	form := widget.NewForm()
	add := func(k, v string) { form.Append(k, valueLabel(v)) }
	nhiText := sum.NHI
	if nhiText == "" {
		nhiText = "None given"
	}
	add("Patient NHI", nhiText)
	if sum.DocType != "" {
		add("Document type", sum.DocType)
	}
	add("To", sum.toText(nil))
	storyForm(add, sum) // sentstory.go: the note, what it replaces
	add("Queued", r.Created.Local().Format("Mon 2 Jan 2006, 15:04:05"))
	add("Attempts", fmt.Sprint(r.Attempts))
	if !r.LastAttempt.IsZero() {
		add("Last attempt", r.LastAttempt.Local().Format("Mon 2 Jan 2006, 15:04:05"))
	}
	if r.LastError != "" {
		add("Reason", sentence(plainReason(r.LastError)))
	}
	add("Message-ID", r.MessageID)
	t.detail.Add(form)
	if len(r.Documents) > 0 {
		t.detail.Add(heading("Documents"))
		for _, d := range r.Documents {
			t.detail.Add(valueLabel(fmt.Sprintf("%s — %s, %s", d.Name, d.ContentType, sizeText(d.Size))))
			t.detail.Add(hashRow(t.ui, d.SHA256, "SHA-256 of "+d.Name, t.status.SetText))
		}
	}
	t.setButtons(r)
}

// announce notifies the user when a job the Send tab is not following
// (retried by the outbox, or from the Sent tab) is sent, fails or may have
// been sent. Only who and the outcome: never patient details. It may be
// called on any goroutine.
func (t *sentTab) announce(r outbox.Record) {
	if t.ui.send.ownsJob(r.ID) {
		return
	}
	to := strings.Join(r.Envelope.To, ", ")
	var title, text string
	switch r.State {
	case outbox.Sent:
		title, text = "Sent securely", "The outbox delivered a message to "+to+"."
	case outbox.Failed:
		title, text = "Not sent", "A message to "+to+" could not be delivered; see the Sent tab."
	case outbox.PossiblySent:
		title, text = "May have been sent", "A message to "+to+" needs your decision; see the Sent tab."
	default:
		return
	}
	fyne.Do(func() { t.ui.notify(title, text) })
}

// reload lists the outbox off the UI goroutine and shows it. Calls while
// one is under way run once more after it.
func (t *sentTab) reload() {
	ob := t.ui.cfg.Outbox
	if ob == nil || ob.Box == nil {
		return
	}
	t.mu.Lock()
	if t.reloading {
		t.again = true
		t.mu.Unlock()
		return
	}
	t.reloading = true
	t.mu.Unlock()
	go func() {
		for {
			recs, err := ob.Box.List()
			tracks := trackAll(ob.Box, recs)
			fyne.Do(func() {
				t.tracks = tracks
				t.apply(recs, err)
			})
			t.mu.Lock()
			if !t.again {
				t.reloading = false
				t.mu.Unlock()
				return
			}
			t.again = false
			t.mu.Unlock()
		}
	}()
}

// apply shows a fresh listing, newest first, keeping the selection.
func (t *sentTab) apply(recs []*outbox.Record, err error) {
	if t.list == nil { // not shown yet: only the tab's title
		if err == nil {
			t.recs = recs
			t.item.Text = "Sent" + t.attentionCount()
		}
	} else if err != nil {
		t.status.SetText("The outbox could not be read: " + plainOutboxError(err))
	} else {
		for i, j := 0, len(recs)-1; i < j; i, j = i+1, j-1 {
			recs[i], recs[j] = recs[j], recs[i]
		}
		t.recs = recs
		t.refilter()
		t.list.Refresh()
		found := false
		for _, r := range t.recs {
			if r.ID == t.selected {
				found = true
				t.selectShown(r.ID) // no-op when already selected
				t.showDetail(r)
			}
		}
		if !found && t.selected != "" {
			t.selected = ""
			t.list.UnselectAll()
			t.detail.RemoveAll()
			t.setButtons(nil)
		}
		t.item.Text = "Sent" + t.attentionCount()
	}
	t.mu.Lock()
	done := t.reloadDone
	t.mu.Unlock()
	if done != nil {
		done()
	}
}

// plainReason is an outbox record's LastError without the Go-style
// prefixes ("send: dial: ").
func plainReason(s string) string {
	if rest, ok := strings.CutPrefix(s, "send: "); ok {
		if i := strings.Index(rest, ": "); i > 0 && !strings.Contains(rest[:i], " ") {
			rest = rest[i+2:]
		}
		s = rest
	}
	return strings.TrimSuffix(s, ".")
}

// attentionCount is " (n)" when n jobs need the user (possibly sent or
// failed), else "".
func (t *sentTab) attentionCount() string {
	n := 0
	for _, r := range t.recs {
		if r.State == outbox.PossiblySent || r.State == outbox.Failed {
			n++
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%d)", n)
}

// selectJob shows job id (after a send from the Send tab).
func (t *sentTab) selectJob(id string) {
	t.ensureBuilt()
	t.selected = id
	for _, r := range t.recs {
		if r.ID == id {
			if !matches(r, t.search.Text) {
				t.search.SetText("") // shows every record again
			}
			t.selectShown(id)
			t.showDetail(r)
		}
	}
}

// selectShown selects job id in the list when it shows there.
func (t *sentTab) selectShown(id string) {
	for i, r := range t.shown {
		if r.ID == id {
			t.list.Select(i)
		}
	}
}

// act runs a button's action on the selected job off the UI goroutine;
// Retry and Confirm resend deliver at once.
func (t *sentTab) act(what string) {
	ob := t.ui.cfg.Outbox
	id := t.selected
	if ob == nil || id == "" {
		return
	}
	t.status.SetText("Working…")
	go func() {
		var err error
		deliver := false
		switch what {
		case "retry":
			_, err = ob.Box.Retry(id)
			deliver = true
		case "confirm":
			_, err = ob.Box.ConfirmResend(id)
			deliver = true
		case "cancel":
			_, err = ob.Box.Cancel(id)
		case "remove":
			err = ob.Box.Remove(id)
		}
		msg := ""
		if err == nil && deliver {
			var rec *outbox.Record
			rec, err = ob.Box.Deliver(context.Background(), id, nil)
			if rec != nil {
				_, msg = stateText(rec, t.ui.cfg.Now())
				msg += "."
			}
			if err != nil && rec != nil && rec.State != outbox.Sending {
				err = nil // the record says what happened
			}
		}
		if err != nil {
			msg = "Could not " + map[string]string{"retry": "retry", "confirm": "resend", "cancel": "cancel", "remove": "remove"}[what] + ": " + plainOutboxError(err)
		} else if msg == "" {
			msg = map[string]string{"cancel": "Cancelled; the message was not sent.", "remove": "Removed from the outbox."}[what]
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

// plainOutboxError is an outbox error without the package prefix.
func plainOutboxError(err error) string {
	if errors.Is(err, outbox.ErrBusy) {
		return "the message is being sent right now; wait a moment."
	}
	return sentence(strings.ReplaceAll(err.Error(), "outbox: ", ""))
}

// watch delivers due jobs while the app runs (outbox.Watch) until ctx is
// done.
func (t *sentTab) watch(ctx context.Context) {
	ob := t.ui.cfg.Outbox
	if ob == nil || ob.Box == nil {
		return
	}
	go func() {
		_ = ob.Box.Watch(ctx, ob.Poll, func(err error) {
			fyne.Do(func() {
				if t.status != nil {
					t.status.SetText("The outbox could not deliver: " + plainOutboxError(err))
				}
			})
		})
	}()
}
