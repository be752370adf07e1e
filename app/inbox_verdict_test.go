package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/receive"
)

// inboxWith starts the app with a mailbox holding reports, a Document
// that hands out file (counting the calls) by desk.Desk.OpenDocument's
// rules (never for a withheld message; for one that is not verified only
// when the app says the user answered that question; none of these
// messages is cancelled, so no other answer is ever passed), fetches and
// selects item 0.
func inboxWith(t *testing.T, file string, calls *int, reports ...*receive.Report) *demoUI {
	t.Helper()
	u := newDemoUI(t, func(c *Config) {
		c.Fetch = func(context.Context) ([]Received, error) {
			var items []Received
			for i, r := range reports {
				items = append(items, Received{Key: string(rune('a' + i)), Received: time.Now().Add(-time.Duration(i) * time.Minute), Source: "mailbox", Report: r})
			}
			return items, nil
		}
		c.Document = func(key string, _ int, ok desk.Confirmations) (string, error) {
			r := reports[key[0]-'a']
			if desk.Withheld(r) || (!desk.Trusted(r) && !ok.Unverified) || ok.Superseded {
				t.Errorf("Document asked for item %s (%s) without the user's confirmation", key, r.Verdict)
				return "", errors.New("refused")
			}
			*calls++
			return file, nil
		}
	})
	fetched := expect(&u.inbox.fetchDone)
	test.Tap(u.inbox.check)
	await(t, "fetch", fetched)
	u.inbox.list.Select(0)
	return u
}

// buttonsIn returns the buttons with text anywhere below o, including
// inside widgets (dialogs).
func buttonsIn(o fyne.CanvasObject, text string) []*widget.Button {
	var found []*widget.Button
	for _, obj := range test.LaidOutObjects(o) {
		if b, ok := obj.(*widget.Button); ok && b.Text == text && b.Visible() {
			found = append(found, b)
		}
		if b, ok := obj.(*focusButton); ok && b.Text == text && b.Visible() {
			found = append(found, &b.Button)
		}
	}
	return found
}

// labelsIn joins the text of every label below o, including inside
// widgets.
func labelsIn(o fyne.CanvasObject) string {
	var b strings.Builder
	for _, obj := range test.LaidOutObjects(o) {
		if l, ok := obj.(*widget.Label); ok {
			b.WriteString(l.Text + "\n")
		}
	}
	return b.String()
}

func pdfFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var rxDoc = []receive.Document{{Name: "prescription.pdf", ContentType: "application/pdf", Size: 9, SHA256: "ab"}}

// TestWithheldHasNoOpen: a cannot-decrypt or bad-signature item shows
// nothing from inside and has no Open (or Save) button, even when the
// report still lists documents (issue 12 point 1).
func TestWithheldHasNoOpen(t *testing.T) {
	for _, v := range []receive.Verdict{receive.CannotDecrypt, receive.BadSignature} {
		t.Run(string(v), func(t *testing.T) {
			calls := 0
			r := &receive.Report{Verdict: v, Reason: "The encrypted part failed its integrity check.", From: "alice@clinic.test",
				Subject: "Inner subject", Note: "Dispense 90", Documents: rxDoc}
			u := inboxWith(t, pdfFile(t, "rx.pdf", "%PDF-1.4\n"), &calls, r)
			d := labelsIn(u.inbox.detail)
			if len(buttonsIn(u.inbox.detail, "Open")) != 0 || len(buttonsIn(u.inbox.detail, "Save as…")) != 0 {
				t.Errorf("%s item has an Open or Save button:\n%s", v, d)
			}
			for _, leak := range []string{"Dispense 90", "Inner subject", "prescription.pdf"} {
				if strings.Contains(d, leak) {
					t.Errorf("%s item shows %q:\n%s", v, leak, d)
				}
			}
			if !strings.Contains(d, "Documents withheld") {
				t.Errorf("no withheld note:\n%s", d)
			}
			if calls != 0 {
				t.Error("the document was decrypted")
			}
		})
	}
}

