package receive_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
)

const (
	inboxUser     = "bob@pharmacy.test"
	inboxPassword = "inbox-test-password"
)

// inboxServer is a real IMAP server over TLS with an authenticated client.
type inboxServer struct {
	srv *accounttest.IMAPServer
	pki *accounttest.PKI
}

func newInboxServer(t *testing.T) *inboxServer {
	t.Helper()
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartIMAP(t, pki, accounttest.Credentials{User: inboxUser, Password: inboxPassword}, accounttest.Options{})
	return &inboxServer{srv: srv, pki: pki}
}

func (s *inboxServer) dial(t *testing.T) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(s.srv.Addr, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: s.pki.CA.Pool(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(inboxUser, inboxPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// inboxVerifier is the real receive.Verify with Bob's keys from the TEST
// ONLY key files: alice pinned, carol unpinned, mallory unknown.
func inboxVerifier(t *testing.T) receive.VerifyFunc {
	t.Helper()
	read := func(name string) *pgp.Key {
		data, err := os.ReadFile(filepath.Join("testdata", "keys", "test_only_"+name+".sec.asc"))
		if err != nil {
			t.Fatal(err)
		}
		k, err := pgp.ReadSecretKey(bytes.NewReader(data), nil)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	bob, alice := read("bob"), read("alice")
	ks, err := pgp.OpenStore(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*pgp.Key{alice, bob} {
		var buf bytes.Buffer
		if err := k.Public().WriteArmored(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := ks.Import(&buf, pgp.ImportOptions{Pin: true}); err != nil {
			t.Fatal(err)
		}
	}
	return func(ctx context.Context, raw io.Reader, sink receive.DocumentSink) (*receive.Report, error) {
		return receive.Verify(ctx, raw, receive.VerifyOptions{Store: ks, Secret: []*pgp.Key{bob}, Sink: sink})
	}
}

func newInbox(t *testing.T) (*receive.Inbox, []byte) {
	t.Helper()
	key := make([]byte, atrest.KeySize)
	rand.Read(key)
	st, err := receive.OpenStore(filepath.Join(t.TempDir(), "inbox"), key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &receive.Inbox{Store: st, Verify: inboxVerifier(t)}, key
}

// plainMessage is an unsigned message with a note and one PDF-like
// document whose content is doc.
func plainMessage(msgID, subject, note string, doc []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Dr Test <alice@clinic.test>\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 23 Nov 2026 08:00:00 +1300\r\n", inboxUser, subject)
	fmt.Fprintf(&b, "Message-ID: <%s>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BOUND\r\n\r\n", msgID)
	fmt.Fprintf(&b, "--BOUND\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", note)
	fmt.Fprintf(&b, "--BOUND\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=script.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	b.WriteString(b64(doc))
	b.WriteString("\r\n--BOUND--\r\n")
	return b.Bytes()
}

// b64 is base64 in 76-character lines.
func b64(p []byte) string {
	s := base64.StdEncoding.EncodeToString(p)
	var sb strings.Builder
	for len(s) > 76 {
		sb.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	sb.WriteString(s)
	return sb.String()
}

func sum(p []byte) string { s := sha256.Sum256(p); return hex.EncodeToString(s[:]) }

func fetch(t *testing.T, in *receive.Inbox, c *imapclient.Client) *receive.FetchResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := in.Fetch(ctx, c, receive.FetchOptions{Account: "pharmacy"})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return res
}

func TestFetchIncremental(t *testing.T) {
	s := newInboxServer(t)
	in, _ := newInbox(t)
	for i := range 3 {
		s.srv.Deliver(t, plainMessage(fmt.Sprintf("m%d@clinic.test", i), "Script", "note", []byte(fmt.Sprintf("%%PDF-1.4 doc %d", i))))
	}
	c := s.dial(t)
	if res := fetch(t, in, c); len(res.New) != 3 || res.Known != 0 {
		t.Fatalf("first fetch: %d new, %d known; want 3, 0", len(res.New), res.Known)
	}
	if res := fetch(t, in, c); len(res.New) != 0 || res.Known != 0 {
		t.Fatalf("second fetch: %d new, %d known; want nothing", len(res.New), res.Known)
	}
	s.srv.Deliver(t, plainMessage("m3@clinic.test", "Script", "note", []byte("%PDF-1.4 doc 3")))
	res := fetch(t, in, s.dial(t)) // a new connection: the state is on disk
	if len(res.New) != 1 || res.New[0].MessageID != "m3@clinic.test" || res.New[0].Verdict != receive.NotSigned {
		t.Fatalf("third fetch: %+v", res.New)
	}
	items, err := in.Store.List()
	if err != nil || len(items) != 4 {
		t.Fatalf("store has %d items (%v), want 4", len(items), err)
	}
	// The server's mail is untouched: nothing changed, nothing marked seen.
	if ch := s.srv.Changes(); len(ch) != 0 {
		t.Errorf("fetch changed the mailbox: %v", ch)
	}
	if n, unseen := s.srv.Status(t); n != 4 || unseen != 4 {
		t.Errorf("server has %d messages, %d unseen; want 4, 4", n, unseen)
	}
}

func TestFetchUIDValidityChange(t *testing.T) {
	s := newInboxServer(t)
	in, _ := newInbox(t)
	a := plainMessage("a@clinic.test", "A", "note", []byte("%PDF a"))
	b := plainMessage("b@clinic.test", "B", "note", []byte("%PDF b"))
	s.srv.Deliver(t, a)
	s.srv.Deliver(t, b)
	first := fetch(t, in, s.dial(t))
	if len(first.New) != 2 {
		t.Fatalf("first fetch: %d new", len(first.New))
	}

	// The server is restored: new UIDVALIDITY, the same messages (one with
	// a header the restore added), then a new message and a genuine
	// second sending of b.
	s.srv.RecreateInbox(t)
	s.srv.Deliver(t, append([]byte("X-Restored: yes\r\n"), a...))
	s.srv.Deliver(t, b)
	s.srv.Deliver(t, plainMessage("c@clinic.test", "C", "note", []byte("%PDF c")))
	s.srv.Deliver(t, append([]byte("Received: from resend.example.test\r\n"), b...))
	res := fetch(t, in, s.dial(t))
	if !res.UIDValidityChanged || len(res.New) != 2 || res.Known != 2 {
		t.Fatalf("after UIDVALIDITY change: changed=%t new=%d known=%d; want true, 2, 2", res.UIDValidityChanged, len(res.New), res.Known)
	}
	if res.New[0].MessageID != "c@clinic.test" || len(res.New[0].Duplicates) != 0 {
		t.Errorf("new message: %+v", res.New[0])
	}
	bID := first.New[1].ID
	if resend := res.New[1]; resend.MessageID != "b@clinic.test" || !hasDup(resend.Duplicates, receive.Duplicate{Kind: "message-id", Of: bID}) {
		t.Errorf("second sending of b not flagged: %+v", resend)
	}
	items, _ := in.Store.List()
	if len(items) != 4 {
		t.Errorf("%d items, want 4 (a, b, c, b again)", len(items))
	}
	if res := fetch(t, in, s.dial(t)); len(res.New)+res.Known != 0 {
		t.Errorf("fetch after catching up: %+v", res)
	}
	// The re-listed a carries its new UID, so archiving still works.
	if err := in.Archive(context.Background(), s.dial(t), first.New[0].ID, ""); err != nil {
		t.Fatalf("archive after renumbering: %v", err)
	}
	if n := s.srv.Count(t, "Archive"); n != 1 {
		t.Errorf("Archive holds %d", n)
	}
}

func TestDuplicateWarnings(t *testing.T) {
	s := newInboxServer(t)
	in, _ := newInbox(t)
	script := []byte("%PDF-1.4 prescription: amoxicillin 500mg")
	first := plainMessage("first@clinic.test", "Script", "note", script)
	s.srv.Deliver(t, plainMessage("other@clinic.test", "Other", "note", []byte("%PDF other")))
	s.srv.Deliver(t, first)
	res := fetch(t, in, s.dial(t))
	if len(res.New) != 2 || len(res.New[0].Duplicates)+len(res.New[1].Duplicates) != 0 {
		t.Fatalf("first fetch: %+v", res.New)
	}
	firstID := res.New[1].ID

	// The same document again in a new message, and the same message
	// delivered a second time (other bytes: another Received line).
	s.srv.Deliver(t, plainMessage("resend@clinic.test", "Script again", "sorry, resending", script))
	s.srv.Deliver(t, append([]byte("Received: from relay2.example.test; Mon, 23 Nov 2026 08:05:00 +1300\r\n"), first...))
	res = fetch(t, in, s.dial(t))
	if len(res.New) != 2 {
		t.Fatalf("second fetch: %d new, want 2", len(res.New))
	}
	resend, again := res.New[0], res.New[1]
	want := receive.Duplicate{Kind: "document", SHA256: sum(script), Of: firstID}
	if len(resend.Duplicates) != 1 || resend.Duplicates[0] != want {
		t.Errorf("resent document: duplicates %+v, want [%+v]", resend.Duplicates, want)
	}
	if !hasDup(again.Duplicates, receive.Duplicate{Kind: "message-id", Of: firstID}) || !hasDup(again.Duplicates, want) {
		t.Errorf("message delivered twice: duplicates %+v", again.Duplicates)
	}
}

func hasDup(ds []receive.Duplicate, d receive.Duplicate) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

// TestFetchVerdicts fetches real PGP/MIME fixtures and keeps their
// verdicts and signer fingerprints.
func TestFetchVerdicts(t *testing.T) {
	s := newInboxServer(t)
	in, _ := newInbox(t)
	want := map[string]receive.Verdict{
		"good_encrypted.eml":             receive.Verified,
		"unknown_signer.eml":             receive.UnknownSigner,
		"bad_signature_body_altered.eml": receive.BadSignature,
	}
	order := []string{"good_encrypted.eml", "unknown_signer.eml", "bad_signature_body_altered.eml"}
	for _, f := range order {
		raw, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		s.srv.Deliver(t, raw)
	}
	res := fetch(t, in, s.dial(t))
	if len(res.New) != 3 {
		t.Fatalf("%d new, want 3", len(res.New))
	}
	for i, f := range order {
		it := res.New[i]
		if it.Verdict != want[f] {
			t.Errorf("%s: verdict %s, want %s", f, it.Verdict, want[f])
		}
		if it.Verdict != receive.BadSignature && it.SignerFingerprint == "" {
			t.Errorf("%s: no signer fingerprint", f)
		}
		if it.Verdict.Releasable() && (len(it.Documents) == 0 || it.Documents[0].SHA256 == "") {
			t.Errorf("%s: documents %+v", f, it.Documents)
		}
	}
}

// TestStoreAtRest: nothing of the message content is readable in the
// store's files; reading back gives the exact bytes; tampering is caught.
func TestStoreAtRest(t *testing.T) {
	s := newInboxServer(t)
	in, _ := newInbox(t)
	doc := []byte("%PDF-1.4 NHI ZZZ0016 patient Jane Testperson, 20 tablets")
	s.srv.Deliver(t, plainMessage("secret@clinic.test", "Jane Testperson referral", "Please dispense for Jane Testperson", doc))
	res := fetch(t, in, s.dial(t))
	if len(res.New) != 1 {
		t.Fatalf("%d new", len(res.New))
	}
	it := res.New[0]
	filepath.WalkDir(in.Store.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		for _, s := range []string{"Jane Testperson", "ZZZ0016", "script.pdf"} {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s holds %q in plaintext", p, s)
			}
		}
		if fi, _ := d.Info(); fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v", p, fi.Mode())
		}
		return nil
	})
	rep, err := in.Store.Report(it.ID)
	if err != nil || rep.Subject != "Jane Testperson referral" || rep.Documents[0].Name != "script.pdf" {
		t.Fatalf("Report = %+v, %v", rep, err)
	}
	r, err := in.Store.OpenDocument(it.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("document read back: %q, %v", got, err)
	}

	// Flip one byte of the encrypted document.
	p := filepath.Join(in.Store.Dir(), "items", it.ID, it.Documents[0].File)
	enc, _ := os.ReadFile(p)
	enc[len(enc)/2] ^= 1
	os.WriteFile(p, enc, 0o600)
	r, err = in.Store.OpenDocument(it.ID, 0)
	if err == nil {
		_, err = io.ReadAll(r)
		r.Close()
	}
	// (atrest reports a bad tag in the first chunk as ErrNotEncrypted.)
	if !errors.Is(err, atrest.ErrTampered) && !errors.Is(err, atrest.ErrNotEncrypted) {
		t.Errorf("tampered document: err %v, want ErrTampered", err)
	}
}

// TestArchive moves one message on the server at the user's request and
// nothing else; a renumbered mailbox is refused.
func TestArchive(t *testing.T) {
	s := newInboxServer(t)
	in, _ := newInbox(t)
	s.srv.Deliver(t, plainMessage("keep@clinic.test", "Keep", "note", []byte("%PDF keep")))
	s.srv.Deliver(t, plainMessage("done@clinic.test", "Done", "note", []byte("%PDF done")))
	c := s.dial(t)
	res := fetch(t, in, c)
	if len(res.New) != 2 {
		t.Fatalf("%d new", len(res.New))
	}
	done := res.New[1].ID
	ctx := context.Background()
	if err := in.Archive(ctx, c, done, ""); err != nil {
		t.Fatalf("Archive: %v", err)
	}
	if n := s.srv.Count(t, "INBOX"); n != 1 {
		t.Errorf("INBOX holds %d messages after archiving one of two", n)
	}
	if n := s.srv.Count(t, "Archive"); n != 1 {
		t.Errorf("Archive holds %d messages, want 1", n)
	}
	if ch := s.srv.Changes(); len(ch) != 1 || ch[0] != "MOVE Archive" {
		t.Errorf("server changes %v, want one MOVE", ch)
	}
	it, err := in.Store.Get(done)
	if err != nil || it.Archived != "Archive" {
		t.Errorf("item after archive: %+v, %v", it, err)
	}
	if err := in.Archive(ctx, c, done, ""); err == nil {
		t.Error("archiving twice succeeded")
	}
	if res := fetch(t, in, c); len(res.New)+res.Known != 0 {
		t.Errorf("fetch after archive: %+v", res)
	}

	s.srv.RecreateInbox(t)
	if err := in.Archive(ctx, s.dial(t), res.New[0].ID, ""); !errors.Is(err, receive.ErrCannotArchive) {
		t.Errorf("archive after UIDVALIDITY change = %v, want ErrCannotArchive", err)
	}
}
