package desk

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/internal/deliverjournal"
)

// possiblyPrinted gives a Desk with one verified document possibly
// printed on the real CUPS c: lp queued the job and was then killed, so
// the watch cannot know whether it printed.
func possiblyPrinted(t *testing.T, c *cups) *Desk {
	t.Helper()
	d, srv := watchDesk(t)
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	killed := filepath.Join(t.TempDir(), "lp-then-killed")
	if err := os.WriteFile(killed, []byte("#!/bin/sh\nlp \"$@\" || exit $?\nkill -9 $$\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	var ev events
	// The printer may have jobs of an earlier test: this one is the next.
	before := len(c.received())
	if err := d.Watch(context.Background(), WatchOptions{Printer: &LP{Printer: c.Queue, Command: killed, Env: c.env()}, Once: true, IncludeExisting: true, Event: ev.add}); err != nil {
		t.Fatal(err)
	}
	if ev.count(EventPossiblyDelivered) != 1 {
		t.Fatalf("not possibly printed:\n%s", &ev)
	}
	waitFor(t, time.Minute, func() bool { return len(c.received()) == before+1 }, &ev)
	return d
}

// TestWatchSettle: a possibly printed document is listed, is never printed
// again by the watch on its own, and is settled by a person: "printed"
// (never printed again) or "reprint" (the next watch prints it, once).
// Each decision is audited; the watch must not be running; only a
// possibly printed document can be settled.
func TestWatchSettle(t *testing.T) {
	c := startCUPS(t)
	for _, s := range []Settlement{SettlePrinted, SettleReprint} {
		t.Run(string(s), func(t *testing.T) {
			before := len(c.received())
			d := possiblyPrinted(t, c)
			list, err := d.PossiblyPrinted(c.Queue)
			if err != nil || len(list) != 1 || list[0].Doc != 0 || len(list[0].SHA256) != 64 {
				t.Fatalf("PossiblyPrinted = %+v, %v", list, err)
			}
			item := list[0].Item

			// Refusals first: nothing is recorded.
			if _, err := d.SettlePrint(c.Queue, item, 0, "maybe"); err == nil {
				t.Error("an unknown settlement was accepted")
			}
			if _, err := d.SettlePrint(c.Queue, item+"9", -1, s); !errors.Is(err, ErrNotUnsettled) {
				t.Errorf("another item: %v", err)
			}
			if _, err := d.SettlePrint(c.Queue, item, 1, s); !errors.Is(err, ErrNotUnsettled) {
				t.Errorf("another document: %v", err)
			}
			if _, err := d.SettlePrint("other-queue", item, 0, s); !errors.Is(err, ErrNotUnsettled) {
				t.Errorf("another printer: %v", err)
			}
			dir, _ := d.home.Sub("watch")
			held, err := deliverjournal.Open(filepath.Join(dir, "print-"+shortHash(c.Queue)+".journal"), d.Keychain())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.SettlePrint(c.Queue, item, 0, s); !errors.Is(err, ErrWatchRunning) {
				t.Errorf("while a watch holds the journal: %v", err)
			}
			held.Close()

			// A watch before the decision does not print it.
			var ev events
			if err := d.Watch(context.Background(), WatchOptions{Printer: c.printer(), Once: true, Event: ev.add}); err != nil {
				t.Fatal(err)
			}
			if ev.count(EventPossiblyDelivered) != 1 || ev.count(EventDelivered) != 0 {
				t.Fatalf("before settling:\n%s", &ev)
			}

			done, err := d.SettlePrint(c.Queue, item, -1, s)
			if err != nil || len(done) != 1 {
				t.Fatalf("SettlePrint = %+v, %v", done, err)
			}
			if list, err := d.PossiblyPrinted(c.Queue); err != nil || len(list) != 0 {
				t.Errorf("still possibly printed: %+v, %v", list, err)
			}
			if _, err := d.SettlePrint(c.Queue, item, 0, s); !errors.Is(err, ErrNotUnsettled) {
				t.Errorf("settled twice: %v", err)
			}

			// Two watches after it: a reprint prints exactly once more.
			for range 2 {
				if err := d.Watch(context.Background(), WatchOptions{Printer: c.printer(), Once: true}); err != nil {
					t.Fatal(err)
				}
			}
			want := before + 1
			if s == SettleReprint {
				want++
				waitFor(t, time.Minute, func() bool { return len(c.received()) == want }, &ev)
			}
			time.Sleep(time.Second)
			if n := len(c.received()); n != want {
				t.Errorf("the printer received %d jobs, want %d", n, want)
			}

			l, err := d.Audit()
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := l.Export(&buf, audit.JSON, time.Time{}); err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(buf.String(), string(audit.WatchSettled)); got != 1 || !strings.Contains(buf.String(), list[0].SHA256) {
				t.Errorf("%d watch.settled entries (want 1, with the hash):\n%s", got, buf.String())
			}
		})
	}
}
