package app

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send/outbox"
)

// TestChosenDocumentTypeReachesThePharmacist: the document type the
// receptionist picks on the Send tab is the signed manifest's type, so the
// pharmacist's Inbox row says "Document type: referral" for a referral,
// not the manifest's default "document" beside a "Referral" subject.
func TestChosenDocumentTypeReachesThePharmacist(t *testing.T) {
	for _, tc := range []struct {
		choice, nhi, subject, manifest string
	}{
		{"Prescription", "ZZZ0016", "Prescription", "prescription"},
		{"Referral", "ZZZ00AC", "Referral", "referral"},
		{"Other", "ZZZ0016", "Other", "document"},
	} {
		t.Run(tc.choice, func(t *testing.T) {
			u := newDemoUI(t, nil)
			s := u.send
			addSamples(t, s)
			s.docType.SetSelected(tc.choice)
			test.Type(s.nhiEntry, tc.nhi)
			sent := expect(&s.sendDone)
			pressSend(t, s)
			await(t, "send", sent)
			if !s.confirm.root.Visible() {
				t.Fatalf("not sent: %s", texts(s.problem))
			}

			in := u.inbox
			fetched := expect(&in.fetchDone)
			test.Tap(in.check)
			await(t, "fetch", fetched)
			if len(in.items) != 1 {
				t.Fatalf("inbox has %d messages; status %q", len(in.items), in.status.Text)
			}
			rep := in.items[0].Report
			if rep.Verdict != receive.Verified || rep.Manifest == nil {
				t.Fatalf("verdict %s (%s), manifest %v", rep.Verdict, rep.Reason, rep.Manifest)
			}
			if rep.Manifest.DocumentType != tc.manifest || rep.Subject != tc.subject {
				t.Errorf("signed document type %q, subject %q; want %q, %q", rep.Manifest.DocumentType, rep.Subject, tc.manifest, tc.subject)
			}
			want := "Patient NHI: " + tc.nhi + " · Document type: " + tc.manifest
			if got := manifestLine(rep); got != want {
				t.Errorf("inbox row %q, want %q", got, want)
			}
			in.list.Select(0)
			if d := texts(in.detail); !strings.Contains(d, "Document type: "+tc.manifest) {
				t.Errorf("detail lacks the document type %q:\n%s", tc.manifest, d)
			}
		})
	}
}

// TestEscapeClosesDialogs: Escape leaves every dialog as its Cancel, Close
// or Keep it button would (Fyne's dialogs take no Escape): the file
// chooser Ctrl+O opens, the Help menu's shortcuts, and Cancel… on a sent
// message while its reason field has the focus, which sends nothing.
func TestEscapeClosesDialogs(t *testing.T) {
	u := newDemoUI(t, nil)
	c := u.win.Canvas()
	u.win.Resize(fyne.NewSize(1024, 720))
	open := func() bool { return c.Overlays().Top() != nil }

	press(t, u.UI, fyne.KeyO, fyne.KeyModifierShortcutDefault)
	if !open() {
		t.Fatal("Ctrl+O opened no file chooser")
	}
	press(t, u.UI, fyne.KeyEscape, 0)
	if open() {
		t.Error("Escape left the file chooser open")
	}

	u.showShortcuts()
	press(t, u.UI, fyne.KeyEscape, 0)
	if open() {
		t.Error("Escape left the keyboard shortcuts open")
	}

	sendSamples(t, u)
	st := u.sent
	reloadSent(t, st, oneIn(outbox.Sent))
	st.list.Select(0)
	test.Tap(findButton(t, st.detail, "Cancel…"))
	var reason *focusEntry
	for _, o := range test.LaidOutObjects(c.Overlays().Top()) {
		if e, ok := o.(*focusEntry); ok {
			reason = e
		}
	}
	if reason == nil {
		t.Fatal("no reason field")
	}
	c.Focus(reason)
	typeFocused(t, c, "wrong")
	before := st.status.Text
	press(t, u.UI, fyne.KeyEscape, 0)
	if open() {
		t.Fatal("Escape in the reason field left the Cancel… dialog open")
	}
	if st.status.Text != before {
		t.Errorf("Escape did something: %q", st.status.Text)
	}
	if recs, err := u.cfg.Outbox.Box.List(); err != nil || len(recs) != 1 {
		t.Errorf("after Escape the outbox holds %d jobs (%v): a cancellation went out", len(recs), err)
	}
}

