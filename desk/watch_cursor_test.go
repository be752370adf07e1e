package desk

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/receive"
)

// TestWatchRoundLooksOnlyAtNew: after its first round, a round of the
// watch looks at the items stored since and at those whose delivery
// failed, not at the whole inbox again (what a message costs the watch
// must not grow with the inbox, issue 20); a failed drop is still tried
// on every round until it succeeds, and then no more.
func TestWatchRoundLooksOnlyAtNew(t *testing.T) {
	d, srv := watchDesk(t)
	ctx := context.Background()
	drop := t.TempDir()
	doc := func() []byte {
		b := make([]byte, 64)
		rand.Read(b)
		return append([]byte(attackPDF), b...)
	}
	fetch := func(n int) {
		t.Helper()
		for range n {
			srv.Deliver(t, aliceMessage(t, "bob@pharmacy.test", doc()))
		}
		if _, err := d.Fetch(ctx, FetchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dl, err := d.openDeliverer(WatchOptions{Drop: drop, IncludeExisting: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	if err := dl.start(); err != nil {
		t.Fatal(err)
	}
	var ev events
	// round runs one round and checks how many items it looked at and
	// how many documents the drop folder then holds.
	round := func(name string, looked, docs int) {
		t.Helper()
		before := dl.looked
		if err := dl.deliverAll(ctx, ev.add); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := 0
		for _, f := range dropped(t, drop) {
			if !strings.HasSuffix(f, ".json") {
				n++
			}
		}
		if got := dl.looked - before; got != looked || n != docs {
			t.Fatalf("%s: looked at %d items (want %d), %d documents dropped (want %d)\n%s", name, got, looked, n, docs, &ev)
		}
	}

	fetch(5)
	round("first round", 5, 5)
	round("nothing new", 0, 5)
	fetch(1)
	round("one new", 1, 6)

	// The next item's document cannot be dropped: a file holds its
	// sidecar's name (the watch never writes over a file).
	fetch(1)
	items, err := dl.st.List()
	if err != nil {
		t.Fatal(err)
	}
	last := items[len(items)-1]
	rep, err := dl.st.Report(last.ID)
	if err != nil {
		t.Fatal(err)
	}
	sidecarName := filepath.Join(drop, last.ID+"-1-"+receive.SanitizeName(rep.Documents[0].Name)+".json")
	if err := os.WriteFile(sidecarName, []byte("not ours"), 0o600); err != nil {
		t.Fatal(err)
	}
	round("a drop that fails", 1, 6)
	if ev.count(EventFailed) != 1 {
		t.Fatalf("events:\n%s", &ev)
	}
	round("the failed one again", 1, 6)
	fetch(1)
	round("the failed one and a new one", 2, 7)
	if err := os.Remove(sidecarName); err != nil {
		t.Fatal(err)
	}
	round("the failed one succeeds", 1, 8)
	round("all done", 0, 8)
	if ev.count(EventDelivered) != 8 {
		t.Errorf("delivered %d, want 8\n%s", ev.count(EventDelivered), &ev)
	}
}
