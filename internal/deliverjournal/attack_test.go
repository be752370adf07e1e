package deliverjournal

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDeletedEmptyJournalNotNew: someone who can write the home deletes
// the journal of a destination watched before but not yet delivered to
// (its file empty). Before, the next Open said Created, so the watch
// recorded every document then in the inbox as skipped: documents
// fetched while the watch was stopped were never dropped or printed.
func TestDeletedEmptyJournalNotNew(t *testing.T) {
	p := filepath.Join(t.TempDir(), "drop-x.journal")
	kc := testKC(t, filepath.Base(p))
	j, err := Open(p, kc)
	if err != nil {
		t.Fatal(err)
	}
	if !j.Created() {
		t.Fatal("a journal never opened before: Created false")
	}
	j.Close()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	j, err = Open(p, kc)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Created() {
		t.Fatal("the deleted empty journal of a watched destination is taken for a new one: its inbox would be skipped")
	}
	// It goes on as before.
	if err := j.Record(Entry{Key: "k", State: Done, Time: t0}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	write(t, p, kc, Entry{Key: "k2", State: Done, Time: t0})
}