// TestCancelNeedsReasonBesideTheField: "Send cancellation" stays disabled
// until a reason is typed, with the reason's error beside the field; the
// dialog no longer closes and refuses in the status line under the list.
func TestCancelNeedsReasonBesideTheField(t *testing.T) {
	u := newDemoUI(t, nil)
	sendSamples(t, u)
	st := u.sent
	reloadSent(t, st, oneIn(outbox.Sent))
	st.list.Select(0)
	test.Tap(findButton(t, st.detail, "Cancel…"))
	top := u.win.Canvas().Overlays().Top()
	var reason *focusEntry
	var sendBtn *focusButton
	for _, o := range test.LaidOutObjects(top) {
		switch v := o.(type) {
		case *focusEntry:
			reason = v
		case *focusButton:
			if v.Text == "Send cancellation" {
				sendBtn = v
			}
		}
	}
	if reason == nil || sendBtn == nil {
		t.Fatal("no reason field or no Send cancellation button")
	}
	if !sendBtn.Disabled() {
		t.Error("Send cancellation is enabled without a reason")
	}
	test.Type(reason, "wrong dose")
	if sendBtn.Disabled() {
		t.Error("Send cancellation still disabled with a reason")
	}
	reason.SetText("   ")
	if !sendBtn.Disabled() {
		t.Error("Send cancellation enabled with a blank reason")
	}
}

// shownWhole fails unless o lies wholly inside the window and inside
// every scroll container that holds it.
func shownWhole(t *testing.T, u *UI, o fyne.CanvasObject, what string) {
	t.Helper()
	d := fyne.CurrentApp().Driver()
	pos := d.AbsolutePositionForObject(o)
	end := pos.Add(o.Size())
	win := u.win.Canvas().Size()
	if pos.Y < 0 || end.Y > win.Height {
		t.Errorf("%s at y %v–%v, outside the %v window", what, pos.Y, end.Y, win)
	}
	var path []*container.Scroll
	if !scrollsTo(u.win.Canvas().Content(), o, &path) {
		t.Fatalf("%s is not in the window", what)
	}
	for _, s := range path {
		sp := d.AbsolutePositionForObject(s)
		if pos.Y < sp.Y-0.5 || end.Y > sp.Y+s.Size().Height+0.5 {
			t.Errorf("%s at y %v–%v, outside its scroll area %v–%v", what, pos.Y, end.Y, sp.Y, sp.Y+s.Size().Height)
		}
	}
}

// TestTabScrollsFocusIntoView: at 800×600 and 150% (533×400 in Fyne's
// units), Tab from the top of the Send tab into the Patient NHI field and
// the note, and into the account form's Add account in Settings, scrolls
// each into view: what the receptionist types shows where she types it.
func TestTabScrollsFocusIntoView(t *testing.T) {
	u, _ := settingsUI(t, false, nil)
	s := u.send
	addSamples(t, s)
	if c, ok := u.win.Canvas().(interface{ SetScale(float32) }); ok {
		c.SetScale(1.5)
	}
	u.win.Resize(fyne.NewSize(800/1.5, 600/1.5))
	u.tabs.Select(s.item)
	relayout(u.UI)
	u.win.Canvas().Unfocus()
	tabTo(t, u.UI, s.nhiEntry)
	shownWhole(t, u.UI, s.nhiEntry, "Patient NHI")
	tabTo(t, u.UI, s.note)
	shownWhole(t, u.UI, s.note, "Note")
	// Shift+Tab back up to the first control scrolls back.
	for u.win.Canvas().Focused() != s.addBtn {
		press(t, u.UI, fyne.KeyTab, fyne.KeyModifierShift)
		if u.win.Canvas().Focused() == nil {
			t.Fatal("Shift+Tab lost the focus")
		}
	}
	shownWhole(t, u.UI, s.addBtn, "Add documents")

	a := u.settings.accounts
	u.tabs.Select(u.settings.item)
	showSection(u.UI, "Mail accounts")
	relayout(u.UI)
	u.win.Canvas().Focus(a.preset)
	tabTo(t, u.UI, a.addBtn)
	shownWhole(t, u.UI, a.addBtn, "Add account")
}

