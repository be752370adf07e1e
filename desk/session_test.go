package desk

import (
	"bytes"
	"context"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// startDemo starts the demo mail system for the test.
func startDemo(t *testing.T) *demomail.System {
	t.Helper()
	sys, err := demomail.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sys.Close() })
	return sys
}

// privTemp is a private temporary folder for the test.
func privTemp(t *testing.T) *privtemp.Dir {
	t.Helper()
	tmp, err := privtemp.New(t.TempDir())
	if tmp == nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tmp.Close() })
	return tmp
}

// demoDoc is a small PDF for the test.
func demoDoc(t *testing.T) string {
	t.Helper()
	doc := filepath.Join(t.TempDir(), "prescription.pdf")
	if err := os.WriteFile(doc, []byte("%PDF-1.4\n% TEST ONLY\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return doc
}

// sendVia queues m in ob and delivers it.
func sendVia(t *testing.T, ob *Outbox, m *send.Message) *outbox.Record {
	t.Helper()
	id, err := ob.Queue(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ob.Deliver(context.Background(), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestDemoDesksSendFetchVerify: demo mode is the desk over the demo mail
// system. The clinician's demo Desk sends signed and encrypted (the NHI
// in the subject never in the clear) through its outbox; the pharmacy's
// demo Desk fetches it into its encrypted inbox as Verified and opens the
// document; a copy altered in transit is not Verified and withholds its
// documents. Nothing of it needs the OS keychain or writes an audit log.
func TestDemoDesksSendFetchVerify(t *testing.T) {
	sys := startDemo(t)
	if _, err := OpenDemoAs(sys, "someone@example.org", t.TempDir(), DemoOptions{}); err == nil {
		t.Error("a demo desk for an address that is not a demo identity")
	}
	clin, err := OpenDemo(sys, t.TempDir(), DemoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pharm, err := OpenDemoAs(sys, demomail.Pharmacy, t.TempDir(), DemoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !clin.Demo() || !pharm.Demo() {
		t.Error("demo desks do not say so")
	}
	if _, err := pharm.Audit(); !errors.Is(err, ErrDemoNoAudit) {
		t.Errorf("a demo desk's audit log: %v", err)
	}
	ob, err := clin.Outbox(OutboxOptions{Via: Via{Account: DemoAccount}})
	if err != nil {
		t.Fatal(err)
	}
	rec := sendVia(t, ob, &send.Message{
		From:      mail.Address{Name: "Dr Demo", Address: demomail.Clinician},
		To:        []mail.Address{{Address: demomail.Pharmacy}},
		Subject:   "Prescription for ZZZ0016",
		Note:      "Please dispense.",
		Documents: []send.Document{{Path: demoDoc(t)}},
	})
	if rec.State != outbox.Sent || !rec.Signed || rec.Result == nil || !rec.Result.Encrypted || !rec.Result.RequireTLS {
		t.Fatalf("sent: %+v", rec)
	}
	raw, err := sys.Fetch(context.Background(), demomail.Pharmacy)
	if err != nil || len(raw) != 1 {
		t.Fatalf("the pharmacy's mailbox: %d, %v", len(raw), err)
	}
	if bytes.Contains(raw[0].Raw, []byte("ZZZ0016")) {
		t.Error("the NHI in the subject travelled in the clear")
	}

	if _, err := pharm.Fetch(context.Background(), FetchOptions{Account: DemoAccountName(demomail.Pharmacy)}); err != nil {
		t.Fatal(err)
	}
	all, err := pharm.ReceivedAll()
	if err != nil || len(all) != 1 {
		t.Fatalf("the pharmacy's inbox: %d, %v", len(all), err)
	}
	rep := all[0].Report
	if rep.Verdict != receive.Verified || !rep.Encrypted || rep.Subject != "Prescription for ZZZ0016" || len(rep.Documents) != 1 {
		t.Fatalf("report: %s %s %+v", rep.Verdict, rep.Reason, rep)
	}
	doc, err := pharm.OpenDocument(all[0].Item.ID, 0, OpenOptions{Temp: privTemp(t)})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(doc.Path); err != nil || !bytes.HasPrefix(b, []byte("%PDF-1.4")) {
		t.Errorf("opened document: %q, %v", b, err)
	}

	tampered := bytes.Clone(raw[0].Raw)
	i := bytes.Index(tampered, []byte("-----BEGIN PGP MESSAGE-----")) + 200
	tampered[i] ^= 0x01
	v, err := pharm.Verify(context.Background(), bytes.NewReader(tampered), VerifyOptions{})
	if err == nil && (v.Report.Verdict == receive.Verified || !Withheld(v.Report)) {
		t.Errorf("altered in transit: %s, withheld %v", v.Report.Verdict, Withheld(v.Report))
	}
}

// TestSessionDemo: with no account (here: the demo asked for), the
// Session is the demo: the clinician sends to the pharmacy, whose pinned
// key the Send tab offers, through the clinician desk's outbox (its
// changes reported with that outbox); the inbox is the pharmacy's, where
// the message arrives Verified and its document opens; the Setup is the
// same each time, and no account is in use.
func TestSessionDemo(t *testing.T) {
	sys := startDemo(t)
	d, _ := testDesk(t)
	var mu sync.Mutex
	var notified []*Outbox
	s, err := d.OpenSession(context.Background(), SessionOptions{
		Temp: privTemp(t), Demo: true, System: sys,
		Notify: func(o *Outbox, _ outbox.Record) {
			mu.Lock()
			notified = append(notified, o)
			mu.Unlock()
		},
		Samples: func(dir string) ([]string, error) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
			p := filepath.Join(dir, "sample.pdf")
			return []string{p}, os.WriteFile(p, []byte("%PDF-1.4\n%%EOF\n"), 0o600)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Setup()
	if err != nil {
		t.Fatal(err)
	}
	clin, _ := sys.Identity(demomail.Clinician)
	if !st.Demo || st.From.Address != demomail.Clinician || st.InboxOwner != demomail.Pharmacy || st.Account.Name != DemoAccount ||
		st.OwnKey != clin.Fingerprint.Grouped() || len(st.Samples) != 1 || !st.CanFetch() {
		t.Fatalf("demo setup: %+v", st)
	}
	if st.Acknowledger() != nil {
		t.Error("the demo acknowledges")
	}
	if len(st.Recipients) != 1 || st.Recipients[0].Address != demomail.Pharmacy || st.Recipients[0].KeyState != "pinned" || st.Recipients[0].Name != "Demo Pharmacy" {
		t.Errorf("recipients: %+v", st.Recipients)
	}
	if _, err := s.InUse(); !errors.Is(err, ErrNoAccountInUse) {
		t.Errorf("account in use in demo mode: %v", err)
	}
	rec := sendVia(t, st.Outbox, &send.Message{From: st.From, To: []mail.Address{{Address: demomail.Pharmacy}},
		Subject: "Prescription", Documents: []send.Document{{Path: st.Samples[0]}}})
	if rec.State != outbox.Sent || !rec.Signed {
		t.Fatalf("sent: %+v", rec)
	}
	mu.Lock()
	if len(notified) == 0 || notified[0] != st.Outbox {
		t.Errorf("outbox changes reported for %v, not the demo's outbox", notified)
	}
	mu.Unlock()
	items, err := st.Fetch(context.Background())
	if err != nil || len(items) != 1 || items[0].Report.Verdict != receive.Verified {
		t.Fatalf("demo inbox: %+v, %v", items, err)
	}
	path, err := st.Document(items[0].Item.ID, 0, Confirmations{})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.HasPrefix(b, []byte("%PDF-1.4")) {
		t.Errorf("opened document: %q", b)
	}
	if f, err := st.Failures(); err != nil || len(f) != 0 {
		t.Errorf("failures: %v, %v", f, err)
	}
	again, err := s.Setup()
	// The same demo (its outbox and inbox stay), its keys read again.
	if err != nil || again.Outbox != st.Outbox || again.recv != st.recv || again.Account != st.Account {
		t.Errorf("a second setup is not the same demo: %v", err)
	}
}

// TestSessionFollowsAccountsAndKeys: the Session's Setup is made from the
// home as it is each time: the demo without an account, the account once
// one is added (and the same one while it exists), the user's key once it
// is created, the account chosen with Use (also after a restart), the
// other account when the one in use is removed, the demo again when the
// last one is; the home's outbox queues only from the account in use.
func TestSessionFollowsAccountsAndKeys(t *testing.T) {
	requireKeychain(t)
	sys := startDemo(t)
	d, _ := testDesk(t)
	open := func() *Session {
		s, err := d.OpenSession(context.Background(), SessionOptions{Temp: privTemp(t), System: sys})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s := open()
	setup := func(s *Session) *Setup {
		t.Helper()
		st, err := s.Setup()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := setup(s)
	if !st.Demo {
		t.Fatal("without an account: not the demo")
	}
	demoOutbox := st.Outbox

	store := d.Accounts()
	add := func(name string) {
		t.Helper()
		if err := store.Add(account.Account{
			Name: name, Email: name + "@example.org", Auth: account.AuthPassword,
			SMTP: account.Server{Address: "smtp.example.org:465", Security: account.ImplicitTLS},
			IMAP: account.Server{Address: "imap.example.org:993", Security: account.ImplicitTLS},
		}, account.Credentials{Password: "pw"}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Remove(name) })
	}
	add("desk")
	st = setup(s)
	if st.Demo || st.Account.Name != "desk" || st.From.Address != "desk@example.org" || st.InboxOwner != "desk@example.org" ||
		!st.CanFetch() || st.Outbox == nil || st.Outbox == demoOutbox {
		t.Fatalf("after adding an account: %+v", st)
	}
	if st.OwnKey != "" || !strings.HasPrefix(st.OwnKeyNote, "none yet") {
		t.Errorf("own key before creating one: %q, %q", st.OwnKey, st.OwnKeyNote)
	}
	homeOutbox := st.Outbox
	ks, err := d.Keys()
	if err != nil {
		t.Fatal(err)
	}
	own, err := ks.Generate("Desk TEST ONLY", "desk@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if st = setup(s); st.OwnKey != own.Fingerprint.Grouped() || st.OwnKeyNote != st.OwnKey {
		t.Errorf("own key after creating it: %q, %q", st.OwnKey, st.OwnKeyNote)
	}

	add("another")
	if st = setup(s); st.Account.Name != "desk" {
		t.Fatalf("a second account took over: %q", st.Account.Name)
	}
	if err := s.Use("nonexistent"); err == nil {
		t.Error("use of an unknown account: no error")
	}
	if err := s.Use("another"); err != nil {
		t.Fatal(err)
	}
	if st = setup(s); st.Account.Name != "another" || st.From.Address != "another@example.org" {
		t.Fatalf("after using the second account: %q", st.Account.Name)
	}
	if st := setup(open()); st.Account.Name != "another" {
		t.Fatalf("after a restart: %q", st.Account.Name)
	}
	if err := s.Use("desk"); err != nil {
		t.Fatal(err)
	}
	store.Remove("desk")
	if st = setup(s); st.Account.Name != "another" || st.Outbox != homeOutbox {
		t.Fatalf("after removing the account in use: %q", st.Account.Name)
	}
	if name, err := s.InUse(); name != "another" || err != nil {
		t.Errorf("in use: %q, %v", name, err)
	}
	if st.OwnKey != "" || !strings.Contains(st.OwnKeyNote, "none for another@example.org") {
		t.Errorf("own key for another address: %q, %q", st.OwnKey, st.OwnKeyNote)
	}
	_, err = st.Outbox.Queue(context.Background(), &send.Message{
		From: mail.Address{Address: "desk@example.org"}, To: []mail.Address{{Address: "pharmacy@example.org"}},
		Subject: "Referral", Documents: []send.Document{{Path: demoDoc(t)}},
	})
	if err == nil || !strings.Contains(err.Error(), "the account in use, another") {
		t.Errorf("queued from a removed account's address: %v", err)
	}

	store.Remove("another")
	if st = setup(s); !st.Demo || st.Outbox != demoOutbox {
		t.Fatalf("after removing every account: demo %v", st.Demo)
	}
}

// TestSessionAccountSendFetch: with a real account (the demo pharmacy's
// mailbox, over TLS with a private CA, in a home), the Session sends
// through the home's outbox (signed with the user's key, delivered with
// the account) and fetches into the home's encrypted inbox store.
func TestSessionAccountSendFetch(t *testing.T) {
	requireKeychain(t)
	sys := startDemo(t)
	d, _ := testDesk(t)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, sys.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ph, _ := sys.Account(demomail.Pharmacy)
	store := d.Accounts()
	if err := store.Add(account.Account{
		Name: "pharmacy", Email: ph.Address, User: ph.Address, Auth: account.AuthPassword, CAFile: ca,
		SMTP: account.Server{Address: sys.SMTPAddr, Security: account.ImplicitTLS},
		IMAP: account.Server{Address: sys.IMAPAddr, Security: account.ImplicitTLS},
	}, account.Credentials{Password: ph.Password}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Remove("pharmacy") })
	ks, err := d.Keys()
	if err != nil {
		t.Fatal(err)
	}
	own, err := ks.Generate("Demo Pharmacy TEST ONLY", ph.Address)
	if err != nil {
		t.Fatal(err)
	}
	s, err := d.OpenSession(context.Background(), SessionOptions{Temp: privTemp(t), System: sys})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Setup()
	if err != nil || st.Demo || st.Account.Name != "pharmacy" {
		t.Fatalf("setup: %+v, %v", st, err)
	}
	if st.Acknowledger() != d {
		t.Error("the account's Setup does not acknowledge through its Desk")
	}
	rec := sendVia(t, st.Outbox, &send.Message{From: st.From, To: []mail.Address{{Address: demomail.Clinician}},
		Subject: "Acknowledgement", Documents: []send.Document{{Path: demoDoc(t)}}})
	if rec.State != outbox.Sent || rec.Account != "pharmacy" || !rec.Signed || rec.Result.SignerFingerprint != string(own.Fingerprint) {
		t.Errorf("outbox job: %+v", rec)
	}
	if _, err := os.Stat(d.Home().Path("outbox")); err != nil {
		t.Errorf("the outbox is not in the home: %v", err)
	}

	// The clinician's demo desk sends to the pharmacy's mailbox.
	clin, err := OpenDemo(sys, t.TempDir(), DemoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := clin.Outbox(OutboxOptions{Via: Via{Account: DemoAccount}})
	if err != nil {
		t.Fatal(err)
	}
	sendVia(t, ob, &send.Message{From: mail.Address{Address: demomail.Clinician}, To: []mail.Address{{Address: demomail.Pharmacy}},
		Subject: "Prescription", Documents: []send.Document{{Path: demoDoc(t)}}})
	items, err := st.Fetch(context.Background())
	if err != nil || len(items) != 1 || items[0].Report.Verdict == "" {
		t.Fatalf("inbox: %+v, %v", items, err)
	}
	if again, err := st.Fetch(context.Background()); err != nil || len(again) != 1 {
		t.Errorf("second fetch: %d items, %v", len(again), err)
	}
}
