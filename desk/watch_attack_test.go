package desk

// Attacks on the inbox watch as a hostile mail sender, or as whatever
// else writes into the drop folder: nothing not Verified reaches a
// destination, nothing in the drop folder is overwritten or escaped, and
// the journal does not let one document out twice.

import (
	"bytes"
	"context"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/send"
)

// TestWatchAttackNothingButVerifiedDropped: every hostile fixture the
// receive package knows (manifest mismatch, sender mismatch, a second key
// for the sender, parts outside the signature, hostile names, nesting, a
// compression bomb, an unverified signer) and a genuine message not
// addressed to Bob: none reaches the drop folder.
func TestWatchAttackNothingButVerifiedDropped(t *testing.T) {
	d, srv := watchDesk(t)
	hostile := []string{"bad_signature_manifest_mismatch.eml", "bad_signature_different_key.eml", "bad_signature_note_altered.eml",
		"bad_signature_truncated.eml", "sender_mismatch.eml", "sender_mismatch_encrypted.eml", "unsigned_part_appended.eml",
		"unsigned_part_wrapping_signed.eml", "html_and_hostile_filename.eml", "deeply_nested.eml", "compression_bomb_encrypted.eml",
		"unverified_signer.eml", "cannot_decrypt_wrong_key.eml", "cannot_decrypt_garbage_armor.eml"}
	for _, n := range hostile {
		srv.Deliver(t, testdata(t, n))
	}
	// Signed by Alice, encrypted to Bob, but addressed to Carol.
	srv.Deliver(t, aliceMessage(t, "carol@pharmacy.test", []byte(attackPDF)))
	drop := t.TempDir()
	var ev events
	if err := d.Watch(context.Background(), WatchOptions{Drop: drop, Once: true, Event: ev.add}); err != nil {
		t.Fatal(err)
	}
	if f := dropped(t, drop); len(f) != 0 || ev.count(EventDelivered) != 0 {
		t.Fatalf("hostile messages reached the drop folder: %v\n%s", f, &ev)
	}
}

// TestWatchAttackSidecarNeverOverwritten: a file already in the drop
// folder under the name the watch would give a document's sidecar (left
// by another watch, or put there by whatever reads the folder) is not
// replaced: the drop fails, with a clear reason, and the file is intact.
func TestWatchAttackSidecarNeverOverwritten(t *testing.T) {
	d, srv := watchDesk(t)
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	first := t.TempDir()
	if err := d.Watch(context.Background(), WatchOptions{Drop: first, Once: true}); err != nil {
		t.Fatal(err)
	}
	names := dropped(t, first)
	if len(names) != 2 {
		t.Fatalf("first drop: %v", names)
	}
	for _, tc := range []struct {
		name  string
		plant func(t *testing.T, path string) (check func() error)
	}{
		{"a file", func(t *testing.T, path string) func() error {
			if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
				t.Fatal(err)
			}
			return func() error { return sameFile(path, "precious") }
		}},
		{"a symlink out of the folder", func(t *testing.T, path string) func() error {
			outside := filepath.Join(t.TempDir(), "outside")
			if err := os.WriteFile(outside, []byte("outside"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, path); err != nil {
				t.Fatal(err)
			}
			return func() error {
				if target, err := os.Readlink(path); err != nil || target != outside {
					return errString("the planted link was replaced")
				}
				return sameFile(outside, "outside")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			drop := t.TempDir()
			check := tc.plant(t, filepath.Join(drop, names[1]))
			var ev events
			if err := d.Watch(context.Background(), WatchOptions{Drop: drop, Once: true, IncludeExisting: true, Event: ev.add}); err != nil {
				t.Fatal(err)
			}
			if err := check(); err != nil {
				t.Errorf("planted %s: %v\n%s", names[1], err, &ev)
			}
			if ev.count(EventDelivered) != 0 || ev.count(EventFailed) != 1 || !strings.Contains(ev.String(), "already exists") {
				t.Errorf("events:\n%s", &ev)
			}
			if f := dropped(t, drop); len(f) != 1 {
				t.Errorf("drop folder %v, want only the planted file", f)
			}
		})
	}
}

// TestWatchAttackDocumentLinkNotFollowed: a symlink planted under a
// document's name is neither followed nor replaced.
func TestWatchAttackDocumentLinkNotFollowed(t *testing.T) {
	d, srv := watchDesk(t)
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	first := t.TempDir()
	if err := d.Watch(context.Background(), WatchOptions{Drop: first, Once: true}); err != nil {
		t.Fatal(err)
	}
	names := dropped(t, first)
	drop := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(drop, names[0])); err != nil {
		t.Fatal(err)
	}
	var ev events
	if err := d.Watch(context.Background(), WatchOptions{Drop: drop, Once: true, IncludeExisting: true, Event: ev.add}); err != nil {
		t.Fatal(err)
	}
	if err := sameFile(outside, "outside"); err != nil || ev.count(EventDelivered) != 0 {
		t.Errorf("%v\n%s", err, &ev)
	}
}

// TestWatchAttackSameDocumentTwiceInOneMessage: a signed message that
// carries the same document twice (under two names) is one document to
// the journal, as the same document in two messages is: it reaches the
// drop folder once, and the second is reported as delivered already.
func TestWatchAttackSameDocumentTwiceInOneMessage(t *testing.T) {
	d, srv := watchDesk(t)
	srv.Deliver(t, aliceMessage(t, "bob@pharmacy.test", []byte(attackPDF), []byte(attackPDF)))
	drop := t.TempDir()
	var ev events
	if err := d.Watch(context.Background(), WatchOptions{Drop: drop, Once: true, Event: ev.add}); err != nil {
		t.Fatal(err)
	}
	if f := dropped(t, drop); len(f) != 2 || ev.count(EventDelivered) != 1 || ev.count(EventAlreadyDelivered) != 1 {
		t.Errorf("drop folder %v\n%s", f, &ev)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// sameFile reports whether path holds exactly want.
func sameFile(path, want string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if string(b) != want {
		return errString("overwritten: now " + strings.TrimSpace(string(b[:min(len(b), 40)])))
	}
	return nil
}

// attackPDF is a small well-formed PDF.
const attackPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
	"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

// aliceMessage is a message composed by send, signed by Alice's TEST ONLY
// key, encrypted to Bob's, addressed to "to", with docs as PDFs.
func aliceMessage(t *testing.T, to string, docs ...[]byte) []byte {
	t.Helper()
	read := func(name string) *pgp.Key {
		k, err := pgp.ReadSecretKey(bytes.NewReader(testdata(t, filepath.Join("keys", "test_only_"+name+".sec.asc"))), nil)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	alice, bob := read("alice"), read("bob")
	dir := t.TempDir()
	m := &send.Message{From: mail.Address{Name: "Alice", Address: "alice@clinic.test"}, To: []mail.Address{{Address: to}},
		Subject: "Prescription", Date: time.Now()}
	for i, b := range docs {
		p := filepath.Join(dir, "rx"+string(rune('a'+i))+".pdf")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		m.Documents = append(m.Documents, send.Document{Path: p})
	}
	id, err := send.NewMessageID("clinic.test")
	if err != nil {
		t.Fatal(err)
	}
	m.MessageID = id
	var out bytes.Buffer
	if _, err := send.ComposeProtected(&out, m, send.Protection{Signer: alice, Recipients: []*pgp.PublicKey{bob.Public()}, Encrypt: true}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
