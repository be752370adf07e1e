package app

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
)

// press sends one key press to u's window as the desktop driver does
// (fyne's test driver has no key dispatch of its own): a shortcut goes to
// the main menu first, then to the focused widget; Tab and Shift+Tab move
// the focus unless the focused widget accepts tabs; any other key goes to
// the focused widget, or to the canvas when nothing has the focus.
func press(t *testing.T, u *UI, key fyne.KeyName, mod fyne.KeyModifier) {
	t.Helper()
	c := u.win.Canvas()
	if mod&^fyne.KeyModifierShift != 0 {
		sc := &desktop.CustomShortcut{KeyName: key, Modifier: mod}
		for _, m := range u.win.MainMenu().Items {
			for _, it := range m.Items {
				if it.Shortcut != nil && it.Shortcut.ShortcutName() == sc.ShortcutName() {
					it.Action()
					return
				}
			}
		}
		if f, ok := c.Focused().(fyne.Shortcutable); ok {
			f.TypedShortcut(sc)
		}
		return
	}
	if key == fyne.KeyTab {
		if f, ok := c.Focused().(fyne.Tabbable); ok && f.AcceptsTab() {
			f.(fyne.Focusable).TypedKey(&fyne.KeyEvent{Name: key})
			return
		}
		if mod == fyne.KeyModifierShift {
			c.FocusPrevious()
		} else {
			c.FocusNext()
		}
		return
	}
	if f := c.Focused(); f != nil {
		f.TypedKey(&fyne.KeyEvent{Name: key})
	} else if h := c.OnTypedKey(); h != nil {
		h(&fyne.KeyEvent{Name: key})
	}
}

// tabTo presses Tab until target has the focus, failing after 40 presses;
// it returns how many it took.
func tabTo(t *testing.T, u *UI, target fyne.Focusable) int {
	t.Helper()
	for i := 1; i <= 40; i++ {
		press(t, u, fyne.KeyTab, 0)
		if u.win.Canvas().Focused() == target {
			return i
		}
	}
	t.Fatalf("Tab never reached %T", target)
	return 0
}

// ringShown reports whether w draws its focus ring now.
func ringShown(w fyne.Widget) bool {
	r, ok := test.WidgetRenderer(w).(*ringRenderer)
	return ok && r.ring.Visible()
}

