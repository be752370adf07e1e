package app

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
)

// docStore is a Document for the tests below that applies
// desk.Desk.OpenDocument's two questions as desk does, with desk's own
// error types: a cancelled or replaced item only with ok.Superseded
// (*desk.SupersededError, first), one that is not verified only with
// ok.Unverified (*desk.UnconfirmedError). marks is what the store knows
// of supersessions, which may be ahead of the list the app fetched. It
// counts the documents handed out and keeps the answers of the last one.
type docStore struct {
	mu    sync.Mutex
	file  string
	items []Received
	marks map[string]*receive.Supersession // by key; the list's when absent
	calls int
	last  desk.Confirmations
}

func (d *docStore) document(key string, _ int, ok desk.Confirmations) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	it := d.items[key[0]-'a']
	s, known := d.marks[key]
	if !known {
		s = it.Superseded
	}
	if s != nil && !ok.Superseded {
		return "", &desk.SupersededError{ID: key, Superseded: s, Unverified: !desk.Trusted(it.Report) && !ok.Unverified}
	}
	if !desk.Trusted(it.Report) && !ok.Unverified {
		return "", &desk.UnconfirmedError{ID: key, Report: it.Report}
	}
	d.calls++
	d.last = ok
	return d.file, nil
}

// handedOut is how many documents the store handed out, and the answers
// passed with the last one.
func (d *docStore) handedOut() (int, desk.Confirmations) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls, d.last
}

// supersededInbox starts the app with items a, b, c, ... (items[i] gets
// key 'a'+i) over a docStore, fetches and selects item 0.
func supersededInbox(t *testing.T, items ...Received) (*demoUI, *docStore) {
	t.Helper()
	for i := range items {
		items[i].Key = string(rune('a' + i))
		items[i].Source = "mailbox"
		items[i].Received = time.Now().Add(-time.Duration(i) * time.Minute)
	}
	store := &docStore{file: pdfFile(t, "prescription.pdf", "%PDF-1.4\n"), items: items, marks: map[string]*receive.Supersession{}}
	u := newDemoUI(t, func(c *Config) {
		c.Fetch = func(context.Context) ([]Received, error) { return items, nil }
		c.Document = store.document
	})
	fetched := expect(&u.inbox.fetchDone)
	test.Tap(u.inbox.check)
	await(t, "fetch", fetched)
	u.inbox.list.Select(0)
	return u, store
}

var at = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

// TestCancelledBanner: a message its sender cancelled shows the red
// banner with the time and the reason, and its document is opened only
// after a question that shows them (then with the confirmation passed on,
// as desk.OpenDocument requires).
func TestCancelledBanner(t *testing.T) {
	orig := Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc},
		Superseded: &receive.Supersession{Kind: manifest.Cancel, ByID: "b", ByMessageID: "c1@clinic.test", At: at, Reason: "wrong dose"}}
	cancel := Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: []receive.Document{}},
		Supersedes: &receive.SupersedeClaim{Kind: manifest.Cancel, MessageID: "rx1@clinic.test", Applied: []string{"a"}}}
	u, store := supersededInbox(t, orig, cancel)
	d := labelsIn(u.inbox.detail)
	if !strings.Contains(d, "Cancelled by the sender — do not dispense") || !strings.Contains(d, "CANCELLED by the sender at ") || !strings.Contains(d, ": wrong dose.") {
		t.Fatalf("no cancelled banner:\n%s", d)
	}
	test.Tap(findButton(t, u.inbox.detail, "Open"))
	if calls, _ := store.handedOut(); calls != 0 {
		t.Fatal("a cancelled document was opened without asking")
	}
	overlay := u.win.Canvas().Overlays().Top()
	if overlay == nil || !strings.Contains(labelsIn(overlay), "NO LONGER CURRENT") || !strings.Contains(labelsIn(overlay), "wrong dose") {
		t.Fatalf("no question showing the cancellation")
	}
	if strings.Contains(labelsIn(overlay), "not verified") {
		t.Errorf("a verified message's question says it is not verified:\n%s", labelsIn(overlay))
	}
	test.Tap(buttonsIn(overlay, "Open anyway")[0])
	if calls, ok := store.handedOut(); calls != 1 || ok != (desk.Confirmations{Superseded: true}) || u.win.Canvas().Overlays().Top() != nil {
		t.Errorf("confirmed open: %d calls, answers %+v, another question %v", calls, ok, u.win.Canvas().Overlays().Top() != nil)
	}
	// The cancellation itself says what it did.
	u.inbox.list.Select(1)
	if d := labelsIn(u.inbox.detail); !strings.Contains(d, "now marked as cancelled") {
		t.Errorf("cancellation item:\n%s", d)
	}
}

// TestReplacedLinksToTheNewOne: a replaced message links to its
// replacement; a cancellation by another key is a red warning on itself
// and leaves the message it names opening without a question.
func TestReplacedLinksToTheNewOne(t *testing.T) {
	orig := Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc},
		Superseded: &receive.Supersession{Kind: manifest.Replace, ByID: "b", ByMessageID: "r1@clinic.test", At: at}}
	repl := Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Subject: "the new one", Documents: rxDoc},
		Supersedes: &receive.SupersedeClaim{Kind: manifest.Replace, MessageID: "rx1@clinic.test", Applied: []string{"a"}}}
	u, _ := supersededInbox(t, orig, repl)
	if d := labelsIn(u.inbox.detail); !strings.Contains(d, "Replaced by the sender — use the new message") || !strings.Contains(d, "with message #b (r1@clinic.test)") {
		t.Fatalf("no replaced banner:\n%s", d)
	}
	test.Tap(findButton(t, u.inbox.detail, "Show the new message (#b)"))
	if d := labelsIn(u.inbox.detail); !strings.Contains(d, "the new one") {
		t.Errorf("the link did not show the replacement:\n%s", d)
	}

	forged := Received{Report: &receive.Report{Verdict: receive.Verified, From: "mallory@evil.test", Documents: []receive.Document{}},
		Supersedes: &receive.SupersedeClaim{Kind: manifest.Cancel, MessageID: "rx1@clinic.test", Refused: "WARNING: this message says it cancels message #b, but it is signed by a different key"}}
	current := Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc}}
	v, store := supersededInbox(t, forged, current)
	if d := labelsIn(v.inbox.detail); !strings.Contains(d, "This cancellation or replacement changed nothing") || !strings.Contains(d, "signed by a different key") {
		t.Errorf("forged cancellation:\n%s", d)
	}
	v.inbox.list.Select(1)
	test.Tap(findButton(t, v.inbox.detail, "Open"))
	if calls, ok := store.handedOut(); calls != 1 || ok != (desk.Confirmations{}) || v.win.Canvas().Overlays().Top() != nil {
		t.Errorf("the message a forged cancellation names: %d calls, answers %+v", calls, ok)
	}
}
