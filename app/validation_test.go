package app

import (
	"net/mail"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// TestNHIProblemClearsItself: a wrong NHI stops the send with one
// sentence; correcting it takes the problem away at once and shows the
// NHI as valid; nothing moves while the NHI is typed or judged.
func TestNHIProblemClearsItself(t *testing.T) {
	u := newDemoUI(t, nil)
	s := u.send
	u.win.Resize(fyne.NewSize(800, 600))
	addSamples(t, s)
	sendAt := func() fyne.Position {
		relayout(u.UI)
		return fyne.CurrentApp().Driver().AbsolutePositionForObject(s.sendBtn)
	}
	start := sendAt()

	test.Type(s.nhiEntry, "ZZZ001")
	if s.nhiMsg.Importance == widget.DangerImportance {
		t.Errorf("incomplete NHI judged while typing: %q", s.nhiMsg.Text)
	}
	test.Type(s.nhiEntry, "7")
	if s.nhiMsg.Importance != widget.DangerImportance || !strings.Contains(s.nhiMsg.Text, "check digit") {
		t.Errorf("complete wrong NHI: %q", s.nhiMsg.Text)
	}
	if strings.Count(s.nhiMsg.Text, ".") != 1 || strings.Contains(strings.ToLower(s.nhiMsg.Text), "not valid") {
		t.Errorf("not one plain sentence: %q", s.nhiMsg.Text)
	}
	if got := sendAt(); got != start {
		t.Errorf("Send securely moved from %v to %v when the NHI message showed", start, got)
	}
	pressSend(t, s)
	got := texts(s.problem)
	if !strings.Contains(got, "Not sent: the NHI is not valid.") || strings.Count(got, "not valid") != 1 {
		t.Errorf("problem shown:\n%s", got)
	}
	if s.check.Visible() {
		t.Error("check step shown for a wrong NHI")
	}

	// Correct it: the problem goes, the mark says valid.
	s.nhiEntry.SetText("")
	test.Type(s.nhiEntry, "ZZZ0016")
	if got := texts(s.problem); got != "" {
		t.Errorf("problem still shown after the NHI was corrected:\n%s", got)
	}
	if s.nhiMsg.Importance != widget.SuccessImportance || !strings.HasPrefix(s.nhiMsg.Text, "Valid") {
		t.Errorf("no valid mark: %q", s.nhiMsg.Text)
	}
	if got := sendAt(); got != start {
		t.Errorf("Send securely moved from %v to %v", start, got)
	}
}

// TestPatientDocumentNeedsNHIChoice: a prescription without an NHI is not
// sent until "No NHI for this patient" is ticked; ticking it takes the
// problem away and the check step says so. "Other" needs no NHI.
func TestPatientDocumentNeedsNHIChoice(t *testing.T) {
	u := newDemoUI(t, nil)
	s := u.send
	addSamples(t, s)
	pressSend(t, s)
	if got := texts(s.problem); !strings.Contains(got, "Not sent: type the patient's NHI, or tick No NHI for this patient.") {
		t.Fatalf("problem:\n%s", got)
	}
	if u.win.Canvas().Focused() != s.nhiEntry {
		t.Errorf("focus on %T, not the NHI field", u.win.Canvas().Focused())
	}
	test.Tap(s.noNHI)
	if got := texts(s.problem); got != "" {
		t.Errorf("problem still shown after choosing No NHI:\n%s", got)
	}
	if !s.nhiEntry.Disabled() {
		t.Error("NHI field open after choosing No NHI")
	}
	test.Tap(s.sendBtn)
	if !strings.Contains(texts(s.check), "Patient NHI: None (no NHI for this patient)") {
		t.Errorf("check step:\n%s", texts(s.check))
	}
	// Changing the form closes the check step: it showed the old form.
	s.note.SetText("changed")
	if s.check.Visible() || !s.sendBtn.Visible() {
		t.Error("check step stayed after the form changed")
	}

	test.Tap(s.noNHI)
	s.docType.SetSelected("Other")
	test.Tap(s.sendBtn)
	if !s.check.Visible() {
		t.Errorf("Other without NHI refused:\n%s", texts(s.problem))
	}
}

// TestSmallWindow: at 800×600 and at 1280×720 with 150% scaling the Send
// securely button is inside the window, also with the check step or a
// problem shown, and the window can be made narrower than 800.
func TestSmallWindow(t *testing.T) {
	u := newDemoUI(t, nil)
	s := u.send
	addSamples(t, s)
	if w := u.win.Content().MinSize().Width; w >= 800 {
		t.Errorf("minimum window width %v", w)
	}
	// 800×600 (also 1600×1200 at 200%), narrower than 800, and
	// 1280×720 at 150% (853×480 in Fyne's units).
	for _, size := range []fyne.Size{{Width: 800, Height: 600}, {Width: 760, Height: 560}, {Width: 853, Height: 480}} {
		u.win.Resize(size)
		for _, state := range []string{"form", "problem", "check"} {
			switch state {
			case "problem":
				pressSend(t, s) // no NHI yet: the problem shows
			case "check":
				s.noNHI.SetChecked(true)
				test.Tap(s.sendBtn)
			}
			// The window never has to grow, also before the new parts
			// are laid out (as the desktop driver asks): wrapped text
			// outside the scrolling parts once asked for 2188 px in the
			// check step.
			if m := u.win.Content().MinSize(); m.Width > size.Width || m.Height > size.Height {
				t.Errorf("%v, %s: the window needs at least %v", size, state, m)
			}
			relayout(u.UI)
			btn := fyne.CanvasObject(s.sendBtn)
			if state == "check" {
				btn = s.sendNow
			}
			pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(btn)
			end := pos.Add(btn.Size())
			if !btn.Visible() || pos.X < 0 || pos.Y < 0 || end.X > size.Width || end.Y > size.Height {
				t.Errorf("%v, %s: button at %v–%v, outside the window", size, state, pos, end)
			}
		}
		s.cancelCheck()
		s.noNHI.SetChecked(false)
	}
	// The demo banner takes one line until asked for more.
	h := u.banner.MinSize().Height
	test.Tap(u.bannerToggle)
	if u.banner.MinSize().Height <= h || h > 60 {
		t.Errorf("banner %v high folded, %v unfolded", h, u.banner.MinSize().Height)
	}
}

// TestConfirmationLeadsWithPatient: the confirmation's text (Copy, PDF)
// starts with the patient and the document, then the technical details
// complete; long values are grouped so they wrap between groups.
func TestConfirmationLeadsWithPatient(t *testing.T) {
	res := fixedResult()
	sum := summary{NHI: "ZZZ0016", DocType: "Prescription", To: []mail.Address{{Name: "Demo Pharmacy", Address: "pharmacy@demo.test"}}}
	text := confirmationText(res, sum, "")
	order := []string{"Patient NHI:         ZZZ0016", "Document type:       Prescription", "To:                  Demo Pharmacy <pharmacy@demo.test>",
		"Documents:           sample-prescription.pdf", "Sent at:", "State:               Sent", "Technical details", "Server:              127.0.0.1:465",
		"Queue ID:            DEMOABC1", "Certificate SHA-256: 6fc7 0535", "Message-ID:", "SHA-256 749299c0139afb3746f9eb36c07e65a820afcf0f75f5304d7b69a37639bd5154"}
	last := -1
	for _, want := range order {
		i := strings.Index(text, want)
		if i <= last {
			t.Errorf("%q missing or out of order in:\n%s", want, text)
		}
		last = max(i, last)
	}
	if got := shortHash(res.Documents[0].SHA256); got != "7492 99c0 … 39bd 5154" {
		t.Errorf("shortHash = %q", got)
	}
}

// TestSentListByPatient: the Sent list names the patient, document type,
// recipient and time, never the job id; the search finds by NHI and name;
// Remove asks first, and Keep it keeps the record.
func TestSentListByPatient(t *testing.T) {
	u := goldenUI(t)
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	env := send.Envelope{From: "clinician@demo.test", To: []string{"pharmacy@demo.test"}}
	const id = "3f1c0b6e9a2d4c8b8e5f7a1d2c3b4a59"
	u.tabs.Select(u.sent.item)
	u.sent.apply([]*outbox.Record{
		{ID: "9b8a7c6d5e4f40312a1b2c3d4e5f6071", Job: outbox.Job{Envelope: send.Envelope{From: env.From, To: []string{"night@chemist.test"}}, MessageID: "k3@demo.test", Subject: "Referral", PatientNHI: "ZAA0067", ToNames: []string{"Night Chemist"}},
			State: outbox.Cancelled, Created: at.Add(-time.Hour)},
		{ID: id, Job: outbox.Job{Envelope: env, MessageID: "m@demo.test", Subject: "Prescription", PatientNHI: "ZZZ0016", ToNames: []string{"Demo Pharmacy"}},
			Documents: fixedResult().Documents, State: outbox.Sent, Created: at, Result: fixedResult()},
	}, nil)
	if got := jobTitle(u.sent.shown[0]); got != "ZZZ0016 · Prescription · Demo Pharmacy" {
		t.Errorf("row title %q", got)
	}
	u.sent.selectJob(id)
	all := texts(u.sent.item.Content)
	if strings.Contains(all, id) || strings.Contains(all, id[:6]) {
		t.Errorf("job id shown:\n%s", all)
	}
	for q, want := range map[string]int{"zzz0016": 1, "ZZZ 0016": 1, "night": 1, "chemist.test": 1, "referral": 1, "": 2, "ZZZ9999": 0} {
		u.sent.search.SetText(q)
		if len(u.sent.shown) != want {
			t.Errorf("search %q: %d records, want %d", q, len(u.sent.shown), want)
		}
	}
	u.sent.search.SetText("")
	u.sent.selectJob(id)
	test.Tap(u.sent.removeBtn)
	top := u.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("Remove did not ask")
	}
	var said string
	for _, o := range test.LaidOutObjects(top) {
		if l, ok := o.(*widget.Label); ok {
			said += l.Text + "\n"
		}
	}
	if !strings.Contains(said, "proof that the message was sent") {
		t.Errorf("Remove asks:\n%s", said)
	}
	tapDialogButton(t, u, "Keep it")
	if len(u.sent.recs) != 2 {
		t.Error("Keep it removed the record")
	}
}