// TestKeyboardSendJourney drives a whole send with key presses only, at
// 800×600: add the sample documents, fill the form, Send securely, the
// check step (Space does not send, Escape goes back), Enter sends, the
// confirmation leads with the patient, then Ctrl+2 and typing the NHI
// find the message in the Sent tab.
func TestKeyboardSendJourney(t *testing.T) {
	u := newDemoUI(t, nil)
	s := u.send
	u.win.Resize(fyne.NewSize(800, 600))
	c := u.win.Canvas()

	tabTo(t, u.UI, s.samplesBtn)
	if !ringShown(s.samplesBtn) {
		t.Error("no focus ring on the focused button")
	}
	added := expect(&s.addDone)
	press(t, u.UI, fyne.KeySpace, 0)
	await(t, "add", added)
	if len(s.docs) != 2 {
		t.Fatalf("%d documents added by Space", len(s.docs))
	}

	// Reading order: the documents column, then To, NHI, the No NHI
	// box, document type, note, Send securely.
	tabTo(t, u.UI, s.to)
	order := []fyne.Focusable{s.nhiEntry, s.noNHI, s.docType, s.note}
	for _, want := range order {
		for c.Focused() != want {
			press(t, u.UI, fyne.KeyTab, 0)
			// The To field's drop-down button comes after the field.
			dropDown, _ := s.to.ActionItem.(fyne.Focusable)
			if c.Focused() != dropDown && c.Focused() != want && c.Focused() != s.to && c.Focused() != s.nhiEntry {
				t.Fatalf("Tab went to %T before %T", c.Focused(), want)
			}
		}
		if want == s.nhiEntry {
			typeFocused(t, c, "ZZZ00A")
			if strings.Contains(s.nhiMsg.Text, "does not fit") || s.nhiMsg.Importance == widget.DangerImportance {
				t.Errorf("NHI judged while still being typed: %q", s.nhiMsg.Text)
			}
			typeFocused(t, c, "C")
			if s.nhiMsg.Text != "Valid test NHI (accepted in demo mode only)." {
				t.Errorf("complete NHI: %q", s.nhiMsg.Text)
			}
		}
	}
	typeFocused(t, c, "Please dispense today.")
	press(t, u.UI, fyne.KeyTab, 0)
	if c.Focused() == s.note || strings.Contains(s.note.Text, "\t") {
		t.Fatalf("Tab stayed in the note: focus %T, note %q", c.Focused(), s.note.Text)
	}
	press(t, u.UI, fyne.KeyTab, fyne.KeyModifierShift)
	if c.Focused() != s.note {
		t.Fatalf("Shift+Tab went to %T, not back to the note", c.Focused())
	}
	tabTo(t, u.UI, s.sendBtn)
	if !ringShown(s.sendBtn) {
		t.Error("no focus ring on the focused Send securely")
	}

	// Space on Send securely shows the check step; nothing is sent.
	press(t, u.UI, fyne.KeySpace, 0)
	if !s.check.Visible() || s.sendBtn.Visible() {
		t.Fatal("Space on Send securely did not show the check step")
	}
	if recs, _ := u.cfg.Outbox.Box.List(); len(recs) != 0 {
		t.Fatalf("Space sent: %d jobs in the outbox", len(recs))
	}
	check := texts(s.check)
	for _, want := range []string{"Patient NHI: ZZZ00AC", "Document type: Prescription", "To: Demo Pharmacy <pharmacy@demo.test>", "sample-prescription.pdf"} {
		if !strings.Contains(check, want) {
			t.Errorf("check step lacks %q:\n%s", want, check)
		}
	}
	if c.Focused() != s.sendNow {
		t.Fatalf("focus on %T, not Send now", c.Focused())
	}
	press(t, u.UI, fyne.KeyEscape, 0)
	if s.check.Visible() || c.Focused() != s.sendBtn {
		t.Fatal("Escape did not go back to Send securely")
	}

	// Ctrl+Enter from the note: the check step again; Enter sends.
	c.Focus(s.note)
	press(t, u.UI, fyne.KeyReturn, fyne.KeyModifierShortcutDefault)
	if !s.check.Visible() || c.Focused() != s.sendNow {
		t.Fatal("Ctrl+Enter did not show the check step")
	}
	sent := expect(&s.sendDone)
	press(t, u.UI, fyne.KeyReturn, 0)
	await(t, "send", sent)
	if !s.confirm.root.Visible() {
		t.Fatalf("no confirmation; problem: %s", texts(s.problem))
	}
	conf := texts(s.confirm.root)
	lead := []string{"Patient NHI: ZZZ00AC", "Document type: Prescription", "To: Demo Pharmacy <pharmacy@demo.test>", "sample-prescription.pdf", "Sent at: ", "State: Sent"}
	last := -1
	for _, want := range lead {
		i := strings.Index(conf, want)
		if i < 0 || i < last {
			t.Errorf("confirmation lacks %q or has it out of order:\n%s", want, conf)
		}
		last = i
	}
	if strings.Contains(conf, "Queue ID") || strings.Contains(conf, "Server reply") {
		t.Errorf("technical lines not folded away:\n%s", conf)
	}
	if c.Focused() != s.confirm.another {
		t.Errorf("focus on %T after sending, not Send another", c.Focused())
	}

	// Find it again by NHI in the Sent tab, by keyboard.
	u.sent.reloadNow()
	press(t, u.UI, fyne.Key2, fyne.KeyModifierShortcutDefault)
	if u.tabs.Selected() != u.sent.item || c.Focused() != u.sent.search {
		t.Fatalf("Ctrl+2: tab %q, focus %T", u.tabs.Selected().Text, c.Focused())
	}
	typeFocused(t, c, "zzz 00ac")
	if len(u.sent.shown) != 1 {
		t.Fatalf("search by NHI shows %d records", len(u.sent.shown))
	}
	u.sent.search.SetText("Demo Pharm")
	if len(u.sent.shown) != 1 {
		t.Fatalf("search by name shows %d records", len(u.sent.shown))
	}
	u.sent.search.SetText("ZZZ0016")
	if len(u.sent.shown) != 0 {
		t.Fatalf("search for another patient shows %d records", len(u.sent.shown))
	}
	// Remove by keyboard asks first, with Keep it focused: Enter keeps.
	u.sent.search.SetText("")
	u.sent.selectJob(u.sent.recs[0].ID)
	c.Focus(u.sent.removeBtn)
	press(t, u.UI, fyne.KeySpace, 0)
	if c.Overlays().Top() == nil {
		t.Fatal("Remove did not ask")
	}
	press(t, u.UI, fyne.KeyReturn, 0)
	if c.Overlays().Top() != nil || len(u.sent.recs) != 1 {
		t.Fatalf("Enter on the question: dialog %v, %d records", c.Overlays().Top() != nil, len(u.sent.recs))
	}
	press(t, u.UI, fyne.KeyTab, fyne.KeyModifierControl)
	if u.tabs.Selected() != u.inbox.item {
		t.Errorf("Ctrl+Tab from Sent went to %q", u.tabs.Selected().Text)
	}
	press(t, u.UI, fyne.Key1, fyne.KeyModifierShortcutDefault)
	if u.tabs.Selected() != u.send.item || c.Focused() != s.confirm.another {
		t.Errorf("Ctrl+1: tab %q, focus %T", u.tabs.Selected().Text, c.Focused())
	}
	press(t, u.UI, fyne.KeyReturn, 0)
	if !s.form.Visible() || len(s.docs) != 0 || s.nhiEntry.Text != "" {
		t.Error("Enter on Send another did not give an empty form")
	}
}

