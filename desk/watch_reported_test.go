package desk

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestWatchReportsOnce: what a watch did not deliver and why (a message
// not verified, a document delivered already in another message) is
// reported by the run that first looked at it, not again by every later
// run over the whole inbox (a watch started every morning, a --once run
// every few minutes): a later run reports only what is new. Losing the
// record reports everything once more, and the documents are delivered
// as before either way.
func TestWatchReportsOnce(t *testing.T) {
	d, srv := watchDesk(t)
	doc := []byte(attackPDF)
	srv.Deliver(t, aliceMessage(t, "bob@pharmacy.test", doc))
	srv.Deliver(t, aliceMessage(t, "bob@pharmacy.test", doc)) // the same document again
	srv.Deliver(t, testdata(t, "unknown_signer.eml"))
	srv.Deliver(t, testdata(t, "not_signed.eml"))
	drop := t.TempDir()
	run := func(name string, notDelivered, already, delivered int) *events {
		t.Helper()
		var ev events
		if err := d.Watch(context.Background(), WatchOptions{Drop: drop, Once: true, IncludeExisting: true, Event: ev.add}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ev.count(EventNotDelivered) != notDelivered || ev.count(EventAlreadyDelivered) != already || ev.count(EventDelivered) != delivered {
			t.Fatalf("%s: %d not delivered, %d already delivered, %d delivered; want %d, %d, %d\n%s", name,
				ev.count(EventNotDelivered), ev.count(EventAlreadyDelivered), ev.count(EventDelivered), notDelivered, already, delivered, &ev)
		}
		return &ev
	}
	run("first run", 2, 1, 1)
	run("second run, nothing new", 0, 0, 0)
	srv.Deliver(t, testdata(t, "bad_signature_body_altered.eml"))
	srv.Deliver(t, aliceMessage(t, "bob@pharmacy.test", append([]byte(attackPDF), "new"...)))
	ev := run("third run, two new", 1, 0, 1)
	for _, e := range ev.all {
		if e.Kind == EventNotDelivered && e.Item != "5" {
			t.Errorf("reported again: #%s", e.Item)
		}
	}
	rec, err := filepath.Glob(filepath.Join(d.home.Path("watch"), "reported-*.json"))
	if err != nil || len(rec) != 1 {
		t.Fatalf("record %v %v", rec, err)
	}
	if err := os.Remove(rec[0]); err != nil {
		t.Fatal(err)
	}
	run("after the record was lost", 3, 1, 0)
	if err := os.WriteFile(rec[0], []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	run("after the record was damaged", 3, 1, 0)
	run("and then", 0, 0, 0)
	if n := len(dropped(t, drop)); n != 4 {
		t.Errorf("%d files dropped, want 2 documents and their sidecars", n)
	}
}