// TestNotAddressedIsAmberImpostorRed: a not-addressed-to-you item is
// amber with its reason; an impostor is red (issue 12 points 4, 7).
func TestNotAddressedIsAmberImpostorRed(t *testing.T) {
	na := &receive.Report{Verdict: receive.NotAddressed, From: "alice@clinic.test", Subject: "Rx", Documents: rxDoc,
		Reason: "Signed by Dr Alice Test for other@pharmacy.test; it may have been forwarded or replayed."}
	if look := reportLook(na); look.Tint != theme.ColorNameWarning || look.Short != "Not addressed to you" {
		t.Errorf("not-addressed look: %+v", look)
	}
	calls := 0
	u := inboxWith(t, pdfFile(t, "rx.pdf", "%PDF-1.4\n"), &calls, na)
	d := labelsIn(u.inbox.detail)
	if !strings.Contains(d, "Not addressed to you") || !strings.Contains(d, "for other@pharmacy.test") {
		t.Errorf("not-addressed detail:\n%s", d)
	}
	imp := &receive.Report{Verdict: receive.UnknownSigner, From: "alice@clinic.test", Reason: "claims alice@clinic.test"}
	imp.Impostor = true
	if look := reportLook(imp); look.Tint != theme.ColorNameError || !strings.HasPrefix(look.Short, "Impostor") {
		t.Errorf("impostor look: %+v", look)
	}
	if !strings.HasPrefix(bannerTitle(imp), "Impostor") {
		t.Errorf("impostor title: %s", bannerTitle(imp))
	}
	for v, want := range map[receive.Verdict]fyne.ThemeColorName{
		receive.Verified: theme.ColorNameSuccess, receive.NotSigned: theme.ColorNameWarning, receive.UnknownSigner: theme.ColorNameWarning,
		receive.NotAddressed: theme.ColorNameWarning, receive.CannotDecrypt: theme.ColorNameError, receive.BadSignature: theme.ColorNameError,
	} {
		if got := lookOf(v).Tint; got != want {
			t.Errorf("%s: tint %s, want %s", v, got, want)
		}
	}
	// Every verdict's tint follows receive's colour for it.
	tints := map[string]fyne.ThemeColorName{"green": theme.ColorNameSuccess, "amber": theme.ColorNameWarning, "red": theme.ColorNameError}
	for _, v := range []receive.Verdict{receive.Verified, receive.UnknownSigner, receive.NotSigned, receive.NotAddressed,
		receive.BadSignature, receive.CannotDecrypt, receive.SenderMismatch} {
		if got, want := lookOf(v).Tint, tints[v.Colour()]; got != want {
			t.Errorf("%s (%s): tint %s, want %s", v, v.Colour(), got, want)
		}
	}
}

// TestUnverifiedOpenAsksFirst: Open on a not-verified document shows a
// confirmation with the reason and decrypts nothing until confirmed.
func TestUnverifiedOpenAsksFirst(t *testing.T) {
	calls := 0
	r := &receive.Report{Verdict: receive.UnknownSigner, From: "mallory@evil.test", Subject: "Rx", Documents: rxDoc,
		Reason: "Good signature by Mallory Unknown Test, but that key is not pinned."}
	u := inboxWith(t, pdfFile(t, "prescription.pdf", "%PDF-1.4\n"), &calls, r)
	test.Tap(findButton(t, u.inbox.detail, "Open"))
	if calls != 0 {
		t.Fatal("the document was decrypted before the confirmation")
	}
	overlay := u.win.Canvas().Overlays().Top()
	if overlay == nil {
		t.Fatal("no confirmation dialog")
	}
	if d := labelsIn(overlay); !strings.Contains(d, "Mallory Unknown Test") || !strings.Contains(d, "NOT VERIFIED") {
		t.Errorf("the confirmation does not show the reason:\n%s", d)
	}
	cancel := buttonsIn(overlay, "Cancel")
	if len(cancel) != 1 {
		t.Fatal("no Cancel")
	}
	test.Tap(cancel[0])
	if calls != 0 {
		t.Fatal("Cancel opened the document")
	}
	test.Tap(findButton(t, u.inbox.detail, "Open"))
	anyway := buttonsIn(u.win.Canvas().Overlays().Top(), "Open anyway")
	if len(anyway) != 1 {
		t.Fatal("no Open anyway button")
	}
	test.Tap(anyway[0])
	if calls != 1 {
		t.Errorf("confirmed open decrypted %d times", calls)
	}
	if d := labelsIn(u.inbox.detail); !strings.Contains(d, "Opened prescription.pdf") {
		t.Errorf("next to the button:\n%s", d)
	}

	// Verified opens at once.
	calls = 0
	v := inboxWith(t, pdfFile(t, "prescription.pdf", "%PDF-1.4\n"), &calls, &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc})
	test.Tap(findButton(t, v.inbox.detail, "Open"))
	if calls != 1 || v.win.Canvas().Overlays().Top() != nil {
		t.Errorf("verified open: %d calls, dialog %v", calls, v.win.Canvas().Overlays().Top())
	}
}

// TestOnlyMatchingTypesOpen: run.exe, or an executable named .pdf, is
// never handed to the system viewer, whatever the verdict.
func TestOnlyMatchingTypesOpen(t *testing.T) {
	for _, tt := range []struct{ name, content string }{
		{"run.exe", "MZ\x90\x00"},
		{"prescription.pdf", "\x7fELF\x02\x01"},
		{"evil.html", "<html><script>"},
	} {
		calls := 0
		r := &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test",
			Documents: []receive.Document{{Name: tt.name, ContentType: "application/octet-stream"}}}
		u := inboxWith(t, pdfFile(t, tt.name, tt.content), &calls, r)
		test.Tap(findButton(t, u.inbox.detail, "Open"))
		if d := labelsIn(u.inbox.detail); !strings.Contains(d, "is not opened") {
			t.Errorf("%s: next to the button:\n%s", tt.name, d)
		}
	}
}

