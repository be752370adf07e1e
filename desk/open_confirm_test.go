package desk

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// confirmInbox is Bob's inbox over a real IMAP server holding, from
// Alice's real outbox (signed only, so that a hostile server can strip
// the signature): a current prescription, a cancelled one, a replaced one
// and its replacement, the cancellation, and a stripped (not-signed) copy
// of each of the three originals. byName names the six items of the
// {verified, unverified} × {current, cancelled, replaced} grid.
type confirmInbox struct {
	bob    *Desk
	byName map[string]*receive.Item
}

func newConfirmInbox(t *testing.T) *confirmInbox {
	t.Helper()
	c := newClinicHome(t)
	never := func(content string) Draft {
		return Draft{Message: prescription(t, content), Encrypt: send.EncryptNever}
	}
	cur := c.send(t, never("current: amoxicillin 500mg"))
	canc := c.send(t, never("cancelled: amoxicillin 1000mg"))
	old := c.send(t, never("replaced: amoxicillin 250mg"))
	originals := c.mail()
	c.cancel(t, canc, "wrong dose: phone me")
	dr := never("replacement: amoxicillin 125mg")
	dr.Replaces, dr.Message.Note = "<"+old+">", "dose corrected"
	repl := c.send(t, dr)
	claims := c.mail()
	if len(originals) != 3 || len(claims) != 2 {
		t.Fatalf("the clinic sent %d originals and %d claims", len(originals), len(claims))
	}
	bob, srv := pharmacy(t)
	fetch(t, bob, srv, append(originals, claims...)...)
	var stripped [][]byte
	for _, raw := range originals {
		stripped = append(stripped, pgptest.StripSignature(t, raw))
	}
	fetch(t, bob, srv, stripped...)

	all, err := mustInbox(t, bob).List()
	if err != nil {
		t.Fatal(err)
	}
	ci := &confirmInbox{bob: bob, byName: map[string]*receive.Item{}}
	for _, w := range []struct{ name, msgID string }{
		{"current", cur}, {"cancelled", canc}, {"replaced", old}, {"replacement", repl},
	} {
		for i := range all {
			it := &all[i]
			if it.MessageID != w.msgID {
				continue
			}
			if it.Verdict == receive.Verified {
				ci.byName["verified "+w.name] = it
			} else {
				ci.byName["unverified "+w.name] = it
			}
		}
	}
	for _, n := range []string{"verified current", "verified cancelled", "verified replaced", "verified replacement",
		"unverified current", "unverified cancelled", "unverified replaced"} {
		if ci.byName[n] == nil {
			t.Fatalf("no %s item in %+v", n, all)
		}
	}
	// The grid's premises, from the real receive pipeline.
	for name, want := range map[string]*receive.Supersession{
		"verified current":     nil,
		"unverified current":   nil,
		"verified cancelled":   {Kind: manifest.Cancel},
		"unverified cancelled": {Kind: manifest.Cancel, CopyOf: ci.byName["verified cancelled"].ID},
		"verified replaced":    {Kind: manifest.Replace},
		"unverified replaced":  {Kind: manifest.Replace, CopyOf: ci.byName["verified replaced"].ID},
	} {
		s := ci.byName[name].Superseded
		if (s == nil) != (want == nil) || s != nil && (s.Kind != want.Kind || s.CopyOf != want.CopyOf) {
			t.Fatalf("%s: superseded %+v, want %+v", name, s, want)
		}
	}
	return ci
}

// TestOpenDocumentAsksEachQuestionOnItsOwn: over {verified, unverified}
// × {current, cancelled, replaced} × {no answer, only "open it though it
// is not verified", only "open it though it is no longer current", both},
// a document is written exactly when every question that applies to its
// message was answered, and the refusal names the first question still
// open: the supersession before the verdict, saying when the verdict's
// question follows. One answer never passes the other question (before,
// one Confirmed flag did: --yes-unverified wrote out a cancelled
// prescription).
func TestOpenDocumentAsksEachQuestionOnItsOwn(t *testing.T) {
	ci := newConfirmInbox(t)
	answers := []struct {
		name string
		ok   Confirmations
	}{
		{"no answer", Confirmations{}},
		{"only unverified", Confirmations{Unverified: true}},
		{"only superseded", Confirmations{Superseded: true}},
		{"both", Confirmations{Unverified: true, Superseded: true}},
	}
	const (
		opens      = "opens"
		superseded = "superseded"     // *SupersededError, Unverified false
		supAndNext = "superseded+unv" // *SupersededError, Unverified true
		unverified = "unverified"     // *UnconfirmedError
	)
	// want[item][answer], answers in the order above
	want := map[string][4]string{
		"verified current":     {opens, opens, opens, opens},
		"verified cancelled":   {superseded, superseded, opens, opens},
		"verified replaced":    {superseded, superseded, opens, opens},
		"unverified current":   {unverified, opens, unverified, opens},
		"unverified cancelled": {supAndNext, superseded, unverified, opens},
		"unverified replaced":  {supAndNext, superseded, unverified, opens},
	}
	for item, outcomes := range want {
		it := ci.byName[item]
		for i, a := range answers {
			t.Run(item+"/"+a.name, func(t *testing.T) {
				dir := t.TempDir()
				doc, err := ci.bob.OpenDocument(it.ID, 0, OpenOptions{Dir: dir, Confirmed: a.ok})
				var se *SupersededError
				var ue *UnconfirmedError
				switch outcomes[i] {
				case opens:
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					data, rerr := os.ReadFile(doc.Path)
					if rerr != nil || !bytes.HasPrefix(data, []byte("%PDF")) || sha(data) != it.Documents[0].SHA256 {
						t.Errorf("written %q: %q..., %v, want the document of SHA-256 %s", doc.Path, firstBytes(data), rerr, it.Documents[0].SHA256)
					}
				case superseded, supAndNext:
					if !errors.As(err, &se) || se.ID != it.ID || se.Superseded == nil || se.Superseded.Kind != it.Superseded.Kind {
						t.Fatalf("error %v, want a SupersededError for #%s", err, it.ID)
					}
					if se.Unverified != (outcomes[i] == supAndNext) {
						t.Errorf("SupersededError.Unverified %v (%v)", se.Unverified, err)
					}
					if !strings.Contains(err.Error(), SupersededBanner(it.Superseded)) {
						t.Errorf("error %q does not show what cancelled or replaced it", err)
					}
				case unverified:
					if !errors.As(err, &ue) || ue.ID != it.ID || ue.Report == nil || ue.Report.Verdict != it.Verdict {
						t.Fatalf("error %v, want an UnconfirmedError for #%s with its report", err, it.ID)
					}
				}
				if err != nil {
					if entries, _ := os.ReadDir(dir); len(entries) != 0 {
						t.Errorf("a refused document left %v", entries)
					}
				}
			})
		}
	}
}

