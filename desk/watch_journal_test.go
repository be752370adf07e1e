package desk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/internal/deliverjournal"
	"github.com/securesend/securesend/receive"
)

// auditCount is how many entries of kind the home's audit log holds.
func auditCount(t *testing.T, d *Desk, kind audit.Kind) int {
	t.Helper()
	l, err := d.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := l.Export(&buf, audit.JSON, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return strings.Count(buf.String(), `"`+string(kind)+`"`)
}

// fetchedItems fetches the mailbox into the inbox and lists it.
func fetchedItems(t *testing.T, d *Desk) []receive.Item {
	t.Helper()
	if _, err := d.Fetch(context.Background(), FetchOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := d.Inbox()
	if err != nil {
		t.Fatal(err)
	}
	items, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Verdict != receive.Verified || len(items[0].Documents) == 0 {
		t.Fatalf("inbox %+v", items)
	}
	return items
}

// TestWatchForgedJournalDone: someone who can write the home but not the
// keychain appends "done" for a verified document that was never
// dropped, so that it would never be. The watch does not take it for
// done, nor deliver blindly: it refuses to start with a clear error,
// audits it, drops nothing, and the document stays in the inbox; with
// the journal as the watch left it, the document is dropped.
func TestWatchForgedJournalDone(t *testing.T) {
	d, srv := watchDesk(t)
	ctx := context.Background()
	drop := t.TempDir()
	// The destination is watched before the message arrives.
	if err := d.Watch(ctx, WatchOptions{Drop: drop, Once: true}); err != nil {
		t.Fatal(err)
	}
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	items := fetchedItems(t, d)
	jpath := filepath.Join(d.Home().Path("watch"), "drop-"+shortHash(drop)+".journal")
	orig, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	var plain, sealed strings.Builder
	for n := range items[0].Documents {
		fmt.Fprintf(&plain, `{"key":%q,"state":"done","item":%q,"doc":%d,"time":"2026-12-08T09:00:00Z","detail":"x"}`+"\n", docKey(&items[0], n), items[0].ID, n)
		fmt.Fprintf(&sealed, `{"seq":%d,"key":%q,"state":"done","item":%q,"doc":%d,"time":"2026-12-08T09:00:00Z","mac":"%s"}`+"\n", n+1, docKey(&items[0], n), items[0].ID, n, strings.Repeat("5a", 32))
	}
	for i, forged := range []string{plain.String(), sealed.String()} {
		if err := os.WriteFile(jpath, append(append([]byte(nil), orig...), forged...), 0o600); err != nil {
			t.Fatal(err)
		}
		var ev events
		err := d.Watch(ctx, WatchOptions{Drop: drop, Once: true, Event: ev.add})
		var jb *JournalBrokenError
		if !errors.As(err, &jb) || !errors.Is(err, deliverjournal.ErrSealBroken) || !strings.Contains(err.Error(), "stays in the inbox") {
			t.Fatalf("forgery %d: Watch = %v, want a JournalBrokenError", i, err)
		}
		if f := dropped(t, drop); len(f) != 0 || ev.count(EventDelivered) != 0 {
			t.Errorf("forgery %d: dropped %v, events\n%s", i, f, &ev)
		}
		if got := auditCount(t, d, AuditWatchJournalBroken); got != i+1 {
			t.Errorf("forgery %d: %d watch.journal_broken entries, want %d", i, got, i+1)
		}
	}
	if st, _ := d.Inbox(); st != nil {
		if now, err := st.List(); err != nil || len(now) != 1 || now[0].Verdict != receive.Verified {
			t.Errorf("the inbox after the refusals: %+v %v", now, err)
		}
	}
	// The journal as the watch left it: the document is delivered.
	if err := os.WriteFile(jpath, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	var ev events
	if err := d.Watch(ctx, WatchOptions{Drop: drop, Once: true, Event: ev.add}); err != nil {
		t.Fatal(err)
	}
	if ev.count(EventDelivered) != len(items[0].Documents) {
		t.Errorf("with the genuine journal: events\n%s", &ev)
	}
}

// TestWatchJournalKeyMissing: with the journals' key gone from the
// keychain the watch delivers nothing rather than start a new journal.
func TestWatchJournalKeyMissing(t *testing.T) {
	d, srv := watchDesk(t)
	ctx := context.Background()
	drop := t.TempDir()
	if err := d.Watch(ctx, WatchOptions{Drop: drop, Once: true}); err != nil {
		t.Fatal(err)
	}
	if err := d.Keychain().Delete(deliverjournal.KeyName); err != nil {
		t.Fatal(err)
	}
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	var ev events
	err := d.Watch(ctx, WatchOptions{Drop: drop, Once: true, Event: ev.add})
	if !errors.Is(err, deliverjournal.ErrSealBroken) || !strings.Contains(err.Error(), "missing from the OS keychain") {
		t.Fatalf("Watch = %v", err)
	}
	if f := dropped(t, drop); len(f) != 0 {
		t.Errorf("dropped %v", f)
	}
	if got := auditCount(t, d, AuditWatchJournalBroken); got != 1 {
		t.Errorf("%d watch.journal_broken entries", got)
	}
}

// TestSettleForgedResolved: a forged "resolved" in a printer's journal
// (a possibly printed document made to look settled) is refused by the
// settlement commands too, and audited.
func TestSettleForgedResolved(t *testing.T) {
	d, _ := testDesk(t)
	const queue = "frontdesk"
	jpath := filepath.Join(d.Home().Path("watch"), "print-"+shortHash(queue)+".journal")
	j, err := deliverjournal.Open(jpath, d.Keychain())
	if err != nil {
		t.Fatal(err)
	}
	key := strings.Repeat("C", 40) + "/" + strings.Repeat("ab", 32)
	if err := j.Record(deliverjournal.Entry{Key: key, State: deliverjournal.Intent, Item: "7", Time: time.Now(), Detail: queue}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if list, err := d.PossiblyPrinted(queue); err != nil || len(list) != 1 {
		t.Fatalf("PossiblyPrinted = %+v, %v", list, err)
	}
	f, err := os.OpenFile(jpath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, `{"key":%q,"state":"resolved","item":"7","doc":0,"time":"2026-12-08T09:00:00Z"}`+"\n", key)
	f.Close()
	var jb *JournalBrokenError
	if _, err := d.PossiblyPrinted(queue); !errors.As(err, &jb) {
		t.Errorf("PossiblyPrinted on a forged journal: %v", err)
	}
	if _, err := d.SettlePrint(queue, "7", 0, SettleReprint); !errors.As(err, &jb) {
		t.Errorf("SettlePrint on a forged journal: %v", err)
	}
	if got := auditCount(t, d, AuditWatchJournalBroken); got != 2 {
		t.Errorf("%d watch.journal_broken entries, want 2", got)
	}
}

// TestWatchMigratesPlainJournal: a drop journal an older securesend
// wrote (plain lines) is trusted once and sealed: what it records as
// dropped is not dropped again, even with IncludeExisting (which a new
// journal would deliver).
func TestWatchMigratesPlainJournal(t *testing.T) {
	d, srv := watchDesk(t)
	ctx := context.Background()
	drop := t.TempDir()
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	items := fetchedItems(t, d)
	jpath := filepath.Join(d.Home().Path("watch"), "drop-"+shortHash(drop)+".journal")
	var old strings.Builder
	for n := range items[0].Documents {
		fmt.Fprintf(&old, `{"key":%q,"state":"done","item":%q,"doc":%d,"time":"2026-12-07T09:00:00Z","detail":"%s"}`+"\n", docKey(&items[0], n), items[0].ID, n, filepath.Join(drop, "gone"))
	}
	if err := os.MkdirAll(filepath.Dir(jpath), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jpath, []byte(old.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var ev events
	if err := d.Watch(ctx, WatchOptions{Drop: drop, Once: true, IncludeExisting: true, Event: ev.add}); err != nil {
		t.Fatal(err)
	}
	if f := dropped(t, drop); len(f) != 0 || ev.count(EventDelivered) != 0 {
		t.Errorf("after the upgrade: dropped %v, events\n%s", f, &ev)
	}
	b, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `,"mac":"`); n != len(items[0].Documents) {
		t.Errorf("%d sealed lines, want %d:\n%s", n, len(items[0].Documents), b)
	}
}
