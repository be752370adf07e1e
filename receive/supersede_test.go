package receive_test

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
)

// fakeMsg is a message as the store's verifier seam sees it: the test
// verifier turns it into the Report the real one would give (Verify's
// rules are tested in desk/ and e2e/ with real messages).
type fakeMsg struct {
	ID      string          `json:"id"`
	Verdict receive.Verdict `json:"verdict"`
	Signer  string          `json:"signer"`
	Doc     string          `json:"doc,omitempty"`
	Kind    manifest.Kind   `json:"kind,omitempty"`
	Target  string          `json:"target,omitempty"`
	Note    string          `json:"note,omitempty"`
}

var created = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

func fakeVerify(ctx context.Context, raw io.Reader, sink receive.DocumentSink) (*receive.Report, error) {
	var m fakeMsg
	if err := json.NewDecoder(raw).Decode(&m); err != nil {
		return nil, err
	}
	rep := &receive.Report{Verdict: m.Verdict, MessageID: "<" + m.ID + ">", From: "alice@clinic.test", SignerFingerprint: m.Signer, Note: m.Note,
		Documents: []receive.Document{}}
	mf := &manifest.Manifest{Version: 1, MessageID: m.ID, Created: created, DocumentType: "prescription", Recipients: []string{"bob@pharmacy.test"}}
	if m.Doc != "" {
		path, err := sink("rx.pdf", "application/pdf", strings.NewReader(m.Doc))
		if err != nil {
			return nil, err
		}
		rep.Documents = append(rep.Documents, receive.Document{Name: "rx.pdf", ContentType: "application/pdf", Size: int64(len(m.Doc)), Path: path})
	}
	if m.Target != "" {
		mf.Supersedes = &manifest.Supersedes{MessageID: m.Target, Kind: m.Kind}
	}
	rep.Manifest = mf
	return rep, nil
}

const (
	alice   = "AAAA0000AAAA0000AAAA0000AAAA0000AAAA0000"
	mallory = "BBBB1111BBBB1111BBBB1111BBBB1111BBBB1111"
)

