package e2e

import (
	"bytes"
	"context"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/keychain/keychaintest"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/mailserver"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// twoHomes is a clinic (Alice, alice@clinic.test) and a pharmacy (Carol,
// carol@clinic.test: the private Postfix delivers one domain only), each a
// securesend home of its own with its TEST ONLY key and the other's
// pinned, on one private Postfix + Dovecot.
type twoHomes struct {
	srv           *mailserver.Server
	clinic, pharm *desk.Desk
}

func newTwoHomes(t *testing.T) *twoHomes {
	t.Helper()
	keychaintest.Require(t)
	srv := mailserver.StartT(t, mailserver.Options{Domain: "clinic.test", Users: []string{"alice", "carol"}})
	h := &twoHomes{srv: srv, clinic: openHome(t, t.TempDir(), nil), pharm: openHome(t, t.TempDir(), nil)}
	key := func(name string) *pgp.Key {
		data, err := os.ReadFile(filepath.Join("..", "receive", "testdata", "keys", "test_only_"+name+".sec.asc"))
		if err != nil {
			t.Fatal(err)
		}
		k, err := pgp.ReadSecretKey(bytes.NewReader(data), nil)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	own := func(d *desk.Desk, mine, theirs, theirAddr string) {
		ks, err := d.Keys()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ks.AddSecret(key(mine)); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := key(theirs).Public().WriteArmored(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := ks.Import(&buf, pgp.ImportOptions{Pin: true, Emails: []string{theirAddr}}); err != nil {
			t.Fatal(err)
		}
	}
	own(h.clinic, "alice", "carol", "carol@clinic.test")
	own(h.pharm, "carol", "alice", "alice@clinic.test")
	smtps := account.Server{Address: mailserver.Addr(srv.SMTPS), Security: account.ImplicitTLS}
	addAccount(t, h.clinic, srv, "clinic", "alice@clinic.test", smtps)
	addAccount(t, h.pharm, srv, "pharmacy", "carol@clinic.test", smtps)
	return h
}

// deliver delivers the clinic's job through Postfix and returns its
// Message-ID.
func (h *twoHomes) deliver(t *testing.T) func(id desk.JobID, err error) string {
	return func(id desk.JobID, err error) string { return h.deliverJob(t, id, err) }
}

func (h *twoHomes) deliverJob(t *testing.T, id desk.JobID, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	ob, err := h.clinic.Outbox(desk.OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ob.Deliver(context.Background(), id, nil)
	if err != nil || rec.State != outbox.Sent {
		t.Fatalf("deliver: %v %+v", err, rec)
	}
	return rec.MessageID
}

// fetch waits until Carol's mailbox holds n messages and fetches them.
func (h *twoHomes) fetch(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := h.srv.WaitForMessages(ctx, "carol@clinic.test", n); err != nil {
		t.Fatal(err)
	}
	if _, err := h.pharm.Fetch(ctx, desk.FetchOptions{Account: "pharmacy"}); err != nil {
		t.Fatal(err)
	}
}

func (h *twoHomes) item(t *testing.T, messageID string) *receive.Item {
	t.Helper()
	st, err := h.pharm.Inbox()
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
	t.Fatalf("no item %s", messageID)
	return nil
}

func rx(t *testing.T, content string) *send.Message {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rx.pdf")
	if err := os.WriteFile(p, []byte("%PDF-1.4\n"+content+"\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &send.Message{To: []mail.Address{{Address: "carol@clinic.test"}}, Subject: "Prescription",
		DocumentType: "prescription", Documents: []send.Document{{Path: p}}}
}

// TestCancelAndReplaceThroughPostfixDovecot: Alice sends two
// prescriptions through Postfix; Carol fetches them from Dovecot; Alice
// cancels the first and replaces the second; Carol's next fetch marks the
// first cancelled (with the reason) and the second replaced by the new
// message, which is current and not flagged as a duplicate.
func TestCancelAndReplaceThroughPostfixDovecot(t *testing.T) {
	h := newTwoHomes(t)
	ctx := context.Background()
	via := desk.Via{Account: "clinic"}
	first := h.deliver(t)(h.clinic.Send(ctx, desk.Draft{Message: rx(t, "amoxicillin 500mg"), Via: via}))
	secondMsg := rx(t, "ibuprofen 400mg")
	second := h.deliver(t)(h.clinic.Send(ctx, desk.Draft{Message: secondMsg, Via: via}))
	h.fetch(t, 2)

	cancel := h.deliver(t)(h.clinic.Cancel(ctx, first, "wrong patient"))
	fixed := rx(t, "ibuprofen 200mg")
	fixed.Note = "dose halved"
	fixed.Documents = append(fixed.Documents, secondMsg.Documents[0]) // kept as page 2
	fixed.Documents[1].Name = "page2.pdf"
	repl := h.deliver(t)(h.clinic.Send(ctx, desk.Draft{Message: fixed, Via: via, Replaces: second}))
	h.fetch(t, 4)

	f, c := h.item(t, first), h.item(t, cancel)
	if f.Superseded == nil || f.Superseded.Kind != manifest.Cancel || f.Superseded.ByID != c.ID || f.Superseded.Reason != "wrong patient" {
		t.Errorf("first: %+v", f.Superseded)
	}
	if c.Verdict != receive.Verified || len(c.Documents) != 0 {
		t.Errorf("cancellation: %s, %d documents", c.Verdict, len(c.Documents))
	}
	s, r := h.item(t, second), h.item(t, repl)
	if s.Superseded == nil || s.Superseded.Kind != manifest.Replace || s.Superseded.ByID != r.ID {
		t.Errorf("second: %+v", s.Superseded)
	}
	if r.Verdict != receive.Verified || r.Superseded != nil || len(r.Duplicates) != 0 {
		t.Errorf("replacement: %s, superseded %+v, duplicates %+v", r.Verdict, r.Superseded, r.Duplicates)
	}
	if b := desk.SupersededBanner(s.Superseded); !strings.Contains(b, "REPLACED by the sender") || !strings.Contains(b, "dose halved") {
		t.Errorf("banner %q", b)
	}
	if _, err := h.pharm.OpenDocument(f.ID, 0, desk.OpenOptions{Dir: t.TempDir()}); err == nil {
		t.Error("a cancelled prescription opened without a confirmation")
	}
	if _, err := h.pharm.OpenDocument(r.ID, 0, desk.OpenOptions{Dir: t.TempDir()}); err != nil {
		t.Errorf("the replacement: %v", err)
	}
}
