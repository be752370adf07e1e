package deliverjournal

import (
	"encoding/json"
	"fmt"
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

// BenchmarkRecord is one sealed record: the line, its fsync and the
// keychain anchor (the real Secret Service: run under
// scripts/with-keyring.sh).
func BenchmarkRecord(b *testing.B) {
	p := filepath.Join(b.TempDir(), "drop-bench.journal")
	kc := testKC(b, filepath.Base(p))
	j, err := Open(p, kc)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := j.Record(Entry{Key: fmt.Sprint("k", i), State: Done, Time: t0}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen10k is Open of a journal of 10,000 lines: one MAC a line,
// three keychain reads in all.
func BenchmarkOpen10k(b *testing.B) {
	p := filepath.Join(b.TempDir(), "drop-bench.journal")
	kc := testKC(b, filepath.Base(p))
	j, err := Open(p, kc)
	if err != nil {
		b.Fatal(err)
	}
	var buf []byte
	for i := 0; i < 10000; i++ {
		body, _ := json.Marshal(sealedLine{Seq: j.seq + 1, Entry: Entry{Key: fmt.Sprint("k", i), State: Done, Time: t0}})
		l, mac := j.seal.seal(j.seq+1, j.last, body)
		j.seq++
		j.last = mac
		buf = append(buf, l...)
	}
	if _, err := j.f.Write(buf); err != nil {
		b.Fatal(err)
	}
	if err := j.seal.setHead(head{j.seq, j.last}); err != nil {
		b.Fatal(err)
	}
	j.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j, err := Open(p, kc)
		if err != nil {
			b.Fatal(err)
		}
		if len(j.Entries()) != 10000 {
			b.Fatal(len(j.Entries()))
		}
		j.Close()
	}
}
