package desk

import (
	"bytes"
	"encoding/json"
	"errors"
	"github.com/securesend/securesend/ack"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// clinicHome is Alice's securesend home (the clinician's): her TEST ONLY
// secret key, Bob's public key pinned, and the account "clinic" that
// sends through a real SMTP server (implicit TLS, a private CA).
type clinicHome struct {
	d    *Desk
	smtp *accounttest.SMTPServer
	seen int // messages of smtp already passed on to Bob
}

func newClinicHome(t *testing.T) *clinicHome {
	t.Helper()
	requireKeychain(t)
	d, _ := testDesk(t)
	ownKeys(t, d, "alice", "bob")
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "alice@clinic.test", Password: "smtp-pass"}, accounttest.Options{})
	a := account.Account{Name: "clinic", Email: "alice@clinic.test", Auth: account.AuthPassword,
		SMTP: account.Server{Address: srv.Addr, Security: account.ImplicitTLS}, CAFile: pki.CAFile}
	if err := d.Accounts().Add(a, account.Credentials{Password: "smtp-pass"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Accounts().Remove("clinic") })
	return &clinicHome{d: d, smtp: srv}
}

// prescription is a message from Alice to Bob with one PDF.
func prescription(t *testing.T, content string) *send.Message {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rx.pdf")
	if err := os.WriteFile(p, []byte("%PDF-1.4\n"+content+"\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &send.Message{From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
		Subject: "Prescription", DocumentType: "prescription", Documents: []send.Document{{Path: p}}}
}

// deliver delivers job id through the clinic's account and returns its
// record.
func (c *clinicHome) deliver(t *testing.T, id JobID) *outbox.Record {
	t.Helper()
	ob, err := c.d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ob.Deliver(t.Context(), id, nil)
	if err != nil || rec.State != outbox.Sent {
		t.Fatalf("deliver %s: %v %+v", id, err, rec)
	}
	return rec
}

// send queues dr through the clinic's account, delivers it and returns
// its Message-ID.
func (c *clinicHome) send(t *testing.T, dr Draft) string {
	t.Helper()
	dr.Via = Via{Account: "clinic"}
	id, err := c.d.Send(t.Context(), dr)
	if err != nil {
		t.Fatal(err)
	}
	return c.deliver(t, id).MessageID
}

// cancel cancels messageID and delivers the cancellation.
func (c *clinicHome) cancel(t *testing.T, messageID, reason string) string {
	t.Helper()
	id, err := c.d.Cancel(t.Context(), messageID, reason)
	if err != nil {
		t.Fatal(err)
	}
	return c.deliver(t, id).MessageID
}

// mail returns the messages the SMTP server received since the last call.
func (c *clinicHome) mail() [][]byte {
	all := c.smtp.Messages()
	out := all[c.seen:]
	c.seen = len(all)
	return out
}

// pharmacy is Bob's home over a real IMAP server, with Mallory's key
// pinned as well (a pharmacy supplier, say): her mail is Verified, so
// only the signer rule can stop her cancelling Alice's prescription.
func pharmacy(t *testing.T) (*Desk, *accounttest.IMAPServer) {
	t.Helper()
	d, _, srv := bobsIMAPDesk(t)
	ks, err := d.Keys()
	if err != nil {
		t.Fatal(err)
	}
	pinPublic(t, ks, testKey(t, "mallory"))
	return d, srv
}

// fetch delivers raw to Bob's mailbox, fetches, and returns the items
// stored, by Message-ID.
func fetch(t *testing.T, d *Desk, srv *accounttest.IMAPServer, raws ...[]byte) {
	t.Helper()
	for _, raw := range raws {
		srv.Deliver(t, raw)
	}
	res, err := d.Fetch(t.Context(), FetchOptions{})
	if err != nil || len(res.New) != len(raws) {
		t.Fatalf("fetch: %v, %d new of %d", err, len(res.New), len(raws))
	}
}

// byMessageID returns Bob's inbox item with messageID.
func byMessageID(t *testing.T, d *Desk, messageID string) *receive.Item {
	t.Helper()
	st, err := d.Inbox()
	if err != nil {
		t.Fatal(err)
	}
	items, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		if items[i].MessageID == messageID {
			return &items[i]
		}
	}
	t.Fatalf("no item %s in %+v", messageID, items)
	return nil
}

