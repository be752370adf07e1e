package app

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"net/mail"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/assets"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/doccheck"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

type demoUI struct {
	*UI
	sys     *demomail.System
	samples []string
}

func newDemoUI(t *testing.T, edit func(*Config)) *demoUI {
	t.Helper()
	return newDemoUIWith(t, desk.DemoOptions{}, edit)
}

// newDemoUIWith is newDemoUI with the demo desk's options (a failing
// server). The app is configured as runGUI configures it in demo mode
// (OpenDesk over a desk in a new home), on a demo mail system of the
// test's; without the Settings tab's key and account management and
// without Reload, which the tests that use them add.
func newDemoUIWith(t *testing.T, opts desk.DemoOptions, edit func(*Config)) *demoUI {
	t.Helper()
	cfg, sys := openDemo(t, opts)
	if !cfg.Demo || len(cfg.Samples) == 0 {
		t.Fatalf("not the demo: %+v", cfg)
	}
	cfg.Keys, cfg.Accounts, cfg.Reload = nil, nil, nil
	if edit != nil {
		edit(&cfg)
	}
	return &demoUI{UI: newUI(t, cfg), sys: sys, samples: cfg.Samples}
}

// openDemo opens the demo Config exactly as runGUI makes it (OpenDesk over
// a desk in a new home) on a demo mail system of the test's.
func openDemo(t *testing.T, opts desk.DemoOptions) (Config, *demomail.System) {
	t.Helper()
	sys, err := demomail.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close() })
	tmp, err := privtemp.New(t.TempDir())
	if tmp == nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tmp.Close() })
	dir := t.TempDir()
	d, err := desk.Open(desk.Options{Getenv: func(k string) string {
		if k == home.EnvVar {
			return dir
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, s, err := OpenDesk(context.Background(), d, desk.SessionOptions{Temp: tmp, Demo: true, System: sys, DemoOptions: opts}, DeskOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return cfg, sys
}

// newUI builds the whole window for cfg on the tests' app.
func newUI(t *testing.T, cfg Config) *UI {
	t.Helper()
	u := New(newTestApp(t), cfg)
	u.buildAll()
	// Runs before the cleanups of the desk and the demo mail system: a
	// fetch the test set off (opening the Inbox, a send's follow-up check)
	// finishes before the session and the temporary folders it writes
	// into go away.
	t.Cleanup(func() { waitNoFetch(t, u) })
	return u
}

// sendThroughOutbox sends m through the app's outbox (the demo
// clinician's desk) and returns the raw messages in the pharmacy's
// mailbox.
func sendThroughOutbox(t *testing.T, u *demoUI, m *send.Message) []demomail.Fetched {
	t.Helper()
	ob := u.cfg.Outbox.Box
	id, err := ob.Queue(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ob.Deliver(context.Background(), id, nil); err != nil {
		t.Fatal(err)
	}
	got, err := u.sys.Fetch(context.Background(), demomail.Pharmacy)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func texts(o fyne.CanvasObject) string {
	var b strings.Builder
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch v := o.(type) {
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case *widget.Label:
			b.WriteString(v.Text + "\n")
		case *widget.Entry:
			b.WriteString(v.Text + "\n")
		case *widget.Form:
			for _, it := range v.Items {
				b.WriteString(it.Text + ": ")
				walk(it.Widget)
			}
		case *container.Scroll:
			walk(v.Content)
		case *container.Split:
			walk(v.Leading)
			walk(v.Trailing)
		}
	}
	walk(o)
	return b.String()
}

// expect arms hook (set it before starting the work it reports).
func expect(hook *func()) chan struct{} {
	ch := make(chan struct{}, 1)
	*hook = func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return ch
}

// await waits for an armed hook; the limit only stops a hung test.
func await(t *testing.T, what string, ch chan struct{}) {
	t.Helper()
	if _, ok := pumpRecv(ch, 2*time.Minute); !ok {
		t.Fatalf("%s did not finish", what)
	}
}

// addSamples adds the sample documents as the user does and waits until
// they are checked.
func addSamples(t *testing.T, s *sendTab) {
	t.Helper()
	added := expect(&s.addDone)
	test.Tap(s.samplesBtn)
	await(t, "add", added)
}

func TestDemoWindow(t *testing.T) {
	u := newDemoUI(t, nil)
	if got := u.win.Title(); got != "securesend — demo mode" {
		t.Errorf("title %q", got)
	}
	if !strings.Contains(texts(u.win.Content()), "nothing leaves this computer") {
		t.Error("no demo banner")
	}
}

func TestAddDocumentsAndRefuseBadFile(t *testing.T) {
	u := newDemoUI(t, nil)
	s := u.send
	addSamples(t, s)
	if len(s.docs) != 2 || len(s.docBox.Objects) != 2 {
		t.Fatalf("%d documents listed after adding the samples", len(s.docs))
	}
	list := texts(s.docBox)
	if !strings.Contains(list, "sample-prescription.pdf") || !strings.Contains(list, "PDF · 2 pages") || !strings.Contains(list, "TIFF ·") {
		t.Errorf("document list:\n%s", list)
	}
	// Adding the same file again does not list it twice.
	added := expect(&s.addDone)
	s.addPaths(u.samples[:1])
	await(t, "add", added)
	if len(s.docs) != 2 {
		t.Errorf("duplicate added: %d documents", len(s.docs))
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "letter.docx")
	if err := os.WriteFile(bad, []byte("PK\x03\x04 word document"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "blank.pdf")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Dropping files onto the window adds them to the Send tab.
	added = expect(&s.addDone)
	u.onDropped(fyne.NewPos(10, 10), []fyne.URI{storage.NewFileURI(bad), storage.NewFileURI(empty)})
	await(t, "add", added)
	if len(s.docs) != 2 {
		t.Errorf("bad files were added: %d documents", len(s.docs))
	}
	refused := texts(s.refused)
	if !strings.Contains(refused, "Not added: letter.docx — this type of file is not supported") ||
		!strings.Contains(refused, "Not added: blank.pdf — the file is empty") {
		t.Errorf("refusals:\n%s", refused)
	}

	// Remove a document.
	row := s.docBox.Objects[0].(*fyne.Container)
	for _, o := range row.Objects {
		if b, ok := o.(*focusButton); ok {
			test.Tap(b)
		}
	}
	if len(s.docs) != 1 || len(s.docBox.Objects) != 1 {
		t.Errorf("after remove: %d documents, %d rows", len(s.docs), len(s.docBox.Objects))
	}
}

func TestNHIValidatedAsTyped(t *testing.T) {
	u := newDemoUI(t, nil)
	s := u.send
	test.Type(s.nhiEntry, "ZZZ0017")
	if !strings.Contains(s.nhiMsg.Text, "check digit") {
		t.Errorf("wrong check digit: message %q", s.nhiMsg.Text)
	}
	s.nhiEntry.SetText("")
	test.Type(s.nhiEntry, "ZZZ0016")
	if s.nhiMsg.Text != "Valid test NHI (accepted in demo mode only)." {
		t.Errorf("valid test NHI in demo mode: message %q", s.nhiMsg.Text)
	}
	s.nhiEntry.SetText("")
	test.Type(s.nhiEntry, "ZIZ0016")
	if !strings.Contains(s.nhiMsg.Text, "I and O") {
		t.Errorf("letter I: message %q", s.nhiMsg.Text)
	}
	// A wrong NHI stops the send with the reason.
	addSamples(t, s)
	pressSend(t, s)
	if got := texts(s.problem); !strings.Contains(got, "the NHI is not valid") {
		t.Errorf("send with a bad NHI: %q", got)
	}

	real := newDemoUI(t, func(c *Config) { c.Demo = false })
	test.Type(real.send.nhiEntry, "ZZZ0016")
	if !strings.Contains(real.send.nhiMsg.Text, "This is a test NHI") {
		t.Errorf("test NHI outside demo mode: message %q", real.send.nhiMsg.Text)
	}
}

func TestSendThenVerifiedInInbox(t *testing.T) {
	u := newDemoUI(t, nil)
	s := u.send
	addSamples(t, s)
	test.Type(s.nhiEntry, "ZZZ00AC")
	test.Type(s.note, "Please dispense today.")
	s.docType.SetSelected("Prescription")
	sent := expect(&s.sendDone)
	pressSend(t, s)
	await(t, "send", sent)

	if !s.confirm.root.Visible() || s.form.Visible() {
		t.Fatalf("confirmation not shown; problem: %s", texts(s.problem))
	}
	conf := texts(s.confirm.root)
	for _, want := range []string{"Sent securely to Demo Pharmacy", "Patient NHI: ZZZ00AC", "Content: Signed and encrypted with OpenPGP", "sample-prescription.pdf"} {
		if !strings.Contains(conf, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, conf)
		}
	}
	// The technical lines are folded away on screen, complete in the copy.
	test.Tap(findButton(t, s.confirm.root, "Copy"))
	got := u.app.Clipboard().Content()
	for _, want := range []string{"Patient NHI:         ZZZ00AC", "Queue ID:            DEMO", "Signed with key: ", "Connection:          TLS 1.3", "REQUIRETLS:          yes", "SHA-256 "} {
		if !strings.Contains(got, want) {
			t.Errorf("copied confirmation lacks %q:\n%s", want, got)
		}
	}

	pdf := filepath.Join(t.TempDir(), "confirmation.pdf")
	f, err := os.Create(pdf)
	if err != nil {
		t.Fatal(err)
	}
	s.confirm.savePDF(f, "confirmation.pdf")
	if info, err := doccheck.Check(pdf); err != nil || info.Kind != doccheck.PDF {
		t.Errorf("saved confirmation: %v (%s)", err, s.confirm.status.Text)
	}

	in := u.inbox
	fetched := expect(&in.fetchDone)
	test.Tap(in.check)
	await(t, "fetch", fetched)
	if len(in.items) != 1 {
		t.Fatalf("inbox has %d messages; status %q", len(in.items), in.status.Text)
	}
	rep := in.items[0].Report
	if rep.Verdict != receive.Verified {
		t.Fatalf("verdict %s: %s", rep.Verdict, rep.Reason)
	}
	in.list.Select(0)
	detail := texts(in.detail)
	for _, want := range []string{"Verified — signed by", "not altered", "Patient NHI: ZZZ00AC", "Please dispense today.", "Subject: Prescription", "sample-referral.pdf"} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail lacks %q:\n%s", want, detail)
		}
	}

	// Send another: the form is back and empty.
	test.Tap(findButton(t, s.confirm.root, "Send another"))
	if !s.form.Visible() || len(s.docs) != 0 {
		t.Error("form not reset")
	}
}

func TestSendFailureKeepsDocuments(t *testing.T) {
	u := newDemoUI(t, func(c *Config) {
		c.Outbox = nil // the direct path
		c.Send = func(context.Context, *send.Message, func(int64)) (*send.Result, error) {
			return nil, &send.Error{Kind: send.ErrNoTLS, Stage: "starttls", Server: "mail.example.test:587"}
		}
	})
	s := u.send
	addSamples(t, s)
	s.noNHI.SetChecked(true)
	want := &fyne.Notification{Title: "Not sent", Content: "Not sent: The mail server did not offer encryption (STARTTLS), so nothing was sent."}
	assertNotificationSent(t, want, func() {
		sent := expect(&s.sendDone)
		pressSend(t, s)
		await(t, "send", sent)
	})
	got := texts(s.problem)
	if !strings.Contains(got, "Not sent: The mail server did not offer encryption (STARTTLS), so nothing was sent.") {
		t.Errorf("problem shown:\n%s", got)
	}
	if len(s.docs) != 2 || s.confirm.root.Visible() {
		t.Error("documents not kept or confirmation shown")
	}
}

func TestCancelSend(t *testing.T) {
	started := make(chan struct{})
	u := newDemoUI(t, func(c *Config) {
		c.Outbox = nil // the direct path
		c.Send = func(ctx context.Context, _ *send.Message, _ func(int64)) (*send.Result, error) {
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		}
	})
	s := u.send
	addSamples(t, s)
	s.noNHI.SetChecked(true)
	pressSend(t, s)
	<-started
	if !s.busy.Visible() || !s.sendBtn.Disabled() {
		t.Error("progress not shown while sending")
	}
	ch := make(chan struct{})
	s.sendDone = func() { close(ch) }
	test.Tap(s.cancel)
	await(t, "cancel", ch)
	if got := texts(s.problem); !strings.Contains(got, "Sending was cancelled.") {
		t.Errorf("after cancel:\n%s", got)
	}
	if len(s.docs) != 2 || s.sendBtn.Disabled() {
		t.Error("documents lost or Send still disabled after cancel")
	}
}

func TestDroppedTamperedEMLShowsBadVerdict(t *testing.T) {
	u := newDemoUI(t, nil)
	m := &send.Message{
		From:      u.cfg.From,
		To:        []mail.Address{{Address: demomail.Pharmacy}},
		Subject:   "Referral",
		Documents: []send.Document{{Path: u.samples[0]}},
	}
	got := sendThroughOutbox(t, u, m)
	if len(got) != 1 {
		t.Fatalf("the pharmacy has %d messages", len(got))
	}
	raw := bytes.Clone(got[0].Raw)
	i := bytes.Index(raw, []byte("-----BEGIN PGP MESSAGE-----")) + 200
	raw[i] ^= 0x01
	dir := t.TempDir()
	good := filepath.Join(dir, "good.eml")
	bad := filepath.Join(dir, "tampered.eml")
	os.WriteFile(good, got[0].Raw, 0o600)
	os.WriteFile(bad, raw, 0o600)

	in := u.inbox
	ch := expect(&in.fetchDone)
	// The drop switches to the Inbox, which checks the mailbox when
	// opened; let that check end first, so that ch reports the files.
	u.tabs.Select(in.item)
	if in.isFetching() {
		await(t, "the check on opening", ch)
	}
	u.tabs.Select(u.send.item)
	u.onDropped(fyne.NewPos(1, 1), []fyne.URI{storage.NewFileURI(good)})
	await(t, "the good file", ch)
	if d := texts(in.detail); !strings.Contains(d, "Verified — signed by") {
		t.Errorf("good .eml:\n%s", d)
	}
	u.onDropped(fyne.NewPos(1, 1), []fyne.URI{storage.NewFileURI(bad)})
	await(t, "the tampered file", ch)
	d := texts(in.detail)
	if strings.Contains(d, "Verified") || !strings.Contains(d, " — ") {
		t.Errorf("tampered .eml:\n%s", d)
	}
	if u.tabs.Selected() != in.item {
		t.Error("dropping an .eml did not switch to the Inbox")
	}
}

func TestLockedSettingNotEditable(t *testing.T) {
	u := newDemoUI(t, nil)
	var locked, editable int
	for _, it := range u.settings.form.Items {
		c, ok := it.Widget.(*fyne.Container)
		if !ok {
			continue
		}
		for _, o := range c.Objects {
			if e, ok := o.(*focusEntry); ok {
				if e.Disabled() {
					locked++
				} else {
					editable++
				}
			}
		}
	}
	if locked == 0 || editable != 0 {
		t.Errorf("locked settings: %d disabled, %d editable", locked, editable)
	}
	u.tabs.Select(u.settings.item)
	u.settings.showSection(sectionAccounts)
	if !strings.Contains(texts(u.settings.item.Content), "Fixed in demo mode") {
		t.Error("no lock note")
	}
}

func findButton(t *testing.T, o fyne.CanvasObject, text string) *widget.Button {
	t.Helper()
	var found *widget.Button
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch v := o.(type) {
		case *widget.Button:
			if v.Text == text {
				found = v
			}
		case *focusButton:
			if v.Text == text {
				found = &v.Button
			}
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case *container.Scroll:
			walk(v.Content)
		}
	}
	walk(o)
	if found == nil {
		t.Fatalf("no %q button", text)
	}
	return found
}

func TestDuplicateWarningAndStoredDocument(t *testing.T) {
	doc := filepath.Join(t.TempDir(), "rx.pdf")
	os.WriteFile(doc, []byte("%PDF-1.4\n"), 0o600)
	var asked []string
	u := newDemoUI(t, func(c *Config) {
		c.Fetch = func(context.Context) ([]Received, error) {
			return []Received{{Key: "7", Received: time.Now(), Source: "mailbox", Duplicate: "The same document arrived before as #3.",
				Report: &receive.Report{Verdict: receive.Verified, From: "clinician@demo.test", Subject: "Prescription",
					Documents: []receive.Document{{Name: "rx.pdf", ContentType: "application/pdf", Size: 9}}}}}, nil
		}
		c.Document = func(key string, n int, _ desk.Confirmations) (string, error) {
			asked = append(asked, fmt.Sprintf("%s/%d", key, n))
			return doc, nil
		}
	})
	in := u.inbox
	fetched := expect(&in.fetchDone)
	test.Tap(in.check)
	await(t, "fetch", fetched)
	in.list.Select(0)
	d := texts(in.detail)
	if !strings.Contains(d, "Arrived before") || !strings.Contains(d, "#3") {
		t.Errorf("no duplicate warning:\n%s", d)
	}
	test.Tap(findButton(t, in.detail, "Open"))
	if len(asked) != 1 || asked[0] != "7/0" {
		t.Errorf("document asked for: %v", asked)
	}
}

func TestRecipientWithoutKeyRefusedWhenEncryptionRequired(t *testing.T) {
	sent := false
	u := newDemoUI(t, func(c *Config) {
		c.EncryptionRequired = func(string) bool { return true }
		c.Recipients = append(c.Recipients, Recipient{Name: "Old Pharmacy", Address: "old@pharmacy.test", KeyState: "none"})
		c.Outbox = nil // the direct path
		c.Send = func(context.Context, *send.Message, func(int64)) (*send.Result, error) {
			sent = true
			return nil, context.Canceled
		}
	})
	s := u.send
	addSamples(t, s)
	s.to.SetText("old@pharmacy.test")
	pressSend(t, s)
	if got := texts(s.problem); !strings.Contains(got, "old@pharmacy.test has no key, and your organisation requires messages to them to be encrypted") {
		t.Errorf("problem:\n%s", got)
	}
	if sent {
		t.Error("sent to a recipient without a key")
	}
	if k := s.keyState; !k.Visible() || !strings.HasPrefix(k.Text, "No key: cannot send, your organisation requires encryption") {
		t.Errorf("key state under the To field: %q (shown %v)", k.Text, k.Visible())
	}
}

func TestCtrlEnterSends(t *testing.T) {
	var got *send.Message
	u := newDemoUI(t, func(c *Config) {
		c.Outbox = nil // the direct path
		c.Send = func(_ context.Context, m *send.Message, _ func(int64)) (*send.Result, error) {
			got = m
			return nil, context.Canceled
		}
	})
	s := u.send
	addSamples(t, s)
	s.noNHI.SetChecked(true)
	// Ctrl+Enter shows the check step; pressed again, it sends.
	press(t, u.UI, fyne.KeyReturn, fyne.KeyModifierShortcutDefault)
	if !s.check.Visible() {
		t.Fatalf("Ctrl+Enter: no check step; problem %s", texts(s.problem))
	}
	sent := expect(&s.sendDone)
	press(t, u.UI, fyne.KeyReturn, fyne.KeyModifierShortcutDefault)
	await(t, "send", sent)
	if got == nil || len(got.Documents) != 2 || got.To[0].Address != demomail.Pharmacy {
		t.Errorf("Ctrl+Enter sent %+v", got)
	}
}

// thumbOf is the picture (or type icon) at the left of a document row.
func thumbOf(t *testing.T, row fyne.CanvasObject) fyne.CanvasObject {
	t.Helper()
	for _, o := range row.(*fyne.Container).Objects {
		if c, ok := o.(*fyne.Container); ok && len(c.Objects) == 1 {
			switch c.Objects[0].(type) {
			case *canvas.Image, *widget.Icon:
				return c.Objects[0]
			}
		}
	}
	t.Fatal("no thumbnail in the document row")
	return nil
}

// TestPDFThumbnailOrPageCountTile: a PDF is listed with its rendered first
// page when one can be made (pdftoppm), and with the type icon and its
// page count when not.
func TestPDFThumbnailOrPageCountTile(t *testing.T) {
	samples, err := assets.WriteSamples(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var pdf string
	for _, p := range samples {
		if strings.HasSuffix(p, ".pdf") {
			pdf = p
		}
	}
	add := func(thumbnail func(*doccheck.Info, int) (image.Image, error)) (fyne.CanvasObject, string) {
		t.Helper()
		u := New(newTestApp(t), Config{Demo: true, Home: home.Home{Dir: t.TempDir()}, TempDir: t.TempDir()})
		u.send.thumbnail = thumbnail
		added := expect(&u.send.addDone)
		u.send.addPaths([]string{pdf})
		await(t, "add", added)
		if len(u.send.docBox.Objects) != 1 {
			t.Fatalf("%d rows: %s", len(u.send.docBox.Objects), texts(u.send.refused))
		}
		row := u.send.docBox.Objects[0]
		return thumbOf(t, row), texts(row)
	}

	// No renderer, or a failing one: the icon and the page count.
	thumb, text := add(func(*doccheck.Info, int) (image.Image, error) { return nil, doccheck.ErrNoPDFRenderer })
	if _, ok := thumb.(*widget.Icon); !ok || !strings.Contains(text, "PDF · 2 pages") {
		t.Errorf("without a rendered page: %T\n%s", thumb, text)
	}

	// A rendered first page is shown, with the page count beside it.
	page := image.NewRGBA(image.Rect(0, 0, 68, 96))
	thumb, text = add(func(info *doccheck.Info, max int) (image.Image, error) {
		if info.Kind != doccheck.PDF || max < 48 {
			t.Errorf("thumbnail asked for %s at %d", info.Kind, max)
		}
		return page, nil
	})
	if ci, ok := thumb.(*canvas.Image); !ok || ci.Image != page || !strings.Contains(text, "PDF · 2 pages") {
		t.Errorf("with a rendered page: %T\n%s", thumb, text)
	}

	// The real renderer, when installed.
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		// scripts/install-deps.sh installs poppler-utils: CI must run this.
		if os.Getenv("CI") == "true" {
			t.Fatalf("pdftoppm (poppler-utils) is not installed (CI=true, so this is a failure, not a skip): %v", err)
		}
		t.Skipf("pdftoppm (poppler-utils) is not installed: %v", err)
	}
	if thumb, _ = add(doccheck.Thumbnail); thumb == nil {
		t.Fatal("no thumbnail")
	} else if _, ok := thumb.(*canvas.Image); !ok {
		t.Errorf("pdftoppm is installed but the PDF shows %T", thumb)
	}
}

// waitNoFetch waits (up to 30 s) until no inbox fetch of u is under way.
func waitNoFetch(t *testing.T, u *UI) {
	t.Helper()
	pumpUntil(t, "an inbox fetch set off by the test", 30*time.Second, func() bool { return !u.inbox.isFetching() })
}
