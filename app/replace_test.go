package app

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/send/outbox"
)

// TestSentReplace: "Replace…" on a sent message opens the Send tab for
// the same pharmacy and document type, naming the original; the check
// step and the confirmation say "Replaces … sent on …"; the demo
// pharmacy's securesend then marks its copy of the original "Replaced",
// in red in its list row, with a link to the new one. "Do not replace"
// makes the draft an ordinary message again.
func TestSentReplace(t *testing.T) {
	u := newDemoUI(t, nil)
	sendSamples(t, u)
	test.Tap(u.send.confirm.another)
	st := u.sent
	reloadSent(t, st, oneIn(outbox.Sent))
	orig := st.recs[0]
	u.tabs.Select(st.item)
	st.list.Select(0)
	u.send.docType.SetSelected("Referral") // the form as the user left it
	test.Tap(findButton(t, st.detail, "Replace…"))
	s := u.send
	if u.tabs.Selected() != s.item {
		t.Fatal("Replace… did not open the Send tab")
	}
	if s.replacing == nil || s.replacing.MessageID != orig.MessageID {
		t.Fatalf("the draft does not replace %s: %+v", orig.MessageID, s.replacing)
	}
	if got := s.pickedAddress(); got != "pharmacy@demo.test" || s.docType.Selected != "Prescription" || len(s.docs) != 0 {
		t.Errorf("form: to %q, type %q, %d documents", got, s.docType.Selected, len(s.docs))
	}
	b := labelsIn(s.replaceBox)
	if !s.replaceBox.Visible() || !strings.Contains(b, "Replaces the Prescription sent on ") {
		t.Fatalf("no banner naming the original:\n%s", b)
	}

	// "Do not replace" and back.
	test.Tap(findButton(t, s.replaceBox, "Do not replace: a new message"))
	if s.replacing != nil || s.replaceBox.Visible() {
		t.Fatal("still replacing")
	}
	// With documents on the form, Replace… asks before clearing them.
	addSamples(t, s)
	u.tabs.Select(st.item)
	test.Tap(findButton(t, st.detail, "Replace…"))
	if s.replacing != nil || len(s.docs) == 0 {
		t.Fatal("Replace… cleared the form without asking")
	}
	tapDialogButton(t, u.UI, "Keep them")
	if s.replacing != nil || len(s.docs) == 0 {
		t.Fatal("Keep them did not keep the form")
	}
	test.Tap(findButton(t, st.detail, "Replace…"))
	tapDialogButton(t, u.UI, "Replace")
	if s.replacing == nil || len(s.docs) != 0 {
		t.Fatal("Replace did not start the replacement")
	}

	addSamples(t, s)
	s.noNHI.SetChecked(true)
	test.Tap(s.sendBtn)
	if c := labelsIn(s.check); !s.check.Visible() || !strings.Contains(c, "the Prescription sent on ") || !strings.Contains(formFields(s.check), "Replaces: the Prescription sent on ") {
		t.Fatalf("the check step does not name the original:\n%s\nproblem: %s", c, texts(s.problem))
	}
	sent := expect(&s.sendDone)
	test.Tap(s.sendNow)
	await(t, "send", sent)
	if !s.confirm.root.Visible() {
		t.Fatalf("not sent: %s", texts(s.problem))
	}
	conf := labelsIn(s.confirm.body)
	if !strings.Contains(conf, "It replaces the Prescription sent on ") || !strings.Contains(formFields(s.confirm.body), "Replaces: The Prescription sent on ") || !strings.Contains(s.confirm.text, "(Message-ID "+orig.MessageID+")") {
		t.Errorf("the confirmation does not name the original:\n%s", conf)
	}
	if s.replacing != nil || s.replaceBox.Visible() {
		t.Error("the draft still replaces after sending")
	}

	// At the pharmacy: the original is marked replaced, in its row too.
	fetched := expect(&u.inbox.fetchDone)
	u.tabs.Select(u.inbox.item)
	test.Tap(u.inbox.check)
	await(t, "fetch", fetched)
	var oldRow = -1
	for i, it := range u.inbox.rows {
		if it.Report.MessageID == orig.MessageID {
			oldRow = i
			if it.Superseded == nil || it.Superseded.Kind != manifest.Replace {
				t.Fatalf("the original is not marked replaced: %+v", it.Superseded)
			}
		}
	}
	if oldRow < 0 {
		t.Fatalf("the original is not in the pharmacy's inbox (%d rows)", len(u.inbox.rows))
	}
	if text, _ := rowText(&demoUI{UI: u.UI}, oldRow); !strings.Contains(text, "Replaced\n") {
		t.Errorf("the original's row:\n%s", text)
	}
}
