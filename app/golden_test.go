package app

import (
	"context"
	"image"
	"net/mail"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/assets"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/doccheck"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// goldenUI is a demo-like window with fixed addresses and no live server,
// so its pictures do not change from run to run.
func goldenUI(t *testing.T) *UI {
	t.Helper()
	samples, err := assets.WriteSamples(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	fixed := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	cfg := Config{
		Home:       home.Home{Dir: "/home/demo/.config/securesend"},
		Demo:       true,
		From:       mail.Address{Name: "Dr Demo Clinician, Demo Medical Centre", Address: "clinician@demo.test"},
		Recipients: []Recipient{{Name: "Demo Pharmacy", Address: "pharmacy@demo.test", KeyState: "pinned"}},
		OwnKey:     pgp.Fingerprint("C512C5B599A93A7536E40D945806522738FE618E").Grouped(),
		Send: func(context.Context, *send.Message, func(int64)) (*send.Result, error) {
			return nil, context.Canceled
		},
		InboxOwner: "pharmacy@demo.test",
		Samples:    samples,
		Protection: "Signed and encrypted (OpenPGP)",
		Settings:   []Setting{{Name: "Mail server (sending)", Value: "127.0.0.1:465", Locked: true, LockNote: "Fixed in demo mode"}},
		Now:        func() time.Time { return fixed },
		TempDir:    t.TempDir(),
		Outbox:     &OutboxConfig{}, // the Sent tab, fed by hand below
		// Settings: an account store in memory, with the organisation's
		// template, and the watch (never started here).
		Accounts: &AccountsConfig{Store: storeAccounts{account.NewStore(home.Home{Dir: t.TempDir()}, demomail.NewSecrets())},
			Templates: []profile.AccountTemplate{{Name: "Harbour Medical mailbox", SMTPHost: "mail.harbourmedical.test", SMTPPort: 465, SMTPSecurity: "tls", Auth: "password"}}},
		Watch: func(ctx context.Context, _ desk.WatchOptions) error { <-ctx.Done(); return nil },
	}
	u := New(newTestApp(t), cfg)
	u.buildAll()
	// The same pictures whether or not pdftoppm is installed: PDFs show
	// the page-count tile.
	u.send.thumbnail = func(info *doccheck.Info, max int) (image.Image, error) {
		if info.Kind == doccheck.PDF {
			return nil, doccheck.ErrNoPDFRenderer
		}
		return doccheck.Thumbnail(info, max)
	}
	u.win.Resize(fyne.NewSize(1024, 720))
	return u
}

// relayout lays the whole window out again, as the desktop driver does on
// its next frame when sizes change (the test driver does not).
func relayout(u *UI) {
	s := u.win.Canvas().Size()
	u.win.Resize(s.AddWidthHeight(1, 1))
	u.win.Resize(s)
}

func fixedResult() *send.Result {
	start := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	return &send.Result{
		MessageID: "3gbsrjjrfbvnsg6cc6wj6ca5da@demo.test",
		Server:    "127.0.0.1:465", Security: "tls",
		Started: start, Finished: start.Add(42 * time.Millisecond),
		Reply:    send.Reply{Code: 250, EnhancedCode: "2.0.0", Text: "Ok: queued as DEMOABC1"},
		QueueID:  "DEMOABC1",
		Accepted: []send.RecipientResult{{Address: "pharmacy@demo.test", Reply: send.Reply{Code: 250}}},
		TLS: send.TLSInfo{Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ServerName: "127.0.0.1",
			CertSubject: "CN=localhost", CertIssuer: "CN=securesend demo CA", CertSHA256: "6fc705350fdd3831d29d864b080ca929ee718daefab649dd6b8e6f1ec424cccf",
			CertExpiry: start.AddDate(1, 0, 0)},
		RequireTLS: true, AuthMechanism: "PLAIN", Size: 36868,
		Documents: []send.DocumentInfo{{Name: "sample-prescription.pdf", ContentType: "application/pdf", Size: 2547, SHA256: "749299c0139afb3746f9eb36c07e65a820afcf0f75f5304d7b69a37639bd5154"}},
	}
}

func TestGoldenScreens(t *testing.T) {
	local := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { time.Local = local })

	u := goldenUI(t)
	test.AssertRendersToImage(t, "send_empty.png", u.win.Canvas())

	added := expect(&u.send.addDone)
	u.send.addPaths(u.cfg.Samples)
	await(t, "add", added)
	test.Type(u.send.nhiEntry, "ZZZ0017")
	relayout(u)
	test.AssertRendersToImage(t, "send_documents_bad_nhi.png", u.win.Canvas())

	u.send.form.Hide()
	u.send.confirm.show(fixedResult(), summary{NHI: "ZZZ0016", DocType: "Prescription", To: []mail.Address{{Name: "Demo Pharmacy", Address: "pharmacy@demo.test"}}})
	relayout(u)
	test.AssertRendersToImage(t, "confirmation.png", u.win.Canvas())
	// Technical details unfolded: long values in groups, hashes
	// shortened with a Copy button.
	for _, o := range test.LaidOutObjects(u.send.confirm.body) {
		if acc, ok := o.(*widget.Accordion); ok {
			acc.Open(0)
		}
	}
	relayout(u)
	for _, o := range u.send.confirm.root.Objects {
		if sc, ok := o.(*container.Scroll); ok {
			sc.ScrollToBottom()
		}
	}
	test.AssertRendersToImage(t, "confirmation_technical.png", u.win.Canvas())

	// The Sent tab (the outbox lists oldest first): one that may have been
	// sent, one deferred, and a sent job with its confirmation.
	u.tabs.Select(u.sent.item)
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	docs := fixedResult().Documents
	env := send.Envelope{From: "clinician@demo.test", To: []string{"pharmacy@demo.test"}}
	u.sent.apply([]*outbox.Record{
		{ID: "9b8a7c6d5e4f40312a1b2c3d4e5f6071", Job: outbox.Job{Envelope: env, MessageID: "k3@demo.test"},
			Documents: docs, State: outbox.PossiblySent, Attempts: 1, Created: at.Add(-time.Hour), LastAttempt: at.Add(-time.Hour),
			LastError: "the connection was lost after the message was transmitted, before the server confirmed it; it may have been received"},
		{ID: "7a0e4f2b9c1d4e3f8a6b5c4d3e2f1a0b", Job: outbox.Job{Envelope: send.Envelope{From: env.From, To: []string{"dispensary@pharmacy.test"}}, MessageID: "k2@demo.test"},
			Documents: docs, State: outbox.Deferred, Attempts: 2, Created: at.Add(-20 * time.Minute), LastAttempt: at.Add(-2 * time.Minute), NextAttempt: at.Add(2 * time.Minute),
			LastError: "send: dial: temporary failure; the message can be retried later: dial tcp 10.0.0.5:465: connect: connection refused"},
		{ID: "3f1c0b6e9a2d4c8b8e5f7a1d2c3b4a59", Job: outbox.Job{Envelope: env, MessageID: "3gbsrjjrfbvnsg6cc6wj6ca5da@demo.test", Encrypted: true, Signed: true,
			Subject: "Prescription", PatientNHI: "ZZZ0016", ToNames: []string{"Demo Pharmacy"}},
			Documents: docs, State: outbox.Sent, Attempts: 1, Created: at, LastAttempt: at, Result: fixedResult()},
	}, nil)
	u.sent.selectJob("9b8a7c6d5e4f40312a1b2c3d4e5f6071")
	relayout(u)
	test.AssertRendersToImage(t, "sent_possibly_sent.png", u.win.Canvas())
	u.sent.selectJob("3f1c0b6e9a2d4c8b8e5f7a1d2c3b4a59")
	relayout(u)
	test.AssertRendersToImage(t, "sent_confirmation.png", u.win.Canvas())

	u.tabs.Select(u.inbox.item)
	date := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	u.inbox.setItems([]Received{
		{Key: "2", Received: date, Source: "mailbox", Report: &receive.Report{
			Verdict: receive.BadSignature, Reason: "The signature does not match the content: the message was changed after it was signed.",
			SignerFingerprint: "8DF7D71A707A6353D6D77A395EDD4D4F66D5BE8F", From: "someone@example.test", Subject: "Prescription", Date: date}},
		{Key: "1", Received: date.Add(-time.Hour), Source: "mailbox", Report: &receive.Report{
			Verdict: receive.Verified, Encrypted: true, SignerUserID: "Dr Demo Clinician <clinician@demo.test>",
			SignerFingerprint: "C512C5B599A93A7536E40D9458065227 38FE618E", From: "clinician@demo.test", Subject: "Prescription",
			MessageID: "x@demo.test", Date: date.Add(-time.Hour), Note: "Please dispense as written.",
			To:     []string{"pharmacy@demo.test"},
			Signed: receive.SignedFields{From: true, To: true, Subject: true, Date: true, MessageID: true}, SubjectSigned: true,
			Manifest: &manifest.Manifest{Version: 1, MessageID: "x@demo.test", DocumentType: "prescription", PatientNHI: "ZZZ0016",
				Recipients: []string{"pharmacy@demo.test"}},
			Documents: []receive.Document{{Name: "sample-prescription.pdf", ContentType: "application/pdf", Size: 2547, SHA256: "749299c0139afb3746f9eb36c07e65a820afcf0f75f5304d7b69a37639bd5154"}}}},
	})
	u.inbox.list.Select(1)
	relayout(u)
	test.AssertRendersToImage(t, "inbox_verified.png", u.win.Canvas())
	u.inbox.list.Select(0)
	relayout(u)
	test.AssertRendersToImage(t, "inbox_bad_signature.png", u.win.Canvas())

	// With the pharmacist's own account: the answer already sent, and
	// Reject… still offered.
	u.cfg.Acknowledge = &ackLog{now: func() time.Time { return date }, sent: map[string][]desk.SentAck{
		"1": {{Kind: ack.Received, Time: date.Add(-59 * time.Minute)}, {Kind: ack.Accepted, Time: date.Add(2 * time.Minute)}}}}
	answered := expect(&u.inbox.ackDone)
	u.inbox.list.Select(1)
	await(t, "answers", answered)
	relayout(u)
	for _, o := range test.LaidOutObjects(u.inbox.item.Content) {
		if sc, ok := o.(*container.Scroll); ok && sc.Direction == container.ScrollVerticalOnly {
			sc.ScrollToBottom()
		}
	}
	test.AssertRendersToImage(t, "inbox_answered.png", u.win.Canvas())
	u.cfg.Acknowledge = nil

	// A verified scan previewed in the app.
	var tif string
	for _, p := range u.cfg.Samples {
		if strings.HasSuffix(p, ".tif") {
			tif = p
		}
	}
	u.inbox.list.UnselectAll()
	u.inbox.showDetail(Received{Key: "3", Received: date, Source: "mailbox", Report: &receive.Report{
		Verdict: receive.Verified, Encrypted: true, SignerUserID: "Dr Demo Clinician <clinician@demo.test>",
		SignerFingerprint: "C512C5B599A93A7536E40D945806522738FE618E", From: "clinician@demo.test", Subject: "Referral",
		Date: date, Signed: receive.SignedFields{From: true, Subject: true, Date: true}, SubjectSigned: true,
		Documents: []receive.Document{{Name: "sample-referral.tif", ContentType: "image/tiff", Size: 5210, Path: tif,
			SHA256: "0f4c5e0d9a3b2c1d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5"}}}})
	previewed := expect(&u.inbox.previewDone)
	test.Tap(findButton(t, u.inbox.detail, "Preview"))
	await(t, "preview", previewed)
	relayout(u)
	for _, o := range test.LaidOutObjects(u.inbox.item.Content) {
		if sc, ok := o.(*container.Scroll); ok && sc.Direction == container.ScrollVerticalOnly {
			sc.ScrollToBottom()
		}
	}
	test.AssertRendersToImage(t, "inbox_preview.png", u.win.Canvas())

	u.tabs.Select(u.settings.item)
	u.settings.showSection(sectionAccounts)
	relayout(u)
	test.AssertRendersToImage(t, "settings_locked.png", u.win.Canvas())

	// Adding an account: Other, with problems under their fields.
	a := u.settings.accounts
	a.preset.SetSelected(presetCustom)
	a.name.SetText("practice")
	a.smtp.SetText("mail.harbourmedical.test")
	test.Tap(a.addBtn)
	u.win.Canvas().Unfocus()
	for _, o := range u.settings.pane.Objects {
		for _, c := range test.LaidOutObjects(o) {
			if sc, ok := c.(*container.Scroll); ok {
				sc.ScrollToBottom()
			}
		}
	}
	relayout(u)
	test.AssertRendersToImage(t, "settings_account_errors.png", u.win.Canvas())

	u.settings.showSection(sectionOwnKey)
	relayout(u)
	test.AssertRendersToImage(t, "settings_your_key.png", u.win.Canvas())
	u.settings.showSection(sectionWatch)
	relayout(u)
	test.AssertRendersToImage(t, "settings_watch.png", u.win.Canvas())

	// At 150% on an 800×600 screen the Send tab's columns stack and Send
	// securely stays in sight.
	u.tabs.Select(u.send.item)
	u.send.reset()
	added = expect(&u.send.addDone)
	u.send.addPaths(u.cfg.Samples)
	await(t, "add", added)
	u.win.Resize(fyne.NewSize(800/1.5, 600/1.5))
	relayout(u)
	test.AssertRendersToImage(t, "send_800x600_150.png", u.win.Canvas())
	// The Sent tab there: the list above the sent message's detail.
	u.tabs.Select(u.sent.item)
	u.sent.selectJob("3f1c0b6e9a2d4c8b8e5f7a1d2c3b4a59")
	relayout(u)
	test.AssertRendersToImage(t, "sent_800x600_150.png", u.win.Canvas())
}
