package receive_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgpmime"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// Attacks on cancel and replace (issue 16 point 4) by a hostile sender, a
// hostile mail server and a hostile correspondent whose key Bob pinned. A
// claim may mark its original only when both are Verified, signed by the
// same key, from the same sender, and the claim names exactly the
// original's documents; anything else changes nothing and says why.

// commitAll stores msgs in order with the fake verifier and returns the
// store and the item IDs.
func commitAll(t *testing.T, msgs ...fakeMsg) (*receive.Store, []string) {
	t.Helper()
	st, _, _ := newStore(t)
	var ids []string
	for i, m := range msgs {
		raw, _ := json.Marshal(m)
		it, added, err := commitMessage(t, st, raw, receive.Source{Account: "a", Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i + 1)}, fakeVerify)
		if err != nil || !added {
			t.Fatalf("commit %s: %v %v", m.ID, added, err)
		}
		ids = append(ids, it.ID)
	}
	return st, ids
}

func mustGet(t *testing.T, st *receive.Store, id string) *receive.Item {
	t.Helper()
	it, err := st.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// TestAttackSupersedeClaims: claims that must change nothing, in both
// orders of arrival, each refused with its reason on the claiming item.
func TestAttackSupersedeClaims(t *testing.T) {
	orig := fakeMsg{ID: "rx1@clinic.test", Verdict: receive.Verified, Signer: alice, Doc: "%PDF rx 10mg"}
	claim := func(edit func(*fakeMsg)) fakeMsg {
		c := fakeMsg{ID: "c1@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Cancel, Target: orig.ID, TargetDocs: []string{orig.Doc}, Note: "wrong dose"}
		edit(&c)
		return c
	}
	tests := []struct {
		name    string
		claim   fakeMsg
		refused string // "" with pending: the claim waits (names no message here)
		pending bool
	}{
		{"signed by another pinned correspondent", claim(func(c *fakeMsg) { c.Signer = mallory }), "signed by a different key", false},
		{"unpinned key claiming the original's From", claim(func(c *fakeMsg) { c.Verdict, c.Signer = receive.UnknownSigner, "" }), "it is not verified (unknown-signer)", false},
		{"another key than the one pinned for the From", claim(func(c *fakeMsg) { c.Verdict, c.Signer = receive.SenderMismatch, mallory }), "not verified (sender-mismatch)", false},
		{"unsigned", claim(func(c *fakeMsg) { c.Verdict, c.Signer = receive.NotSigned, "" }), "not verified (not-signed)", false},
		{"same key, other sender address", claim(func(c *fakeMsg) { c.From = "Dr Alice <alice@other-clinic.test>" }), "it is from alice@other-clinic.test and that message is from alice@clinic.test", false},
		{"replay naming other documents", claim(func(c *fakeMsg) { c.TargetDocs = []string{"%PDF an older script"} }), "names other documents", false},
		{"no document hashes", claim(func(c *fakeMsg) { c.TargetDocs = nil }), "names other documents", false},
		{"original's document twice", claim(func(c *fakeMsg) { c.TargetDocs = []string{orig.Doc, orig.Doc} }), "names other documents", false},
		{"Message-ID in other case", claim(func(c *fakeMsg) { c.Target = "RX1@CLINIC.TEST" }), "", true},
		{"Message-ID with a space", claim(func(c *fakeMsg) { c.Target = " rx1@clinic.test" }), "", true},
		{"Message-ID in angle brackets", claim(func(c *fakeMsg) { c.Target = "<rx1@clinic.test>" }), "", true},
	}
	for _, tt := range tests {
		for _, order := range []string{"after", "before"} {
			t.Run(tt.name+"/"+order, func(t *testing.T) {
				msgs, o, c := []fakeMsg{orig, tt.claim}, 0, 1
				if order == "before" {
					msgs, o, c = []fakeMsg{tt.claim, orig}, 1, 0
				}
				st, ids := commitAll(t, msgs...)
				if got := mustGet(t, st, ids[o]); got.Superseded != nil {
					t.Errorf("original marked %+v", got.Superseded)
				}
				cl := mustGet(t, st, ids[c]).Supersedes
				if cl == nil {
					t.Fatal("the claim is not reported on the claiming item")
				}
				if len(cl.Applied) != 0 || cl.Pending() != tt.pending || !strings.Contains(cl.Refused, tt.refused) {
					t.Errorf("claim %+v, want refused %q pending %v", cl, tt.refused, tt.pending)
				}
			})
		}
	}
}

// TestAttackSupersedeReplayOnReusedMessageID: Alice's cancellation of an
// old prescription, replayed (or simply still in the inbox) when a new
// message with the same Message-ID and other documents arrives, does not
// cancel the new one; a copy of the original with the same documents (a
// resend) is still marked.
func TestAttackSupersedeReplayOnReusedMessageID(t *testing.T) {
	old := fakeMsg{ID: "rx1@clinic.test", Verdict: receive.Verified, Signer: alice, Doc: "%PDF rx 10mg"}
	cancel := fakeMsg{ID: "c1@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Cancel, Target: old.ID, TargetDocs: []string{old.Doc}, Note: "wrong dose"}
	reused := old
	reused.Doc = "%PDF rx 5mg, a new script"
	resent := old
	resent.Note = "sent again"
	st, ids := commitAll(t, old, cancel, reused, resent)
	if mustGet(t, st, ids[0]).Superseded == nil {
		t.Error("the original is not marked")
	}
	if s := mustGet(t, st, ids[2]).Superseded; s != nil {
		t.Errorf("a new message reusing the Message-ID is marked by the old cancellation: %+v", s)
	}
	if mustGet(t, st, ids[3]).Superseded == nil {
		t.Error("a resend of the original (same documents) is not marked")
	}
	if cl := mustGet(t, st, ids[1]).Supersedes; cl == nil || strings.Join(cl.Applied, ",") != ids[0]+","+ids[3] {
		t.Errorf("claim %+v, want applied to %s and %s", cl, ids[0], ids[3])
	}
}

// TestAttackSupersedeChainAndSelf: a claim naming itself changes nothing;
// A replaces B and B replaces A (only the signer can do it) leaves both
// marked, so neither is shown as current, and reading does not loop.
func TestAttackSupersedeChainAndSelf(t *testing.T) {
	self := fakeMsg{ID: "s1@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Replace, Target: "s1@clinic.test", Doc: "%PDF s", TargetDocs: []string{"%PDF s"}}
	st, ids := commitAll(t, self)
	it := mustGet(t, st, ids[0])
	if it.Superseded != nil || it.Supersedes == nil || !strings.Contains(it.Supersedes.Refused, "itself") {
		t.Errorf("self claim: superseded %+v, claim %+v", it.Superseded, it.Supersedes)
	}

	a := fakeMsg{ID: "a@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Replace, Target: "b@clinic.test", Doc: "%PDF a", TargetDocs: []string{"%PDF b"}}
	b := fakeMsg{ID: "b@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Replace, Target: "a@clinic.test", Doc: "%PDF b", TargetDocs: []string{"%PDF a"}}
	st, ids = commitAll(t, a, b)
	all, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range all {
		if it.Superseded == nil {
			t.Errorf("item %s (%s) of the loop is shown as current", ids[i], it.MessageID)
		}
	}
}

// TestAttackSupersedeUnreplacedByDuplicate: once a replacement marked its
// original (in either order), another copy of the replacement that is not
// verified (a hostile server's re-delivery without the signature), or a
// forged claim naming the original, does not take the mark away.
func TestAttackSupersedeUnreplacedByDuplicate(t *testing.T) {
	orig := fakeMsg{ID: "rx1@clinic.test", Verdict: receive.Verified, Signer: alice, Doc: "%PDF rx 10mg"}
	repl := fakeMsg{ID: "r1@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Replace, Target: orig.ID, TargetDocs: []string{orig.Doc}, Doc: "%PDF rx 5mg", Note: "corrected"}
	strip := repl
	strip.Verdict, strip.Signer, strip.Note = receive.NotSigned, "", "ignore the replacement"
	forged := repl
	forged.ID, forged.Signer = "f@evil.test", mallory
	for _, msgs := range [][]fakeMsg{{repl, orig, strip, forged}, {orig, repl, forged, strip}} {
		st, ids := commitAll(t, msgs...)
		o := ids[0]
		if msgs[1].ID == orig.ID {
			o = ids[1]
		}
		s := mustGet(t, st, o).Superseded
		if s == nil || s.Kind != manifest.Replace || s.ByMessageID != repl.ID || s.Reason != "corrected" {
			t.Errorf("original after the duplicates: %+v", s)
		}
	}
}

// TestAttackSupersedeKeepsDuplicateWarning: a claim that changed nothing
// hides no duplicate warning: a forged "replacement" carrying the
// original's document is still flagged as a repeat of it.
func TestAttackSupersedeKeepsDuplicateWarning(t *testing.T) {
	orig := fakeMsg{ID: "rx1@clinic.test", Verdict: receive.Verified, Signer: alice, Doc: "%PDF rx 10mg"}
	forged := fakeMsg{ID: "f@evil.test", Verdict: receive.Verified, Signer: mallory, Kind: manifest.Replace, Target: orig.ID, TargetDocs: []string{orig.Doc}, Doc: orig.Doc}
	st, ids := commitAll(t, orig, forged)
	it := mustGet(t, st, ids[1])
	if len(it.Duplicates) != 1 || it.Duplicates[0].Of != ids[0] {
		t.Errorf("forged replacement's duplicates %+v, want the document of #%s", it.Duplicates, ids[0])
	}
	if it.Supersedes == nil || it.Supersedes.Refused == "" {
		t.Errorf("forged replacement: %+v", it.Supersedes)
	}
}

// TestAttackSupersedeIndexBound: a correspondent sending many claims
// with huge notes (pending: their originals never arrive) cannot grow the
// index, which every process holds in memory whole, by the notes' size:
// a claim keeps at most a few kB of its reason there.
func TestAttackSupersedeIndexBound(t *testing.T) {
	st, dir, _ := newStore(t)
	const n, note = 40, 200 << 10
	for i := range n {
		c := fakeMsg{ID: fmt.Sprintf("c%d@evil.test", i), Verdict: receive.Verified, Signer: mallory, Kind: manifest.Cancel,
			Target: fmt.Sprintf("none%d@clinic.test", i), TargetDocs: []string{"x"}, Note: strings.Repeat("é", note/2)}
		raw, _ := json.Marshal(c)
		if _, _, err := commitMessage(t, st, raw, receive.Source{Account: "a", Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i + 1)}, fakeVerify); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "index.log"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > n*16<<10 {
		t.Errorf("index.log is %d bytes for %d claims with %d-byte notes", fi.Size(), n, note)
	}
	all, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n || !all[0].Supersedes.Pending() {
		t.Fatalf("%d items, first %+v", len(all), all[0].Supersedes)
	}
}

// realOriginalAndClaim composes, with send's composer, Alice's signed
// prescription and a cancellation of it (naming its documents' hashes)
// for the real verifier.
func realOriginalAndClaim(t *testing.T) (orig []byte, m, cancel *send.Message) {
	t.Helper()
	ks := loadKeys(t)
	m = manifestMessage(t)
	var b bytes.Buffer
	if _, err := send.ComposeProtected(&b, m, send.Protection{Signer: ks["alice"]}); err != nil {
		t.Fatal(err)
	}
	s := &manifest.Supersedes{MessageID: m.MessageID, Kind: manifest.Cancel}
	for _, d := range m.Documents {
		data, err := os.ReadFile(d.Path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		s.SHA256s = append(s.SHA256s, hex.EncodeToString(sum[:]))
	}
	c := *m
	c.MessageID, c.Subject, c.Note, c.Documents, c.DocumentType, c.Supersedes = "cancel-test@clinic.test", "CANCELLED", "wrong dose", nil, "cancellation", s
	return b.Bytes(), m, &c
}

// TestAttackSupersedeUnprotectedClaims: with the real verifier, a
// cancellation that is not signed (plain, or encrypted to Bob without a
// signature, as a hostile mail server or anyone can send), or whose
// manifest sits outside the signed part, is not a claim at all: the
// original stays current. The control (signed by Alice) does cancel it.
func TestAttackSupersedeUnprotectedClaims(t *testing.T) {
	ks := loadKeys(t)
	origRaw, om, c := realOriginalAndClaim(t)
	entity := content(contentParts(t, c))

	plain := func() []byte {
		var b bytes.Buffer
		if _, err := send.ComposeProtected(&b, c, send.Protection{}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	encryptedOnly := func() []byte {
		var inner bytes.Buffer
		pw := pgpmime.ProtectHeaders(&inner, protectedFields(t, c), pgpmime.HPCipher)
		if _, err := pw.Write(entity); err != nil {
			t.Fatal(err)
		}
		if err := pw.Close(); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "plain")
		if err := os.WriteFile(file, inner.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		ct := aliceGPG(t, ks).Run(nil, "--armor", "--encrypt", "--recipient", "bob@pharmacy.test", "--output", "-", file)
		var out bytes.Buffer
		if err := send.WriteHeader(&out, c, "[...]"); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"enc\"\r\n\r\n"+
			"--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--enc\r\nContent-Type: application/octet-stream\r\n\r\n%s\r\n--enc--\r\n", ct)
		return out.Bytes()
	}
	outerOnly := func() []byte {
		// Alice's genuine signed note (no manifest) wrapped by the server
		// with the cancellation's manifest beside it, unsigned.
		n := *c
		n.Supersedes, n.Documents, n.DocumentType = nil, om.Documents, om.DocumentType
		var signed bytes.Buffer
		if _, err := send.ComposeProtected(&signed, &n, send.Protection{Signer: ks["alice"]}); err != nil {
			t.Fatal(err)
		}
		var mf []byte
		for _, p := range contentParts(t, c) {
			if isManifest(p) {
				mf = p.body
			}
		}
		if mf == nil {
			t.Fatal("no manifest part")
		}
		hdr, body, _ := bytes.Cut(signed.Bytes(), []byte("\r\n\r\n"))
		var top, inner []string
		isContent := false
		for _, l := range strings.Split(string(hdr), "\r\n") {
			if !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "\t") {
				isContent = strings.HasPrefix(strings.ToLower(l), "content-")
			}
			if isContent {
				inner = append(inner, l)
			} else if !strings.HasPrefix(strings.ToLower(l), "mime-version") {
				top = append(top, l)
			}
		}
		var out bytes.Buffer
		fmt.Fprintf(&out, "%s\r\nMIME-Version: 1.0\r\nSupersedes: <%s>\r\nContent-Type: multipart/mixed; boundary=\"wrap\"\r\n\r\n--wrap\r\n%s\r\n\r\n%s\r\n--wrap\r\nContent-Type: application/vnd.securesend.manifest+json\r\n\r\n%s\r\n--wrap--\r\n",
			strings.Join(top, "\r\n"), c.Supersedes.MessageID, strings.Join(inner, "\r\n"), body, mf)
		return out.Bytes()
	}
	signed := func() []byte {
		var b bytes.Buffer
		if _, err := send.ComposeProtected(&b, c, send.Protection{Signer: ks["alice"]}); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	tests := []struct {
		name   string
		claim  func() []byte
		cancel bool
	}{
		{"control: signed by Alice", signed, true},
		{"plain", plain, false},
		{"encrypted only", encryptedOnly, false},
		{"manifest outside the signed part", outerOnly, false},
	}
	for _, tt := range tests {
		for _, order := range []string{"after", "before"} {
			t.Run(tt.name+"/"+order, func(t *testing.T) {
				st, _, _ := newStore(t)
				verify := inboxVerifier(t)
				raws := [][]byte{origRaw, tt.claim()}
				if order == "before" {
					raws[0], raws[1] = raws[1], raws[0]
				}
				items := map[string]*receive.Item{}
				for i, raw := range raws {
					it, _, err := commitMessage(t, st, raw, receive.Source{Account: "a", Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i + 1)}, verify)
					if err != nil {
						t.Fatal(err)
					}
					items[it.MessageID] = it
				}
				o, cl := items["manifest-test@clinic.test"], items[c.MessageID]
				if o == nil || cl == nil {
					t.Fatalf("items %+v", items)
				}
				o, cl = mustGet(t, st, o.ID), mustGet(t, st, cl.ID)
				if o.Verdict != receive.Verified {
					t.Fatalf("original %s", o.Verdict)
				}
				if got := o.Superseded != nil; got != tt.cancel {
					t.Errorf("original cancelled %v, want %v (claim %s, %+v)", got, tt.cancel, cl.Verdict, cl.Supersedes)
				}
				if !tt.cancel && cl.Supersedes != nil && len(cl.Supersedes.Applied) > 0 {
					t.Errorf("claim %+v", cl.Supersedes)
				}
			})
		}
	}
}

// TestAttackSupersedeStrippedCopy: a hostile server strips the signature
// from a cancelled (or replaced) original, perhaps alters it, and delivers
// it again. The copy is not Verified, so the claim cannot mark it as its
// own; it carries the mark as a copy (CopyOf names the Verified original)
// whichever order the three arrive in, keeps its duplicate warning, and
// the claim's Applied still lists only the Verified original. A claim
// that marked nothing Verified (forged, or its original not here yet)
// marks no copy, and a Verified message is never marked as a copy.
func TestAttackSupersedeStrippedCopy(t *testing.T) {
	orig := fakeMsg{ID: "rx1@clinic.test", Verdict: receive.Verified, Signer: alice, Doc: "%PDF rx 10mg"}
	cancel := fakeMsg{ID: "c1@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Cancel, Target: orig.ID, TargetDocs: []string{orig.Doc}, Note: "wrong dose"}
	replace := fakeMsg{ID: "r1@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Replace, Target: orig.ID, TargetDocs: []string{orig.Doc}, Doc: "%PDF rx 5mg", Note: "corrected"}
	forged := cancel
	forged.ID, forged.Signer = "f@evil.test", mallory
	copyOf := func(edit func(*fakeMsg)) fakeMsg {
		c := orig
		c.Verdict, c.Signer, c.Note = receive.NotSigned, "", "sent again"
		edit(&c)
		return c
	}
	stripped := copyOf(func(*fakeMsg) {})
	altered := copyOf(func(c *fakeMsg) { c.Doc = "%PDF rx 100mg" })
	resigned := copyOf(func(c *fakeMsg) { c.Verdict, c.Signer = receive.UnknownSigner, mallory })
	reused := orig // Verified, same Message-ID, other documents
	reused.Doc = "%PDF a new script"

	tests := []struct {
		name string
		msgs []fakeMsg
		copy int           // index in msgs of the copy checked
		orig int           // index of the Verified original it copies; -1: none marked
		kind manifest.Kind // of the mark
	}{
		{"stripped after the cancellation", []fakeMsg{orig, cancel, stripped}, 2, 0, manifest.Cancel},
		{"stripped before the cancellation", []fakeMsg{orig, stripped, cancel}, 1, 0, manifest.Cancel},
		{"stripped before the original", []fakeMsg{stripped, cancel, orig}, 0, 2, manifest.Cancel},
		{"stripped and altered", []fakeMsg{orig, cancel, altered}, 2, 0, manifest.Cancel},
		{"signed again by an unpinned key", []fakeMsg{orig, cancel, resigned}, 2, 0, manifest.Cancel},
		{"stripped after a replacement", []fakeMsg{orig, replace, stripped}, 2, 0, manifest.Replace},
		{"forged cancellation", []fakeMsg{orig, forged, stripped}, 2, -1, ""},
		{"original not here", []fakeMsg{cancel, stripped}, 1, -1, ""},
		{"Verified message reusing the Message-ID", []fakeMsg{orig, cancel, reused}, 2, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, ids := commitAll(t, tt.msgs...)
			got := mustGet(t, st, ids[tt.copy])
			if tt.orig < 0 {
				if got.Superseded != nil {
					t.Fatalf("marked %+v", got.Superseded)
				}
				return
			}
			s := got.Superseded
			if s == nil || s.CopyOf != ids[tt.orig] || s.Kind != tt.kind || s.At.IsZero() {
				t.Fatalf("copy's mark %+v, want %s as a copy of #%s", s, tt.kind, ids[tt.orig])
			}
			if o := mustGet(t, st, ids[tt.orig]).Superseded; o == nil || o.CopyOf != "" || o.ByID != s.ByID {
				t.Errorf("original's mark %+v, copy's %+v", o, s)
			}
			cl := mustGet(t, st, s.ByID).Supersedes
			if cl == nil || strings.Join(cl.Applied, ",") != ids[tt.orig] {
				t.Errorf("claim %+v, want applied to #%s only", cl, ids[tt.orig])
			}
			if tt.copy > tt.orig && len(got.Duplicates) == 0 { // the later of the two is the duplicate
				t.Error("the copy lost its duplicate warning")
			}
		})
	}
}
