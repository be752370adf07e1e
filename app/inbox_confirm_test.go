package app

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
)

// unverifiedCopy is a not-signed copy (a hostile server's re-delivery,
// stripped of its signature) of item x, which its verified sender
// cancelled or replaced (kind).
func unverifiedCopy(kind manifest.Kind) Received {
	return Received{
		Report: &receive.Report{Verdict: receive.NotSigned, From: "alice@clinic.test", Documents: rxDoc,
			Reason: "This message is not signed: there is no proof of who sent it."},
		Superseded: &receive.Supersession{Kind: kind, ByID: "y", ByMessageID: "c1@clinic.test", At: at, Reason: "wrong patient", CopyOf: "x"},
	}
}

// question returns the dialog on top of the window, failing the test
// when there is none or when its text lacks any of want.
func question(t *testing.T, u *demoUI, which string, want ...string) fyne.CanvasObject {
	t.Helper()
	o := u.win.Canvas().Overlays().Top()
	if o == nil {
		t.Fatalf("no %s question", which)
	}
	text := labelsIn(o)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Fatalf("the %s question lacks %q:\n%s", which, w, text)
		}
	}
	return o
}

// tapIn taps the button text in overlay o.
func tapIn(t *testing.T, o fyne.CanvasObject, text string) {
	t.Helper()
	b := buttonsIn(o, text)
	if len(b) != 1 {
		t.Fatalf("%d buttons %q in the question", len(b), text)
	}
	test.Tap(b[0])
}

// TestCancelledUnverifiedCopyAsksBoth: Preview, Open and Save as… of a
// document of an unverified copy of a cancelled or replaced message ask
// two questions, one after the other: first that it is no longer current
// (naming what cancelled or replaced it and why, and that the second
// question follows), then that it is not verified (with the verdict's
// reason). The document is asked for only after both, with both answers;
// Cancel at either question asks for nothing. Before, one question (the
// supersession's) passed one confirmation that answered both.
func TestCancelledUnverifiedCopyAsksBoth(t *testing.T) {
	for _, kind := range []struct {
		Kind          manifest.Kind
		Title, Banner string
	}{
		{Kind: manifest.Cancel, Title: "Cancelled by the sender", Banner: "was CANCELLED by its verified sender at "},
		{Kind: manifest.Replace, Title: "Replaced by the sender", Banner: "was REPLACED by its verified sender at "},
	} {
		for _, verb := range []struct{ button, verb string }{{"Preview", "Preview"}, {"Open", "Open"}, {"Save as…", "Save"}} {
			t.Run(kind.Title+"/"+verb.button, func(t *testing.T) {
				u, store := supersededInbox(t, unverifiedCopy(kind.Kind))
				previewed := expect(&u.inbox.previewDone)
				test.Tap(findButton(t, u.inbox.detail, verb.button))
				first := question(t, u, "supersession", "No longer current: "+kind.Title, kind.Banner, ": wrong patient.",
					"NO LONGER CURRENT", "It is not verified either: you will be asked about that next.")
				tapIn(t, first, verb.verb+" anyway")
				if calls, _ := store.handedOut(); calls != 0 {
					t.Fatal("the document was asked for after the first question only")
				}
				second := question(t, u, "verdict", "NOT VERIFIED", "there is no proof of who sent it")
				if strings.Contains(labelsIn(second), "NO LONGER CURRENT") {
					t.Fatalf("the second question asks the first again:\n%s", labelsIn(second))
				}
				tapIn(t, second, verb.verb+" anyway")
				if verb.button == "Preview" {
					await(t, "preview", previewed)
				}
				if calls, ok := store.handedOut(); calls != 1 || ok != (desk.Confirmations{Superseded: true, Unverified: true}) {
					t.Errorf("after both questions: %d documents, answers %+v", calls, ok)
				}
			})
		}
	}
	for _, at := range []string{"first", "second"} {
		t.Run("Cancel at the "+at, func(t *testing.T) {
			u, store := supersededInbox(t, unverifiedCopy(manifest.Cancel))
			test.Tap(findButton(t, u.inbox.detail, "Open"))
			q := question(t, u, "supersession", "NO LONGER CURRENT")
			if at == "second" {
				tapIn(t, q, "Open anyway")
				q = question(t, u, "verdict", "NOT VERIFIED")
			}
			tapIn(t, q, "Cancel")
			if o := u.win.Canvas().Overlays().Top(); o != nil {
				t.Errorf("another question after Cancel:\n%s", labelsIn(o))
			}
			if calls, _ := store.handedOut(); calls != 0 {
				t.Errorf("%d documents handed out after Cancel", calls)
			}
		})
	}
}

// TestUnverifiedCurrentAsksOnlyTheVerdict: a document of a message that
// is not verified but current asks one question, the verdict's, and
// passes only that answer.
func TestUnverifiedCurrentAsksOnlyTheVerdict(t *testing.T) {
	it := unverifiedCopy(manifest.Cancel)
	it.Superseded = nil
	u, store := supersededInbox(t, it)
	test.Tap(findButton(t, u.inbox.detail, "Open"))
	q := question(t, u, "verdict", "NOT VERIFIED")
	if strings.Contains(labelsIn(q), "NO LONGER CURRENT") {
		t.Errorf("a current message asked about as no longer current:\n%s", labelsIn(q))
	}
	tapIn(t, q, "Open anyway")
	if calls, ok := store.handedOut(); calls != 1 || ok != (desk.Confirmations{Unverified: true}) || u.win.Canvas().Overlays().Top() != nil {
		t.Errorf("%d documents, answers %+v, another question %v", calls, ok, u.win.Canvas().Overlays().Top() != nil)
	}
}

// TestCancelledSinceTheListAsksThen: when the store knows a cancellation
// the fetched list does not show yet, the store's refusal is not an error
// message but the question it wants answered, after which the document
// opens (or previews).
func TestCancelledSinceTheListAsksThen(t *testing.T) {
	for _, button := range []string{"Open", "Preview"} {
		t.Run(button, func(t *testing.T) {
			u, store := supersededInbox(t, Received{Report: &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: rxDoc}})
			store.mu.Lock()
			store.marks["a"] = &receive.Supersession{Kind: manifest.Cancel, ByID: "b", ByMessageID: "c1@clinic.test", At: at, Reason: "wrong dose"}
			store.mu.Unlock()
			previewed := expect(&u.inbox.previewDone)
			test.Tap(findButton(t, u.inbox.detail, button))
			if button == "Preview" {
				await(t, "preview", previewed)
			}
			if d := labelsIn(u.inbox.detail); strings.Contains(d, "Could not") || strings.Contains(d, "No preview") || strings.Contains(d, "Making the preview") {
				t.Errorf("the refusal was shown as an error, not asked:\n%s", d)
			}
			q := question(t, u, "supersession", "NO LONGER CURRENT", "CANCELLED by the sender at ", ": wrong dose.")
			if strings.Contains(labelsIn(q), "not verified") {
				t.Errorf("a verified message's question says it is not verified:\n%s", labelsIn(q))
			}
			tapIn(t, q, button+" anyway")
			if button == "Preview" {
				await(t, "preview", previewed)
			}
			if calls, ok := store.handedOut(); calls != 1 || ok != (desk.Confirmations{Superseded: true}) {
				t.Errorf("%d documents, answers %+v", calls, ok)
			}
		})
	}
}