// TestHeadersNotSignedAreLabelled: what the signature does not cover is
// marked; bidi and control characters are shown visibly (issue 12 points
// 3, 5).
func TestHeadersNotSignedAreLabelled(t *testing.T) {
	r := &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Subject: "Rx for \u202eJ. Test\x1b[2K",
		MessageID: "m@x", Date: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), Documents: rxDoc, Note: "Dispense 30\rDispense 90"}
	r.Signed = receive.SignedFields{From: true, Date: true, MessageID: true}
	r.Unprotected = []receive.HeaderField{{Name: "Subject", Value: "URGENT"}}
	calls := 0
	u := inboxWith(t, pdfFile(t, "rx.pdf", "%PDF-1.4\n"), &calls, r)
	d := labelsIn(u.inbox.detail)
	if n := strings.Count(d, notProtected+"\n"); n != 1 {
		t.Errorf("%d fields marked not protected, want 1 (the subject):\n%s", n, d)
	}
	for _, want := range []string{`Rx for <U+202E>J. Test\x1b[2K`, "Subject: URGENT", `Dispense 30\x0dDispense 90`} {
		if !strings.Contains(d, want) {
			t.Errorf("detail lacks %q:\n%s", want, d)
		}
	}
	if strings.ContainsAny(d, "\u202e\x1b\r") {
		t.Errorf("detail shows raw bidi or control characters:\n%q", d)
	}
	if line := listLine(r, nil); !strings.HasSuffix(line, "(unprotected)") || strings.Contains(line, "\u202e") {
		t.Errorf("list line %q", line)
	}
}

// TestSaveRemovesDecryptedCopy: the decrypted temporary copy made for
// Save as… is removed after saving and after a cancel; a document the
// report points at (not a temporary copy) is kept (issue 13 point 8).
func TestSaveRemovesDecryptedCopy(t *testing.T) {
	u := newDemoUI(t, nil)
	for _, cancel := range []bool{false, true} {
		tmp := pdfFile(t, "rx.pdf", "%PDF-1.4 decrypted")
		dst := filepath.Join(t.TempDir(), "saved.pdf")
		var w fyne.URIWriteCloser
		if !cancel {
			var err error
			if w, err = storage.Writer(storage.NewFileURI(dst)); err != nil {
				t.Fatal(err)
			}
		}
		u.inbox.saved("rx.pdf", tmp, true, w, nil)
		if _, err := os.Stat(tmp); err == nil {
			t.Errorf("cancel %v: the decrypted copy stays", cancel)
		}
		if data, err := os.ReadFile(dst); !cancel && string(data) != "%PDF-1.4 decrypted" {
			t.Errorf("saved %q, %v", data, err)
		}
	}
	kept := pdfFile(t, "rx.pdf", "%PDF-1.4 stored")
	u.inbox.saved("rx.pdf", kept, false, nil, nil)
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("a stored document was removed: %v", err)
	}
}

// TestOpenFileHook: a document that passed the checks goes to the front
// end's Config.OpenFile when it gives one (on Windows: ShellExecuteW),
// and its failure is reported next to the button.
func TestOpenFileHook(t *testing.T) {
	r := &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc}
	var opened []string
	fail := false
	calls := 0
	file := pdfFile(t, "rx.pdf", "%PDF-1.4\n")
	u := inboxWith(t, file, &calls, r)
	u.cfg.OpenFile = func(p string) error {
		opened = append(opened, p)
		if fail {
			return errors.New("no application is associated")
		}
		return nil
	}
	test.Tap(findButton(t, u.inbox.detail, "Open"))
	if d := labelsIn(u.inbox.detail); len(opened) != 1 || opened[0] != file || !strings.Contains(d, "Opened rx.pdf") && !strings.Contains(d, "Opened prescription.pdf") {
		t.Fatalf("opened %v, next to the button:\n%s", opened, d)
	}
	fail = true
	test.Tap(findButton(t, u.inbox.detail, "Open"))
	d := labelsIn(u.inbox.detail)
	if !strings.Contains(d, "No PDF viewer found — use Preview, or Save as…") || strings.Contains(d, "no application is associated") {
		t.Errorf("a failed open says, next to the button:\n%s", d)
	}
	if strings.Contains(u.inbox.status.Text, "viewer") {
		t.Errorf("the list pane says %q", u.inbox.status.Text)
	}
}
