package app

import (
	"context"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
)

// TestInboxShowsManifest: the document type and patient NHI of a signed
// manifest are labelled fields of the message and the third line of its
// list row, made safe; a message that failed its signature check shows
// neither, even with a manifest on its report.
func TestInboxShowsManifest(t *testing.T) {
	good := &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Subject: "Rx", Documents: rxDoc,
		Signed: receive.SignedFields{From: true, Subject: true},
		Manifest: &manifest.Manifest{DocumentType: "prescription", PatientNHI: "ZZZ0016\u202e",
			Prescriber: &manifest.Prescriber{Name: "Dr Alice Test", CPN: "91ZZWJ"}}}
	bad := &receive.Report{Verdict: receive.BadSignature, From: "mallory@clinic.test", Reason: "altered",
		Manifest: &manifest.Manifest{DocumentType: "prescription", PatientNHI: "ZZZ0024"}}
	calls := 0
	u := inboxWith(t, pdfFile(t, "rx.pdf", "%PDF-1.4\n"), &calls, good, bad)
	d := formFields(u.inbox.detail)
	for _, want := range []string{"Patient NHI: ZZZ0016<U+202E>\n", "Document type: prescription\n", "Prescriber: Dr Alice Test (HPI CPN 91ZZWJ)\n"} {
		if !strings.Contains(d, want) {
			t.Errorf("detail lacks %q:\n%s", want, d)
		}
	}
	if strings.Contains(d, "\u202e") {
		t.Errorf("detail shows a raw bidi character:\n%q", d)
	}
	if got, want := manifestLine(good), "Patient NHI: ZZZ0016<U+202E> · Document type: prescription"; got != want {
		t.Errorf("list row %q, want %q", got, want)
	}
	row := u.inbox.list.CreateItem()
	u.inbox.list.UpdateItem(0, row)
	if rows := labelsIn(row); !strings.Contains(rows, "Patient NHI: ZZZ0016<U+202E> · Document type: prescription\n") {
		t.Errorf("the list row lacks the NHI:\n%s", rows)
	}
	u.inbox.list.Select(1)
	if d := formFields(u.inbox.detail) + labelsIn(u.inbox.detail); strings.Contains(d, "Patient NHI") || strings.Contains(d, "ZZZ0024") {
		t.Errorf("a withheld message shows its manifest:\n%s", d)
	}
	if got := manifestLine(bad); got != "" {
		t.Errorf("list row of a withheld message: %q", got)
	}
}

// formFields lists the items of the forms below o as "label: text" lines,
// the text of a label value (or of the first label inside it).
func formFields(o fyne.CanvasObject) string {
	var b strings.Builder
	for _, obj := range test.LaidOutObjects(o) {
		f, ok := obj.(*widget.Form)
		if !ok {
			continue
		}
		for _, it := range f.Items {
			b.WriteString(it.Text + ": " + strings.SplitN(labelsIn(it.Widget), "\n", 2)[0] + "\n")
		}
	}
	return b.String()
}

// TestInboxShowsFailures: after a check, the messages that could not be
// received are listed under the status with their error, made safe; the
// list disappears once there are none.
func TestInboxShowsFailures(t *testing.T) {
	failures := []receive.Failure{{Source: receive.Source{Account: "pharmacy", Mailbox: "INBOX", UID: 7}, Stage: "verify",
		Error: "server said: \x1b]0;pwned\x07\u202etxt.exe", Attempts: 3, GaveUp: true}}
	u := newDemoUI(t, func(c *Config) {
		c.Fetch = func(context.Context) ([]Received, error) { return nil, nil }
		c.Failures = func() ([]receive.Failure, error) { return failures, nil }
	})
	fetched := expect(&u.inbox.fetchDone)
	test.Tap(u.inbox.check)
	await(t, "fetch", fetched)
	got := u.inbox.failed.Text
	for _, want := range []string{"1 message(s) could not be received", "pharmacy INBOX UID 7: verify failed (given up after 3 attempts", "server said: ?]0;pwned??txt.exe"} {
		if !strings.Contains(got, want) {
			t.Errorf("failures %q lack %q", got, want)
		}
	}
	if !u.inbox.failed.Visible() || strings.ContainsAny(got, "\x1b\x07\u202e") {
		t.Errorf("failures shown %v, text %q", u.inbox.failed.Visible(), got)
	}
	failures = nil
	fetched = expect(&u.inbox.fetchDone)
	test.Tap(u.inbox.check)
	await(t, "fetch", fetched)
	if u.inbox.failed.Visible() {
		t.Errorf("failures still shown: %q", u.inbox.failed.Text)
	}
}