// sendWithNHI sends the samples for patient nhi and goes back to an empty
// Send tab.
func sendWithNHI(t *testing.T, u *demoUI, nhi string) {
	t.Helper()
	s := u.send
	addSamples(t, s)
	test.Type(s.nhiEntry, nhi)
	sent := expect(&s.sendDone)
	pressSend(t, s)
	await(t, "send", sent)
	if !s.confirm.root.Visible() {
		t.Fatalf("not sent: %s", texts(s.problem))
	}
	test.Tap(s.confirm.another)
}

// TestSentSearchEnterOpensFirstMatch: on the Sent tab, typing a patient's
// NHI into the search and pressing Enter opens that message's
// confirmation; before, Enter did nothing and the receptionist had to find
// the list with Tab and select the row with Space.
func TestSentSearchEnterOpensFirstMatch(t *testing.T) {
	u := newDemoUI(t, nil)
	u.win.Resize(fyne.NewSize(1024, 720))
	sendWithNHI(t, u, "ZZZ0016")
	sendWithNHI(t, u, "ZZZ00AC")
	st := u.sent
	reloadSent(t, st, func(recs []*outbox.Record) bool { return len(recs) == 2 })

	press(t, u.UI, fyne.Key2, fyne.KeyModifierShortcutDefault)
	c := u.win.Canvas()
	if c.Focused() != st.search {
		t.Fatalf("Ctrl+2 put the focus on %T, not the search", c.Focused())
	}
	typeFocused(t, c, "zzz0016")
	press(t, u.UI, fyne.KeyReturn, 0)
	d := texts(st.detail)
	if !strings.Contains(d, "Transmission confirmation") || !strings.Contains(d, "Patient NHI: ZZZ0016") || strings.Contains(d, "ZZZ00AC") {
		t.Errorf("Enter in the search did not open the ZZZ0016 message:\n%s", d)
	}
	if c.Focused() != st.search {
		t.Errorf("the focus left the search for %T", c.Focused())
	}
}

// TestMicrosoftAccountAsksForApplicationID: Microsoft 365 needs an
// application ID (there is no default), so the form asks for it with the
// name and address: Tab from E-mail goes to it, and Add account without it
// marks it beside the field with the advanced settings still folded.
// Before, it was folded away under "Advanced settings" and surfaced only
// as an error after Add account.
func TestMicrosoftAccountAsksForApplicationID(t *testing.T) {
	u, _ := settingsUI(t, false, nil)
	a := u.settings.accounts
	u.tabs.Select(u.settings.item)
	showSection(u.UI, "Mail accounts")
	a.preset.SetSelected(presetMicrosoft)
	c := u.win.Canvas()
	c.Focus(a.name)
	typeFocused(t, c, "practice")
	press(t, u.UI, fyne.KeyTab, 0)
	typeFocused(t, c, "reception@practice.test")
	press(t, u.UI, fyne.KeyTab, 0)
	if c.Focused() != a.clientID {
		t.Fatalf("Tab from E-mail went to %T, not the application ID", c.Focused())
	}
	test.Tap(a.addBtn)
	if f := a.fields[a.clientID]; !f.err.Visible() || a.advanced.Checked {
		t.Errorf("error beside the application ID %q (shown %v); advanced unfolded %v", f.err.Text, f.err.Visible(), a.advanced.Checked)
	}
	if a.status.Text != "Not added: correct the field marked in red." {
		t.Errorf("status %q", a.status.Text)
	}
}