// TestSupersedeStore: a claim marks its original whichever order the two
// arrive in, only when both are Verified and signed by the same key; any
// other claim changes nothing and says why on the claiming item; a
// replacement keeping a document is not flagged as a duplicate of what it
// replaces; all of it survives reopening and compacting the index.
func TestSupersedeStore(t *testing.T) {
	orig := fakeMsg{ID: "rx1@clinic.test", Verdict: receive.Verified, Signer: alice, Doc: "%PDF rx 10mg"}
	cancel := fakeMsg{ID: "c1@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Cancel, Target: orig.ID, Note: "wrong dose"}
	replace := fakeMsg{ID: "r1@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Replace, Target: orig.ID, Doc: "%PDF rx 10mg", Note: "corrected"}
	forged := cancel
	forged.ID, forged.Signer = "f1@evil.test", mallory
	unverified := cancel
	unverified.ID, unverified.Verdict = "u1@clinic.test", receive.UnknownSigner
	origUnknown := orig
	origUnknown.Verdict = receive.UnknownSigner

	tests := []struct {
		name    string
		msgs    []fakeMsg // in arrival order; the original is always msgs[origAt]
		origAt  int
		kind    manifest.Kind // "" = the original stays current
		by      int           // index of the claim in msgs
		refused string        // in the claim's Refused
		pending bool
	}{
		{"cancel after the original", []fakeMsg{orig, cancel}, 0, manifest.Cancel, 1, "", false},
		{"cancel before the original", []fakeMsg{cancel, orig}, 1, manifest.Cancel, 0, "", false},
		{"replacement after", []fakeMsg{orig, replace}, 0, manifest.Replace, 1, "", false},
		{"replacement before", []fakeMsg{replace, orig}, 1, manifest.Replace, 0, "", false},
		{"forged after", []fakeMsg{orig, forged}, 0, "", 1, "signed by a different key", false},
		{"forged before", []fakeMsg{forged, orig}, 1, "", 0, "signed by a different key", false},
		{"not verified", []fakeMsg{orig, unverified}, 0, "", 1, "not verified", false},
		{"original not verified", []fakeMsg{origUnknown, cancel}, 0, "", 1, "which is not verified", false},
		{"original never arrived", []fakeMsg{cancel}, -1, "", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, dir, key := newStore(t)
			var ids []string
			for i, m := range tt.msgs {
				raw, _ := json.Marshal(m)
				it, added, err := commitMessage(t, st, raw, receive.Source{Account: "a", Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i + 1)}, fakeVerify)
				if err != nil || !added {
					t.Fatalf("commit %s: %v %v", m.ID, added, err)
				}
				ids = append(ids, it.ID)
			}
			check := func(st *receive.Store) {
				t.Helper()
				claim, err := st.Get(ids[tt.by])
				if err != nil {
					t.Fatal(err)
				}
				c := claim.Supersedes
				if c == nil || c.MessageID != orig.ID {
					t.Fatalf("claim item: Supersedes %+v", c)
				}
				if tt.refused != "" && !strings.Contains(c.Refused, tt.refused) || tt.refused == "" && c.Refused != "" {
					t.Errorf("claim refused %q, want %q", c.Refused, tt.refused)
				}
				if c.Pending() != tt.pending {
					t.Errorf("pending %v, want %v (%+v)", c.Pending(), tt.pending, c)
				}
				if tt.origAt < 0 {
					return
				}
				o, err := st.Get(ids[tt.origAt])
				if err != nil {
					t.Fatal(err)
				}
				if tt.kind == "" {
					if o.Superseded != nil {
						t.Errorf("original marked %+v by a claim that must change nothing", o.Superseded)
					}
					return
				}
				want := receive.Supersession{Kind: tt.kind, ByMessageID: tt.msgs[tt.by].ID, ByID: ids[tt.by], At: created, Reason: tt.msgs[tt.by].Note}
				if o.Superseded == nil || *o.Superseded != want {
					t.Errorf("original: Superseded %+v, want %+v", o.Superseded, want)
				}
				if len(c.Applied) != 1 || c.Applied[0] != o.ID {
					t.Errorf("claim applied to %v, want [%s]", c.Applied, o.ID)
				}
				// Neither is a duplicate of the other for the document
				// the replacement keeps.
				for _, it := range []*receive.Item{o, claim} {
					if len(it.Duplicates) != 0 {
						t.Errorf("item %s: duplicates %+v", it.ID, it.Duplicates)
					}
				}
				all, err := st.List()
				if err != nil {
					t.Fatal(err)
				}
				if all[tt.origAt].Superseded == nil || all[tt.by].Supersedes == nil {
					t.Errorf("List does not carry the supersession: %+v", all)
				}
			}
			check(st)
			reopened, err := receive.OpenStore(dir, key, nil)
			if err != nil {
				t.Fatal(err)
			}
			check(reopened)
		})
	}
}

// TestSupersedeKeepsRealDuplicates: a replacement is still flagged as a
// repeat of a document that arrived in a message it does not replace.
func TestSupersedeKeepsRealDuplicates(t *testing.T) {
	st, _, _ := newStore(t)
	other := fakeMsg{ID: "other@clinic.test", Verdict: receive.Verified, Signer: alice, Doc: "%PDF same"}
	orig := fakeMsg{ID: "rx1@clinic.test", Verdict: receive.Verified, Signer: alice, Doc: "%PDF old"}
	repl := fakeMsg{ID: "r1@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Replace, Target: orig.ID, Doc: "%PDF same"}
	var last *receive.Item
	for i, m := range []fakeMsg{other, orig, repl} {
		raw, _ := json.Marshal(m)
		it, _, err := commitMessage(t, st, raw, receive.Source{Account: "a", Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i + 1)}, fakeVerify)
		if err != nil {
			t.Fatal(err)
		}
		last = it
	}
	if len(last.Duplicates) != 1 || last.Duplicates[0].Of != "1" {
		t.Errorf("replacement duplicates %+v, want the one of item 1", last.Duplicates)
	}
	if last.Supersedes == nil || len(last.Supersedes.Applied) != 1 {
		t.Errorf("replacement: %+v", last.Supersedes)
	}
}