// auditEvents returns the audit entries of d of kind.
func auditEvents(t *testing.T, d *Desk, kind audit.Kind) []audit.Entry {
	t.Helper()
	l, err := d.Audit()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var e audit.Entry
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// TestCancelAfterAndBeforeTheOriginal: Alice sends a prescription and
// cancels it; whichever order Bob's inbox fetches the two in, the original
// is marked cancelled with the reason and the time, the cancellation says
// what it did, its documents open only after a confirmation
// (*SupersededError), and both homes audit it.
func TestCancelAfterAndBeforeTheOriginal(t *testing.T) {
	for _, order := range []string{"after", "before"} {
		t.Run(order, func(t *testing.T) {
			c := newClinicHome(t)
			orig := c.send(t, Draft{Message: prescription(t, "amoxicillin 500mg")})
			origMail := c.mail()
			cancel := c.cancel(t, orig, "wrong dose: phone me")
			cancelMail := c.mail()
			if len(origMail) != 1 || len(cancelMail) != 1 {
				t.Fatalf("mail: %d and %d messages", len(origMail), len(cancelMail))
			}
			if ev := auditEvents(t, c.d, audit.SendCancellation); len(ev) != 1 || ev[0].Fields["old"] != orig || ev[0].Fields["state"] != "cancel" || ev[0].Fields["message_id"] != cancel {
				t.Errorf("clinic audit: %+v", ev)
			}

			bob, srv := pharmacy(t)
			if order == "after" {
				fetch(t, bob, srv, origMail[0])
				fetch(t, bob, srv, cancelMail[0])
			} else {
				fetch(t, bob, srv, cancelMail[0])
				if it := byMessageID(t, bob, cancel); it.Supersedes == nil || !it.Supersedes.Pending() {
					t.Fatalf("cancellation before its original: %+v", it.Supersedes)
				}
				fetch(t, bob, srv, origMail[0])
			}
			o, cl := byMessageID(t, bob, orig), byMessageID(t, bob, cancel)
			if o.Verdict != receive.Verified || cl.Verdict != receive.Verified {
				t.Fatalf("verdicts %s %s", o.Verdict, cl.Verdict)
			}
			s := o.Superseded
			if s == nil || s.Kind != manifest.Cancel || s.ByID != cl.ID || s.ByMessageID != cancel || s.Reason != "wrong dose: phone me" || s.At.IsZero() {
				t.Fatalf("original: Superseded %+v", s)
			}
			if b := SupersededBanner(s); !strings.HasPrefix(b, "CANCELLED by the sender at ") || !strings.HasSuffix(b, ": wrong dose: phone me. Do not dispense or act on it.") {
				t.Errorf("banner %q", b)
			}
			if note, warn := SupersedesNote(cl.Supersedes); warn || !strings.Contains(note, "now marked as cancelled") {
				t.Errorf("cancellation's note %q (warning %v)", note, warn)
			}
			if len(cl.Documents) != 0 {
				t.Errorf("the cancellation has %d documents", len(cl.Documents))
			}
			_, err := bob.OpenDocument(o.ID, 0, OpenOptions{Dir: t.TempDir()})
			var se *SupersededError
			if !errors.As(err, &se) || se.Superseded.Kind != manifest.Cancel {
				t.Fatalf("open a cancelled document: %v", err)
			}
			if _, err := bob.OpenDocument(o.ID, 0, OpenOptions{Dir: t.TempDir(), Confirmed: Confirmations{Superseded: true}}); err != nil {
				t.Errorf("open after the confirmation: %v", err)
			}
			// Accepting a cancelled script is refused by desk, whatever the
			// front end (the GUI hid the button; the CLI did not).
			if err := bob.Acknowledge(t.Context(), o.ID, ack.Accepted, ""); !errors.Is(err, ErrAckSuperseded) {
				t.Errorf("accept a cancelled message: %v, want ErrAckSuperseded", err)
			}
			ev := auditEvents(t, bob, audit.ReceiveSuperseded)
			if len(ev) == 0 || ev[len(ev)-1].Fields["state"] != "cancel applied to #"+o.ID || ev[len(ev)-1].Fields["old"] != orig {
				t.Errorf("pharmacy audit: %+v", ev)
			}
			if order == "before" && (len(ev) != 2 || ev[0].Fields["state"] != "cancel pending") {
				t.Errorf("pharmacy audit of the early cancellation: %+v", ev)
			}
		})
	}
}

// TestReplace: a replacement keeps one of the documents; the original is
// marked replaced by the new item, which is not flagged as a duplicate of
// what it replaces, and opens without a question.
func TestReplace(t *testing.T) {
	c := newClinicHome(t)
	m := prescription(t, "amoxicillin 500mg")
	orig := c.send(t, Draft{Message: m})
	repl := prescription(t, "amoxicillin 250mg")
	repl.Documents = append(repl.Documents, m.Documents[0]) // unchanged second page
	repl.Documents[1].Name = "page2.pdf"
	repl.Note = "dose corrected"
	newID := c.send(t, Draft{Message: repl, Replaces: "<" + orig + ">"})
	bob, srv := pharmacy(t)
	fetch(t, bob, srv, c.mail()...)
	o, r := byMessageID(t, bob, orig), byMessageID(t, bob, newID)
	if s := o.Superseded; s == nil || s.Kind != manifest.Replace || s.ByID != r.ID || s.Reason != "dose corrected" {
		t.Fatalf("original: %+v", o.Superseded)
	}
	if b := SupersededBanner(o.Superseded); !strings.Contains(b, "REPLACED by the sender at ") || !strings.Contains(b, "with message #"+r.ID+" ("+newID+")") {
		t.Errorf("banner %q", b)
	}
	if len(r.Duplicates) != 0 || r.Superseded != nil || r.Supersedes == nil || len(r.Supersedes.Applied) != 1 {
		t.Errorf("replacement: duplicates %+v, superseded %+v, supersedes %+v", r.Duplicates, r.Superseded, r.Supersedes)
	}
	if _, err := bob.OpenDocument(r.ID, 1, OpenOptions{Dir: t.TempDir()}); err != nil {
		t.Errorf("the replacement's documents open: %v", err)
	}
	// The clinic's manifest named the original's hashes, from its outbox.
	rep, err := mustInbox(t, bob).Report(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Manifest.Supersedes; s == nil || s.MessageID != orig || len(s.SHA256s) != 1 || s.SHA256s[0] != o.Documents[0].SHA256 {
		t.Errorf("manifest supersedes %+v", rep.Manifest.Supersedes)
	}
}

func mustInbox(t *testing.T, d *Desk) *receive.Store {
	t.Helper()
	st, err := d.Inbox()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestForgedCancellation: Mallory, whose key Bob pinned, sends a
// cancellation of Alice's prescription, before and after it arrives. It
// is Verified as Mallory's, but it changes nothing: the original stays
// current and opens without a question; the forged item carries the red
// warning naming both keys; it is audited as refused.
func TestForgedCancellation(t *testing.T) {
	for _, order := range []string{"after", "before"} {
		t.Run(order, func(t *testing.T) {
			c := newClinicHome(t)
			orig := c.send(t, Draft{Message: prescription(t, "amoxicillin 500mg")})
			origMail := c.mail()[0]
			forged := &send.Message{From: mail.Address{Address: "mallory@evil.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
				Subject: "CANCELLED: Prescription", Note: "do not dispense", Date: time.Now(), MessageID: "forged-1@evil.test",
				Supersedes: &manifest.Supersedes{MessageID: orig, Kind: manifest.Cancel}}
			mallory := testKey(t, "mallory")
			var buf bytes.Buffer
			if _, err := send.ComposeProtected(&buf, forged, send.Protection{Signer: mallory, Recipients: []*pgp.PublicKey{testKey(t, "bob").Public()}, Encrypt: true}); err != nil {
				t.Fatal(err)
			}
			bob, srv := pharmacy(t)
			if order == "after" {
				fetch(t, bob, srv, origMail)
				fetch(t, bob, srv, buf.Bytes())
			} else {
				fetch(t, bob, srv, buf.Bytes())
				fetch(t, bob, srv, origMail)
			}
			o, f := byMessageID(t, bob, orig), byMessageID(t, bob, forged.MessageID)
			if f.Verdict != receive.Verified {
				t.Fatalf("the forged cancellation is %s, want Verified (as Mallory's)", f.Verdict)
			}
			if o.Superseded != nil {
				t.Fatalf("a cancellation by another key marked the original: %+v", o.Superseded)
			}
			note, warn := SupersedesNote(f.Supersedes)
			if !warn || !strings.Contains(note, "signed by a different key") || !strings.Contains(note, "changed nothing") {
				t.Errorf("forged item: %q (warning %v)", note, warn)
			}
			if _, err := bob.OpenDocument(o.ID, 0, OpenOptions{Dir: t.TempDir()}); err != nil {
				t.Errorf("the original must stay current: %v", err)
			}
			ev := auditEvents(t, bob, audit.ReceiveSupersedeRefused)
			if len(ev) == 0 || ev[len(ev)-1].Fields["old"] != orig || ev[len(ev)-1].Fields["message_id"] != forged.MessageID {
				t.Errorf("audit: %+v", ev)
			}
		})
	}
}

// TestCancelOfAMessageNeverReceived: a cancellation whose original never
// reaches the pharmacy waits, says so, and changes nothing else.
func TestCancelOfAMessageNeverReceived(t *testing.T) {
	c := newClinicHome(t)
	orig := c.send(t, Draft{Message: prescription(t, "amoxicillin 500mg")})
	c.mail() // lost on the way
	cancel := c.cancel(t, orig, "sent to the wrong pharmacy")
	bob, srv := pharmacy(t)
	fetch(t, bob, srv, c.mail()...)
	cl := byMessageID(t, bob, cancel)
	if cl.Supersedes == nil || !cl.Supersedes.Pending() || cl.Supersedes.MessageID != orig {
		t.Fatalf("cancellation: %+v", cl.Supersedes)
	}
	if note, warn := SupersedesNote(cl.Supersedes); warn || !strings.Contains(note, "has not arrived here") {
		t.Errorf("note %q (warning %v)", note, warn)
	}
	if ev := auditEvents(t, bob, audit.ReceiveSuperseded); len(ev) != 1 || ev[0].Fields["state"] != "cancel pending" {
		t.Errorf("audit: %+v", ev)
	}
}

// TestCancelRefusals: the sender side refuses what the pharmacy could not
// apply, with a clear error and nothing queued.
func TestCancelRefusals(t *testing.T) {
	c := newClinicHome(t)
	orig := c.send(t, Draft{Message: prescription(t, "amoxicillin 500mg")})
	cancel := c.cancel(t, orig, "wrong patient")
	other := prescription(t, "x")
	other.To = []mail.Address{{Address: "carol@pharmacy.test"}}
	for _, tt := range []struct {
		name string
		do   func() error
		want string
	}{
		{"unknown Message-ID", func() error { _, err := c.d.Cancel(t.Context(), "nope@clinic.test", "x"); return err }, "only a message sent from this securesend"},
		{"no reason", func() error { _, err := c.d.Cancel(t.Context(), orig, "  "); return err }, "give the reason"},
		{"cancel a cancellation", func() error { _, err := c.d.Cancel(t.Context(), cancel, "x"); return err }, "is itself a cancellation"},
		{"replace an unknown message", func() error {
			_, err := c.d.Send(t.Context(), Draft{Message: prescription(t, "y"), Via: Via{Account: "clinic"}, Replaces: "nope@clinic.test"})
			return err
		}, "only a message sent from this securesend"},
		{"replacement leaves out a recipient", func() error {
			_, err := c.d.Send(t.Context(), Draft{Message: other, Via: Via{Account: "clinic"}, Replaces: orig})
			return err
		}, "also went to bob@pharmacy.test"},
	} {
		err := tt.do()
		var r *Refused
		if !errors.As(err, &r) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want a refusal saying %q", tt.name, err, tt.want)
		}
	}
	ob, err := c.d.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if recs, _ := ob.List(); len(recs) != 2 {
		t.Errorf("%d jobs in the outbox, want the original and its cancellation", len(recs))
	}
}

// TestSupersededBannerOnACopy: on a copy that is not verified of a
// cancelled or replaced message (receive.Supersession.CopyOf) the banner
// says that a message with this Message-ID was cancelled or replaced by
// its verified sender, names the marked item, and does not say "by the
// sender" of this copy; all of it safe for a terminal.
func TestSupersededBannerOnACopy(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	for _, tt := range []struct {
		kind manifest.Kind
		want []string
	}{
		{manifest.Cancel, []string{"A message with this Message-ID (item #3) was CANCELLED by its verified sender at ", ": wrong dose\\x1b[2J. This copy is not verified", "do not dispense"}},
		{manifest.Replace, []string{"A message with this Message-ID (item #3) was REPLACED by its verified sender at ", "with message #5 (r1@clinic.test<U+202E>)", "use the new one"}},
	} {
		b := SupersededBanner(&receive.Supersession{Kind: tt.kind, ByMessageID: "r1@clinic.test\u202e", ByID: "5", At: at, Reason: "wrong dose\x1b[2J", CopyOf: "3"})
		for _, w := range tt.want {
			if !strings.Contains(b, w) {
				t.Errorf("%s: banner lacks %q:\n%s", tt.kind, w, b)
			}
		}
		if strings.Contains(b, "by the sender") || strings.ContainsAny(b, "\x1b\u202e\n") {
			t.Errorf("%s: banner %q", tt.kind, b)
		}
	}
}

// TestCancelStrippedCopy: a hostile server strips the signature from
// Alice's cancelled, signed-only prescription and delivers it again,
// before and after the cancellation. Bob's copy is not verified, carries
// the cancellation as a copy of the original (CopyOf), whose banner says
// so, opens only when confirmed, and the mark is audited.
func TestCancelStrippedCopy(t *testing.T) {
	for _, order := range []string{"after", "before"} {
		t.Run(order, func(t *testing.T) {
			c := newClinicHome(t)
			orig := c.send(t, Draft{Message: prescription(t, "amoxicillin 500mg"), Encrypt: send.EncryptNever})
			origMail := c.mail()
			cancel := c.cancel(t, orig, "wrong patient")
			cancelMail := c.mail()
			stripped := pgptest.StripSignature(t, origMail[0])
			bob, srv := pharmacy(t)
			fetch(t, bob, srv, origMail[0])
			if order == "after" {
				fetch(t, bob, srv, cancelMail[0])
				fetch(t, bob, srv, stripped)
			} else {
				fetch(t, bob, srv, stripped)
				fetch(t, bob, srv, cancelMail[0])
			}
			st, err := bob.Inbox()
			if err != nil {
				t.Fatal(err)
			}
			all, err := st.List()
			if err != nil || len(all) != 3 {
				t.Fatalf("inbox: %v %+v", err, all)
			}
			var o, cp *receive.Item
			for i := range all {
				switch {
				case all[i].MessageID == orig && all[i].Verdict == receive.Verified:
					o = &all[i]
				case all[i].MessageID == orig:
					cp = &all[i]
				}
			}
			if o == nil || cp == nil || cp.Verdict != receive.NotSigned {
				t.Fatalf("want the Verified original and a not-signed copy: %+v", all)
			}
			s := cp.Superseded
			if s == nil || s.CopyOf != o.ID || s.Kind != manifest.Cancel || s.ByMessageID != cancel || s.Reason != "wrong patient" {
				t.Fatalf("copy: Superseded %+v", s)
			}
			if b := SupersededBanner(s); !strings.HasPrefix(b, "A message with this Message-ID (item #"+o.ID+") was CANCELLED by its verified sender at ") {
				t.Errorf("banner %q", b)
			}
			// both questions, the supersession first
			var se *SupersededError
			if _, err := bob.OpenDocument(cp.ID, 0, OpenOptions{Dir: t.TempDir()}); !errors.As(err, &se) || !se.Unverified {
				t.Errorf("open the copy unconfirmed: %v", err)
			}
			var ue *UnconfirmedError
			if _, err := bob.OpenDocument(cp.ID, 0, OpenOptions{Dir: t.TempDir(), Confirmed: Confirmations{Superseded: true}}); !errors.As(err, &ue) {
				t.Errorf("open the copy with only the supersession confirmed: %v", err)
			}
			want := "cancel marked on #" + cp.ID + ", an unverified copy of #" + o.ID
			var found bool
			for _, e := range auditEvents(t, bob, audit.ReceiveSuperseded) {
				found = found || e.Fields["state"] == want && e.Fields["message_id"] == orig && e.Fields["new"] == cancel && e.Fields["verdict"] == "not-signed"
			}
			if !found {
				t.Errorf("no audit event %q: %+v", want, auditEvents(t, bob, audit.ReceiveSuperseded))
			}
		})
	}
}
