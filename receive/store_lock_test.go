package receive_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/receive"
)

// TestStoreWritersTakeTurns commits messages from two Store values on one
// directory at once, as the GUI and a CLI 'inbox fetch' would from two
// processes (each Store has its own mutex; only the lock file orders
// them). Every message must end up as its own item with its own report.
func TestStoreWritersTakeTurns(t *testing.T) {
	key := make([]byte, atrest.KeySize)
	rand.Read(key)
	dir := filepath.Join(t.TempDir(), "inbox")
	var stores [2]*receive.Store
	for i := range stores {
		st, err := receive.OpenStore(dir, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		stores[i] = st
	}
	verify := inboxVerifier(t)
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := stores[i%2]
			doc := fmt.Appendf(nil, "%%PDF-1.4 document %d", i)
			msg := plainMessage(fmt.Sprintf("m%d@clinic.test", i), fmt.Sprintf("subject %d", i), "note", doc)
			staged, err := st.Stage(bytes.NewReader(msg))
			if err != nil {
				t.Error(err)
				return
			}
			if _, added, err := st.Commit(context.Background(), staged, receive.Source{Account: "pharmacy"}, verify); err != nil || !added {
				t.Errorf("Commit %d: added %v, %v", i, added, err)
			}
		}()
	}
	wg.Wait()
	items, err := stores[0].List()
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != n {
		t.Fatalf("%d items in the index, want %d", len(items), n)
	}
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.ID] {
			t.Fatalf("item ID %s used twice", it.ID)
		}
		seen[it.ID] = true
		rep, err := stores[1].Report(it.ID)
		if err != nil {
			t.Fatalf("report of item %s: %v", it.ID, err)
		}
		if it.MessageID == "" || !strings.Contains(rep.MessageID, it.MessageID) {
			t.Errorf("item %s has Message-ID %q but its report %q", it.ID, it.MessageID, rep.MessageID)
		}
	}
}

// TestStoreAfterKilledWriter: a writer killed between renaming an item
// into place and writing the index leaves a directory the index does not
// know, and a killed fetch leaves a staging directory. The next commit
// must still succeed (under a new number), and stale staging is removed
// while a fresh one (maybe another process's fetch under way) is kept;
// staging directories of the earlier layout (in items/) are removed by
// the first commit of a Store.
func TestStoreAfterKilledWriter(t *testing.T) {
	key := make([]byte, atrest.KeySize)
	rand.Read(key)
	dir := filepath.Join(t.TempDir(), "inbox")
	st, err := receive.OpenStore(dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	verify := inboxVerifier(t)
	commit := func(st *receive.Store, i int) *receive.Item {
		t.Helper()
		msg := plainMessage(fmt.Sprintf("k%d@clinic.test", i), "subject", "note", fmt.Appendf(nil, "%%PDF-1.4 doc %d", i))
		staged, err := st.Stage(bytes.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		it, added, err := st.Commit(context.Background(), staged, receive.Source{Account: "pharmacy"}, verify)
		if err != nil || !added {
			t.Fatalf("Commit %d: added %v, %v", i, added, err)
		}
		return it
	}
	first := commit(st, 1)
	items := filepath.Join(dir, "items")
	staging := filepath.Join(dir, "staging")
	// The crash leftovers.
	orphan := filepath.Join(items, "2")
	stale := filepath.Join(staging, ".new-stale")
	fresh := filepath.Join(staging, ".new-fresh")
	legacy := filepath.Join(items, ".new-legacy")
	for _, d := range []string{orphan, stale, fresh, legacy} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "message.eml.enc"), []byte("encrypted leftovers"), 0o600)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	os.Chtimes(legacy, old, old)

	second := commit(st, 2)
	if second.ID == first.ID || second.ID == "2" {
		t.Fatalf("second item got ID %q (first %q, orphan directory 2)", second.ID, first.ID)
	}
	if _, err := st.Report(second.ID); err != nil {
		t.Fatalf("report of the item after the crash: %v", err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale staging directory kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh staging directory removed: %v", err)
	}
	// A new Store (the next start of the program) removes the old
	// layout's leftovers.
	st2, err := receive.OpenStore(dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	third := commit(st2, 3)
	if _, err := os.Stat(legacy); !os.IsNotExist(err) {
		t.Errorf("stale staging directory in items/ kept: %v", err)
	}
	if _, err := os.Stat(orphan); err != nil {
		t.Errorf("orphan item directory removed: %v", err)
	}
	if list, _ := st.List(); len(list) != 3 || list[2].ID != third.ID {
		t.Errorf("first Store lists %+v after the second Store's commit", list)
	}
}
