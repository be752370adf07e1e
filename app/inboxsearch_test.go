package app

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/internal/doccheck"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
)

// inboxOf starts the app with a mailbox holding reports (newest first)
// and a directory entry naming clinic@directory.test, and fetches them.
func inboxOf(t *testing.T, reports ...*receive.Report) *demoUI {
	t.Helper()
	u := newDemoUI(t, func(c *Config) {
		c.Recipients = append(c.Recipients, Recipient{Name: "Directory Clinic", Address: "clinic@directory.test", KeyState: "pinned"})
		c.Fetch = func(context.Context) ([]Received, error) {
			var items []Received
			for i, r := range reports {
				items = append(items, Received{Key: string(rune('a' + i)), Received: time.Now().Add(-time.Duration(i) * time.Minute), Source: "mailbox", Report: r})
			}
			return items, nil
		}
	})
	fetched := expect(&u.inbox.fetchDone)
	test.Tap(u.inbox.check)
	await(t, "fetch", fetched)
	return u
}

// inboxRows is the text of every row the Inbox list shows, one row a
// string.
func inboxRows(u *demoUI) []string {
	var out []string
	for i := range u.inbox.rows {
		s, _ := rowText(u, i)
		out = append(out, s)
	}
	return out
}

// TestInboxRowsNameTheSenderAndCanBeSearched: an Inbox row names the
// sender by the display name of a verified, signed From (or the
// directory's name for a verified address without one), never by a name
// no good signature vouches for, and shows the signed manifest's NHI and
// document type; the search finds rows by NHI (any case, spaces ignored),
// name, address or document type, never by the manifest of a message
// that failed its check, and Enter opens the first match. Before, rows
// showed the From header as written and the Inbox had no search.
func TestInboxRowsNameTheSenderAndCanBeSearched(t *testing.T) {
	signed := receive.SignedFields{From: true, Subject: true}
	ann := &receive.Report{Verdict: receive.Verified, From: "Dr Ann Smith <ann@clinic.test>", Subject: "Prescription", Signed: signed, Documents: rxDoc,
		Manifest: &manifest.Manifest{DocumentType: "prescription", PatientNHI: "ZZZ0016"}}
	forged := &receive.Report{Verdict: receive.NotSigned, From: "Dr Ann Smith <mallory@evil.test>", Subject: "Prescription", Documents: rxDoc}
	dir := &receive.Report{Verdict: receive.Verified, From: "clinic@directory.test", Subject: "Referral", Signed: signed, Documents: rxDoc,
		Manifest: &manifest.Manifest{DocumentType: "referral", PatientNHI: "ZZZ00AC"}}
	bad := &receive.Report{Verdict: receive.BadSignature, From: "Dr Eve <eve@clinic.test>", Reason: "altered",
		Manifest: &manifest.Manifest{DocumentType: "prescription", PatientNHI: "ZZZ0024"}}
	u := inboxOf(t, ann, forged, dir, bad)
	in := u.inbox

	rows := inboxRows(u)
	if len(rows) != 4 {
		t.Fatalf("rows %q", rows)
	}
	for i, want := range []string{
		"Dr Ann Smith — Prescription\nPatient NHI: ZZZ0016 · Document type: prescription",
		"mallory@evil.test — Prescription",
		"Directory Clinic — Referral\nPatient NHI: ZZZ00AC · Document type: referral",
		"eve@clinic.test — content withheld",
	} {
		if !strings.Contains(rows[i], want) {
			t.Errorf("row %d lacks %q:\n%s", i, want, rows[i])
		}
	}
	if strings.Contains(rows[1], "Ann") || strings.Contains(rows[3], "Eve") {
		t.Errorf("an unverified display name shows:\n%s\n%s", rows[1], rows[3])
	}
	if !strings.HasPrefix(rows[0], "Verified · ") || !strings.HasPrefix(rows[1], reportLook(forged).Short+" · ") {
		t.Errorf("verdict words lost:\n%s\n%s", rows[0], rows[1])
	}

	press(t, u.UI, fyne.Key3, fyne.KeyModifierShortcutDefault)
	c := u.win.Canvas()
	if c.Focused() != in.search {
		t.Fatalf("Ctrl+3 put the focus on %T, not the Inbox search", c.Focused())
	}
	for _, tc := range []struct {
		q    string
		want []string // the rows' senders
	}{
		{"", []string{"Dr Ann Smith", "mallory@evil.test", "Directory Clinic", "eve@clinic.test"}},
		{"zzz 0016", []string{"Dr Ann Smith"}},
		{"ZZZ00AC", []string{"Directory Clinic"}},
		{"ZZZ0024", nil}, // only in a withheld message's manifest
		{"ann smith", []string{"Dr Ann Smith"}},
		{"evil.test", []string{"mallory@evil.test"}},
		{"Referral", []string{"Directory Clinic"}},
		{"clinic@directory", []string{"Directory Clinic"}},
	} {
		in.search.SetText(tc.q)
		var got []string
		for _, r := range inboxRows(u) {
			line := strings.Split(r, "\n")[1]
			got = append(got, strings.SplitN(line, " — ", 2)[0])
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("search %q shows %q, want %q", tc.q, got, tc.want)
		}
	}

	in.search.SetText("")
	c.Focus(in.search)
	typeFocused(t, c, "zzz00ac")
	press(t, u.UI, fyne.KeyReturn, 0)
	if d := formFields(in.detail); !strings.Contains(d, "Patient NHI: ZZZ00AC") {
		t.Errorf("Enter in the search did not open the ZZZ00AC message:\n%s", d)
	}
}