// TestOpenDocumentAnswerEachRefusal: a caller that answers exactly the
// question of each refusal and calls again (as the CLI and the app do)
// gets the document of an unverified copy of a cancelled message after
// two questions, supersession first, and of a message that is only one
// of the two after one.
func TestOpenDocumentAnswerEachRefusal(t *testing.T) {
	ci := newConfirmInbox(t)
	for item, wantAsked := range map[string]string{
		"verified current":     "",
		"verified cancelled":   "superseded",
		"unverified current":   "unverified",
		"unverified cancelled": "superseded unverified",
		"unverified replaced":  "superseded unverified",
	} {
		t.Run(item, func(t *testing.T) {
			opts := OpenOptions{Dir: t.TempDir()}
			var asked []string
			for range 3 {
				_, err := ci.bob.OpenDocument(ci.byName[item].ID, 0, opts)
				var se *SupersededError
				var ue *UnconfirmedError
				switch {
				case errors.As(err, &se):
					asked, opts.Confirmed.Superseded = append(asked, "superseded"), true
					continue
				case errors.As(err, &ue):
					asked, opts.Confirmed.Unverified = append(asked, "unverified"), true
					continue
				case err != nil:
					t.Fatal(err)
				}
				break
			}
			if got := strings.Join(asked, " "); got != wantAsked {
				t.Errorf("questions asked %q, want %q", got, wantAsked)
			}
			if entries, _ := os.ReadDir(opts.Dir); len(entries) != 1 {
				t.Errorf("written: %v", entries)
			}
		})
	}
}

// TestWatchDeliversOnlyCurrentVerified: the watch hands on (here to a
// drop folder) only the documents of messages that are verified and
// current, never those of a cancelled or replaced message nor of an
// unverified copy of one, and says why of each it holds back.
func TestWatchDeliversOnlyCurrentVerified(t *testing.T) {
	ci := newConfirmInbox(t)
	drop := t.TempDir()
	var ev events
	if err := ci.bob.Watch(context.Background(), WatchOptions{Drop: drop, Once: true, IncludeExisting: true, Event: ev.add}); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{} // the SHA-256 of each document that may be dropped
	for _, n := range []string{"verified current", "verified replacement"} {
		want[ci.byName[n].Documents[0].SHA256] = true
	}
	var docs int
	for _, f := range dropped(t, drop) {
		if strings.HasSuffix(f, ".json") {
			continue
		}
		docs++
		data, err := os.ReadFile(filepath.Join(drop, f))
		if err != nil || !want[sha(data)] {
			t.Errorf("dropped %s (SHA-256 %s, %v): not a verified current document\n%s", f, sha(data), err, &ev)
		}
	}
	if docs != len(want) {
		t.Errorf("dropped %d documents, want %d\n%s", docs, len(want), &ev)
	}
	held := map[string]string{}
	for _, e := range ev.all {
		if e.Kind == EventNotDelivered {
			held[e.Item] = e.Detail
		}
	}
	for _, n := range []string{"verified cancelled", "verified replaced", "unverified current", "unverified cancelled", "unverified replaced"} {
		it := ci.byName[n]
		d, ok := held[it.ID]
		if !ok {
			t.Errorf("%s (#%s): no not-delivered event\n%s", n, it.ID, &ev)
			continue
		}
		if it.Verdict == receive.Verified && d != SupersededBanner(it.Superseded) {
			t.Errorf("%s: not-delivered detail %q, want the banner", n, d)
		}
	}
}