// showSection shows the Settings section titled title.
func showSection(u *UI, title string) {
	for _, sec := range u.settings.sections {
		if sec.title == title {
			u.settings.show(sec)
		}
	}
}

// TestCheckStepShowsTheNote: the check before sending shows the note with
// the patient, document type, recipient and documents (the pharmacist
// reads it first), and no Note line when there is none.
func TestCheckStepShowsTheNote(t *testing.T) {
	u := newDemoUI(t, nil)
	s := u.send
	addSamples(t, s)
	test.Type(s.nhiEntry, "ZZZ0016")
	test.Type(s.note, "Please dispense today.")
	test.Tap(s.sendBtn)
	if !s.check.Visible() {
		t.Fatalf("no check step: %s", texts(s.problem))
	}
	if got := texts(s.check); !strings.Contains(got, "Note: Please dispense today.") {
		t.Errorf("the check step lacks the note:\n%s", got)
	}
	s.cancelCheck()
	s.note.SetText("  ")
	test.Tap(s.sendBtn)
	if got := texts(s.check); strings.Contains(got, "Note:") {
		t.Errorf("a Note line without a note:\n%s", got)
	}
}

// TestKeyboardReceiveJourney: the pharmacist, by keyboard only: Ctrl+3
// opens the Inbox, Tab goes in reading order (Check now, Open .eml file…,
// the search, then the message list, no longer the list first), Space opens the
// message, Tab reaches Preview and Enter previews the first document.
func TestKeyboardReceiveJourney(t *testing.T) {
	u := newDemoUI(t, nil)
	u.win.Resize(fyne.NewSize(1024, 720))
	sendWithNHI(t, u, "ZZZ0016")
	in := u.inbox
	fetched := expect(&in.fetchDone)
	test.Tap(in.check)
	await(t, "fetch", fetched)
	if len(in.rows) != 1 {
		t.Fatalf("inbox has %d rows; status %q", len(in.rows), in.status.Text)
	}

	press(t, u.UI, fyne.Key3, fyne.KeyModifierShortcutDefault)
	c := u.win.Canvas()
	c.Focus(u.bannerToggle) // the first control of every tab
	var order []string
	for range 4 {
		press(t, u.UI, fyne.KeyTab, 0)
		switch f := c.Focused().(type) {
		case *focusEntry:
			order = append(order, "search")
		case *widget.Button:
			order = append(order, f.Text)
		case *widget.List:
			order = append(order, "list")
		default:
			order = append(order, fmt.Sprintf("%T", f))
		}
	}
	if want := []string{"Check now", "Open .eml file…", "search", "list"}; !slices.Equal(order, want) {
		t.Errorf("Tab order %v, want %v", order, want)
	}
	press(t, u.UI, fyne.KeySpace, 0)
	d := texts(in.detail)
	if !strings.Contains(d, "Verified") || !strings.Contains(d, "Patient NHI: ZZZ0016") {
		t.Fatalf("Space on the list did not open the message:\n%s", d)
	}
	for i := 0; ; i++ {
		press(t, u.UI, fyne.KeyTab, 0)
		if b, ok := c.Focused().(*focusButton); ok && b.Text == "Preview" {
			break
		}
		if i > 30 {
			t.Fatal("Tab never reached Preview")
		}
	}
	done := expect(&in.previewDone)
	press(t, u.UI, fyne.KeyReturn, 0)
	await(t, "preview", done)
	p := labelsIn(in.detail)
	if strings.Contains(p, "No preview: Open") || strings.Contains(p, "no such file") {
		t.Fatalf("Preview could not read the stored document:\n%s", p)
	}
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		if !strings.Contains(p, "PDF pages cannot be drawn here") {
			t.Errorf("without poppler, Preview did not say why:\n%s", p)
		}
		return
	}
	if shownPreview(u) == nil {
		t.Errorf("Enter on Preview showed no first page:\n%s", p)
	}
}