// TestTabShortcutsWaitForTheDialog: while a dialog is open, Ctrl+1…4,
// Ctrl+Tab and Ctrl+Enter do nothing, so that the dialog never stays
// over a tab it is not about (and Ctrl+Enter never sends behind it);
// once it is closed they work again. Before, Ctrl+3 switched to the
// Inbox behind an open dialog.
func TestTabShortcutsWaitForTheDialog(t *testing.T) {
	u := newDemoUI(t, nil)
	u.tabs.Select(u.send.item)
	d := dialog.NewInformation("Question", "Are you sure?", u.win)
	u.showDialog(d)
	for _, k := range []struct {
		key fyne.KeyName
		mod fyne.KeyModifier
	}{
		{fyne.Key2, fyne.KeyModifierShortcutDefault},
		{fyne.Key3, fyne.KeyModifierShortcutDefault},
		{fyne.Key4, fyne.KeyModifierShortcutDefault},
		{fyne.KeyTab, fyne.KeyModifierControl},
	} {
		press(t, u.UI, k.key, k.mod)
		if u.tabs.Selected() != u.send.item {
			t.Fatalf("%d+%s switched to %q behind the dialog", k.mod, k.key, u.tabs.Selected().Text)
		}
	}
	press(t, u.UI, fyne.KeyReturn, fyne.KeyModifierShortcutDefault)
	if u.send.check.Visible() || texts(u.send.problem) != "" {
		t.Errorf("Ctrl+Enter acted behind the dialog: %s", texts(u.send.problem))
	}
	d.Hide()
	press(t, u.UI, fyne.Key3, fyne.KeyModifierShortcutDefault)
	if u.tabs.Selected() != u.inbox.item {
		t.Errorf("Ctrl+3 after the dialog closed shows %q", u.tabs.Selected().Text)
	}
}

// TestCheckStepNamesDocumentsAsSent: the check before sending lists the
// documents under the names they are sent with: pictures and scans to be
// put into one PDF as that PDF; PDFs as they are. Before, it listed "sample-referral.tif" for a document sent as
// sample-referral.pdf.
func TestCheckStepNamesDocumentsAsSent(t *testing.T) {
	for _, tc := range []struct {
		combine bool
		want    string
	}{
		{true, "sample-prescription.pdf, sample-referral.pdf"},
		{false, "sample-prescription.pdf, sample-referral.tif"},
	} {
		u := newDemoUI(t, nil)
		s := u.send
		addSamples(t, s)
		s.combine.SetChecked(tc.combine)
		test.Type(s.nhiEntry, "ZZZ0016")
		test.Tap(s.sendBtn)
		if !s.check.Visible() {
			t.Fatalf("no check step: %s", texts(s.problem))
		}
		if got := formFields(s.checkBody); !strings.Contains(got, "Documents: "+tc.want+"\n") {
			t.Errorf("combine %v: check step lists\n%s\nwant Documents: %s", tc.combine, got, tc.want)
		}
	}
}

// TestToFieldKeyStateIsNeverCut: the state of the recipient's key shows
// in full under the To field at 1024 and 800 px wide, not in the
// field's text, where it was cut off; a recipient without a key whom the
// policy refuses says so there in red. Before, "(key checked)" was part
// of the field's text and cut off ("(key ch…").
func TestToFieldKeyStateIsNeverCut(t *testing.T) {
	for _, w := range []float32{1024, 800} {
		u := newDemoUI(t, nil)
		u.win.Resize(fyne.NewSize(w, 600))
		relayout(u.UI)
		s := u.send
		if !s.keyState.Visible() || s.keyState.Text != "Key checked: only they can read what you send." || s.keyState.Importance != widget.SuccessImportance {
			t.Errorf("%v px: key line %q (shown %v)", w, s.keyState.Text, s.keyState.Visible())
		}
		if strings.Contains(s.to.Text, "(key") {
			t.Errorf("%v px: the To field still carries the key state: %q", w, s.to.Text)
		}
		shownWhole(t, u.UI, s.keyState, "the key state")
	}
	u := newDemoUI(t, func(c *Config) {
		c.EncryptionRequired = func(string) bool { return true }
		c.Recipients = []Recipient{{Name: "Old Pharmacy", Address: "old@pharmacy.test", KeyState: "none"}}
	})
	if k := u.send.keyState; !strings.HasPrefix(k.Text, "No key: cannot send") || k.Importance != widget.DangerImportance {
		t.Errorf("refused recipient: key line %q (%v)", k.Text, k.Importance)
	}
}

// TestSentNames: the names the check step lists, as run sends them.
func TestSentNames(t *testing.T) {
	pdf := &doccheck.Info{Name: "letter.pdf", Kind: doccheck.PDF}
	tif := &doccheck.Info{Name: "scan.tif", Kind: doccheck.TIFF}
	jpg := &doccheck.Info{Name: "photo.jpg", Kind: doccheck.JPEG}
	for _, tc := range []struct {
		docs    []*doccheck.Info
		combine bool
		want    []string
	}{
		{[]*doccheck.Info{tif, pdf}, true, []string{"letter.pdf", "scan.pdf"}},
		{[]*doccheck.Info{tif, jpg, pdf}, true, []string{"letter.pdf", "scan.pdf (2 pictures in one PDF)"}},
		{[]*doccheck.Info{tif, jpg, pdf}, false, []string{"scan.tif", "photo.jpg", "letter.pdf"}},
	} {
		if got := sentNames(tc.docs, tc.combine); !slices.Equal(got, tc.want) {
			t.Errorf("sentNames(combine %v) = %q, want %q", tc.combine, got, tc.want)
		}
	}
}
