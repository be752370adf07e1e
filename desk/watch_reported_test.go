package desk

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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

// TestWatchReportedRecordOfAnotherInbox: a reported-*.json that does not
// describe this inbox (an inbox started again beside the old watch
// folder, a record copied from another computer, or forged) hushes
// nothing. Item IDs are numbers given in order, so before, a record
// "2 items, the last #2" matched any inbox of two or more items, and
// the NOT VERIFIED lines of two messages no watch had reported never
// appeared; the record now also names the last item's message by its
// SHA-256.
func TestWatchReportedRecordOfAnotherInbox(t *testing.T) {
	d, srv := watchDesk(t)
	srv.Deliver(t, testdata(t, "unknown_signer.eml"))
	srv.Deliver(t, testdata(t, "not_signed.eml"))
	if _, err := d.Fetch(context.Background(), FetchOptions{}); err != nil {
		t.Fatal(err)
	}
	drop := t.TempDir()
	opts := WatchOptions{Drop: drop, Once: true, IncludeExisting: true}
	dl, err := d.openDeliverer(opts)
	if err != nil {
		t.Fatal(err)
	}
	path := dl.reported.path
	dl.Close()
	for _, rec := range []string{
		`{"items":2,"last_id":"2","version":1}`,
		`{"items":2,"last_id":"2","last_raw":"` + strings.Repeat("0", 64) + `","version":1}`,
	} {
		if err := os.WriteFile(path, []byte(rec), 0o600); err != nil {
			t.Fatal(err)
		}
		var ev events
		opts.Event = ev.add
		if err := d.Watch(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		if got := ev.count(EventNotDelivered); got != 2 {
			t.Errorf("record %s: %d not-verified reported, want 2\n%s", rec, got, &ev)
		}
	}
	// The record the watch wrote is its own: nothing again.
	var ev events
	opts.Event = ev.add
	if err := d.Watch(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if got := ev.count(EventNotDelivered); got != 0 {
		t.Errorf("reported again: %d\n%s", got, &ev)
	}
}