// TestCheckStepDoesNotGrowWindow: showing the check step in a window not
// laid out since asks for no more than 800×600 (its wrapped text, outside
// the scrolling fields, once asked for 2188 px and the window grew off
// the screen).
func TestCheckStepDoesNotGrowWindow(t *testing.T) {
	u := newDemoUI(t, nil)
	s := u.send
	addSamples(t, s)
	s.noNHI.SetChecked(true)
	s.requestSend()
	if !s.check.Visible() {
		t.Fatalf("no check step: %s", texts(s.problem))
	}
	if m := u.win.Content().MinSize(); m.Width > 800 || m.Height > 600 {
		t.Errorf("the window needs at least %v", m)
	}
}

// TestHashCopyButton: a shortened hash's Copy button copies it whole, and
// says what it copied.
func TestHashCopyButton(t *testing.T) {
	u := goldenUI(t)
	res := fixedResult()
	var said string
	detail := confirmationDetail(u, res, summary{}, func(s string) { said = s })
	var copies []*focusButton
	for _, o := range test.LaidOutObjects(detail) {
		if b, ok := o.(*focusButton); ok && b.Text == "Copy" {
			copies = append(copies, b)
		}
	}
	if len(copies) != 2 { // the certificate's and the document's
		t.Fatalf("%d Copy buttons", len(copies))
	}
	test.Tap(copies[1])
	if got := u.app.Clipboard().Content(); got != res.Documents[0].SHA256 {
		t.Errorf("copied %q", got)
	}
	if said != "Copied the SHA-256 of sample-prescription.pdf." {
		t.Errorf("said %q", said)
	}
}
