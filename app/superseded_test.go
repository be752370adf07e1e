package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
)

// supersededInbox starts the app with items a, b, c, ... (items[i] gets
// key 'a'+i), a Document that counts its calls and records whether the
// app said the user confirmed, fetches and selects item 0.
func supersededInbox(t *testing.T, calls *int, confirmed *bool, items ...Received) *demoUI {
	t.Helper()
	file := pdfFile(t, "prescription.pdf", "%PDF-1.4\n")
	u := newDemoUI(t, func(c *Config) {
		c.Fetch = func(context.Context) ([]Received, error) {
			for i := range items {
				items[i].Key = string(rune('a' + i))
				items[i].Source = "mailbox"
				items[i].Received = time.Now().Add(-time.Duration(i) * time.Minute)
			}
			return items, nil
		}
		c.Document = func(key string, _ int, c bool) (string, error) {
			*calls++
			*confirmed = c
			return file, nil
		}
	})
	fetched := expect(&u.inbox.fetchDone)
	test.Tap(u.inbox.check)
	await(t, "fetch", fetched)
	u.inbox.list.Select(0)
	return u
}

var at = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

// TestCancelledBanner: a message its sender cancelled shows the red
// banner with the time and the reason, and its document is opened only
// after a question that shows them (then with the confirmation passed on,
// as desk.OpenDocument requires).
func TestCancelledBanner(t *testing.T) {
	calls, confirmed := 0, false
	orig := Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc},
		Superseded: &receive.Supersession{Kind: manifest.Cancel, ByID: "b", ByMessageID: "c1@clinic.test", At: at, Reason: "wrong dose"}}
	cancel := Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: []receive.Document{}},
		Supersedes: &receive.SupersedeClaim{Kind: manifest.Cancel, MessageID: "rx1@clinic.test", Applied: []string{"a"}}}
	u := supersededInbox(t, &calls, &confirmed, orig, cancel)
	d := labelsIn(u.inbox.detail)
	if !strings.Contains(d, "Cancelled by the sender — do not dispense") || !strings.Contains(d, "CANCELLED by the sender at ") || !strings.Contains(d, ": wrong dose.") {
		t.Fatalf("no cancelled banner:\n%s", d)
	}
	test.Tap(findButton(t, u.inbox.detail, "Open"))
	if calls != 0 {
		t.Fatal("a cancelled document was opened without asking")
	}
	overlay := u.win.Canvas().Overlays().Top()
	if overlay == nil || !strings.Contains(labelsIn(overlay), "NO LONGER CURRENT") || !strings.Contains(labelsIn(overlay), "wrong dose") {
		t.Fatalf("no question showing the cancellation")
	}
	test.Tap(buttonsIn(overlay, "Open anyway")[0])
	if calls != 1 || !confirmed {
		t.Errorf("confirmed open: %d calls, confirmed %v", calls, confirmed)
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
	calls, confirmed := 0, false
	orig := Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc},
		Superseded: &receive.Supersession{Kind: manifest.Replace, ByID: "b", ByMessageID: "r1@clinic.test", At: at}}
	repl := Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Subject: "the new one", Documents: rxDoc},
		Supersedes: &receive.SupersedeClaim{Kind: manifest.Replace, MessageID: "rx1@clinic.test", Applied: []string{"a"}}}
	u := supersededInbox(t, &calls, &confirmed, orig, repl)
	if d := labelsIn(u.inbox.detail); !strings.Contains(d, "Replaced by the sender — use the new message") || !strings.Contains(d, "with message #b (r1@clinic.test)") {
		t.Fatalf("no replaced banner:\n%s", d)
	}
	test.Tap(findButton(t, u.inbox.detail, "Show the new message (#b)"))
	if d := labelsIn(u.inbox.detail); !strings.Contains(d, "the new one") {
		t.Errorf("the link did not show the replacement:\n%s", d)
	}

	calls = 0
	forged := Received{Report: &receive.Report{Verdict: receive.Verified, From: "mallory@evil.test", Documents: []receive.Document{}},
		Supersedes: &receive.SupersedeClaim{Kind: manifest.Cancel, MessageID: "rx1@clinic.test", Refused: "WARNING: this message says it cancels message #b, but it is signed by a different key"}}
	current := Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc}}
	v := supersededInbox(t, &calls, &confirmed, forged, current)
	if d := labelsIn(v.inbox.detail); !strings.Contains(d, "This cancellation or replacement changed nothing") || !strings.Contains(d, "signed by a different key") {
		t.Errorf("forged cancellation:\n%s", d)
	}
	v.inbox.list.Select(1)
	test.Tap(findButton(t, v.inbox.detail, "Open"))
	if calls != 1 || confirmed || v.win.Canvas().Overlays().Top() != nil {
		t.Errorf("the message a forged cancellation names: %d calls, confirmed %v", calls, confirmed)
	}
}
