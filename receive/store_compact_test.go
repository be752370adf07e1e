package receive

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/securesend/securesend/crypto/atrest"
)

// TestIndexCompaction: fetch positions are appended one record per
// message, so the log is compacted once superseded records outnumber the
// live ones; a Store that read the log before sees the compacted one
// (a new file) with the same content.
func TestIndexCompaction(t *testing.T) {
	key := make([]byte, atrest.KeySize)
	rand.Read(key)
	dir := filepath.Join(t.TempDir(), "inbox")
	w, err := OpenStore(dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenStore(dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.RecordFailure(Source{Account: "a", Mailbox: "INBOX", UIDValidity: 1, UID: 1}, "fetch", os.ErrDeadlineExceeded); err != nil {
		t.Fatal(err)
	}
	st := &fetchState{}
	var maxSize int64
	const n = 5000
	for i := 1; i <= n; i++ {
		st.set("a", "INBOX", mailboxState{UIDValidity: 1, NextUID: uint32(i)})
		st.set("b", "INBOX", mailboxState{UIDValidity: 2, NextUID: 7})
		if err := w.writeState(st); err != nil {
			t.Fatal(err)
		}
		if i == 10 {
			if _, err := r.readState(); err != nil { // r has read the first file
				t.Fatal(err)
			}
		}
		fi, err := os.Stat(filepath.Join(dir, "index.log"))
		if err != nil {
			t.Fatal(err)
		}
		maxSize = max(maxSize, fi.Size())
	}
	// One record is about 120 bytes: without compaction the log would
	// hold all 5,000.
	if maxSize > 2000*120 {
		t.Errorf("index.log reached %d bytes: not compacted", maxSize)
	}
	got, err := r.readState()
	if err != nil {
		t.Fatal(err)
	}
	if p := got.get("a", "INBOX"); p.NextUID != n {
		t.Errorf("reader after compaction: next UID %d, want %d", p.NextUID, n)
	}
	if p := got.get("b", "INBOX"); p.NextUID != 7 {
		t.Errorf("reader after compaction: b at %d", p.NextUID)
	}
	if fs, err := r.Failures(); err != nil || len(fs) != 1 {
		t.Errorf("failures after compaction: %+v, %v", fs, err)
	}
}