// pressSend presses Send securely and, when the check step shows, Send
// now (a problem with the form shows instead of the check step).
func pressSend(t *testing.T, s *sendTab) {
	t.Helper()
	test.Tap(s.sendBtn)
	if s.check.Visible() {
		test.Tap(s.sendNow)
	}
}

// tapDialogButton taps the button labelled text in the dialog on top of
// u's window.
func tapDialogButton(t *testing.T, u *UI, text string) {
	t.Helper()
	top := u.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatalf("no dialog shows (looking for %q)", text)
	}
	for _, o := range test.LaidOutObjects(top) {
		switch b := o.(type) {
		case *widget.Button:
			if b.Text == text {
				test.Tap(b)
				return
			}
		case *focusButton:
			if b.Text == text {
				test.Tap(b)
				return
			}
		}
	}
	t.Fatalf("the dialog has no %q button", text)
}

// typeFocused types text into the focused widget, as the keyboard does.
func typeFocused(t *testing.T, c fyne.Canvas, text string) {
	t.Helper()
	f := c.Focused()
	if f == nil {
		t.Fatalf("nothing has the focus to type %q into", text)
	}
	for _, r := range text {
		f.TypedRune(r)
	}
}

// TestShortcutsShown: the shortcuts are on the buttons they press and in
// Help > Keyboard shortcuts, and every menu shortcut is unique.
func TestShortcutsShown(t *testing.T) {
	u := goldenUI(t)
	if !strings.Contains(u.send.sendBtn.Text, "Ctrl+Enter") || !strings.Contains(u.send.addBtn.Text, "Ctrl+O") {
		t.Errorf("buttons: %q, %q", u.send.sendBtn.Text, u.send.addBtn.Text)
	}
	seen := map[string]string{}
	var help *fyne.MenuItem
	for _, m := range u.win.MainMenu().Items {
		for _, it := range m.Items {
			if it.Shortcut != nil {
				if other, dup := seen[it.Shortcut.ShortcutName()]; dup {
					t.Errorf("%s and %s share a shortcut", other, it.Label)
				}
				seen[it.Shortcut.ShortcutName()] = it.Label
			}
			if m.Label == "Help" && it.Label == "Keyboard shortcuts" {
				help = it
			}
		}
	}
	if help == nil {
		t.Fatal("no Help > Keyboard shortcuts")
	}
	help.Action()
	top := u.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("Keyboard shortcuts showed nothing")
	}
	var shown string
	for _, o := range test.LaidOutObjects(top) {
		if f, ok := o.(*widget.Form); ok {
			shown += texts(f)
		}
	}
	for _, want := range []string{"Ctrl+Enter", "Ctrl+O", "Ctrl+1 … Ctrl+4", "Ctrl+Tab", "Escape"} {
		if !strings.Contains(shown, want) {
			t.Errorf("Keyboard shortcuts lacks %q:\n%s", want, shown)
		}
	}
}

// TestTabOrder: Tab visits every control of the Send tab in reading
// order (the banner, the documents column, then To, NHI, No NHI,
// document type, note, Send securely), and Shift+Tab visits them in the
// reverse order.
func TestTabOrder(t *testing.T) {
	u := newDemoUI(t, nil)
	s := u.send
	addSamples(t, s)
	c := u.win.Canvas()
	c.Unfocus()
	var seq []fyne.Focusable
	for len(seq) < 60 {
		press(t, u.UI, fyne.KeyTab, 0)
		seq = append(seq, c.Focused())
		if c.Focused() == s.sendBtn {
			break
		}
	}
	want := []fyne.Focusable{u.bannerToggle, s.addBtn, s.samplesBtn, s.combine, s.to, s.nhiEntry, s.noNHI, s.docType, s.note, s.sendBtn}
	last := -1
	for _, w := range want {
		i := -1
		for j, f := range seq {
			if f == w {
				i = j
				break
			}
		}
		if i <= last {
			var got []string
			for _, f := range seq {
				got = append(got, fmt.Sprintf("%T %p", f, f))
			}
			t.Fatalf("%T %p at %d, after %d, in the Tab order:\n%s", w, w, i, last, strings.Join(got, "\n"))
		}
		last = i
	}
	// Backwards, the same controls in the reverse order (Fyne's
	// Shift+Tab passes over the To field's picker button).
	next := len(want) - 2
	for i := 0; i < 2*len(seq) && next >= 0; i++ {
		press(t, u.UI, fyne.KeyTab, fyne.KeyModifierShift)
		for j, w := range want {
			if c.Focused() == w && j != next {
				t.Fatalf("Shift+Tab reached %T before %T", w, want[next])
			}
		}
		if c.Focused() == want[next] {
			next--
		}
	}
	if next >= 0 {
		t.Errorf("Shift+Tab never reached %T", want[next])
	}
}
