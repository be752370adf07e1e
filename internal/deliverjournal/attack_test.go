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

// TestPlantedJournalLink: someone who can write the journals' folder
// plants a symbolic link where a destination's journal will be, pointing
// at a one-line file of the user's (a token, a password file). Before,
// Open followed it, took the line for a torn record and truncated the
// file to nothing, then appended records to it.
func TestPlantedJournalLink(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "print-x.journal")
	kc := testKC(t, filepath.Base(p))
	victim := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(victim, []byte("s3cret-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, p); err != nil {
		t.Fatal(err)
	}
	j, err := Open(p, kc)
	if err == nil {
		j.Close()
		t.Error("a journal that is a symbolic link was opened")
	}
	if b, _ := os.ReadFile(victim); string(b) != "s3cret-token\n" {
		t.Fatalf("the link's target was changed: %q", b)
	}
}
