package receive_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/sealedlog"
	"github.com/securesend/securesend/receive"
)

// storeKeychain is the real OS keychain in a namespace of the test's own
// (run the tests with scripts/with-keyring.sh).
func storeKeychain(t *testing.T) *keychain.Keychain {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	kc := keychain.New("securesend-test-inbox-" + hex.EncodeToString(b))
	if err := kc.Set("probe", "x"); err != nil {
		t.Fatalf("the tests need a running, unlocked Secret Service (run them with scripts/with-keyring.sh): %v", err)
	}
	t.Cleanup(func() { kc.Delete("probe") })
	return kc
}

// anchoredStore opens an anchored store in a new directory.
func anchoredStore(t *testing.T, kc *keychain.Keychain) (*receive.Store, string, []byte) {
	t.Helper()
	key := make([]byte, atrest.KeySize)
	rand.Read(key)
	dir := filepath.Join(t.TempDir(), "inbox")
	st, err := receive.OpenAnchoredStore(dir, key, kc, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st, dir, key
}

func commitN(t *testing.T, st *receive.Store, from, to int) {
	t.Helper()
	verify := inboxVerifier(t)
	for i := from; i < to; i++ {
		msg := plainMessage(fmt.Sprintf("r%d@clinic.test", i), "subject", "note", fmt.Appendf(nil, "%%PDF-1.4 doc %d", i))
		if _, _, err := commitMessage(t, st, msg, receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i)}, verify); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAttackRollBackIndex: a local attacker (or a careless restore) puts
// an older index.log back, cuts whole records off its end, or removes it.
// Every record authenticates, so the unanchored store reads it as good:
// the later items, failure records and the fetch position are forgotten
// and their messages fetched and stored again under new numbers. An
// anchored store (the keychain holds the head of the last durable write)
// refuses it with ErrIndexRolledBack, writes nothing, and works again
// once the latest log is back, or after TrustIndex.
func TestAttackRollBackIndex(t *testing.T) {
	kc := storeKeychain(t)
	for _, tc := range []struct {
		name   string
		attack func(t *testing.T, logPath string, older, latest []byte)
	}{
		{"older copy", func(t *testing.T, p string, older, _ []byte) { os.WriteFile(p, older, 0o600) }},
		{"last records cut off", func(t *testing.T, p string, _, latest []byte) {
			os.WriteFile(p, latest[:len(older3(t, latest))], 0o600)
		}},
		{"removed", func(t *testing.T, p string, _, _ []byte) { os.Remove(p) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, dir, key := anchoredStore(t, kc)
			logPath := filepath.Join(dir, "index.log")
			commitN(t, st, 1, 4)
			older, _ := os.ReadFile(logPath)
			commitN(t, st, 4, 6)
			if _, err := st.RecordFailure(receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 1, UID: 9}, "fetch", io.ErrUnexpectedEOF); err != nil {
				t.Fatal(err)
			}
			latest, _ := os.ReadFile(logPath)

			tc.attack(t, logPath, older, latest)
			attacked, _ := os.ReadFile(logPath)

			// Without the anchor the attack goes unnoticed.
			plain, err := receive.OpenStore(dir, key, nil)
			if err != nil {
				t.Fatal(err)
			}
			if items, err := plain.List(); err != nil || len(items) >= 5 {
				t.Fatalf("unanchored store: %d items, %v (the attack did not roll back)", len(items), err)
			}

			fresh, err := receive.OpenAnchoredStore(dir, key, kc, nil)
			if err != nil {
				t.Fatal(err)
			}
			if items, err := fresh.List(); !errors.Is(err, receive.ErrIndexRolledBack) {
				t.Fatalf("a new process lists %d items, err = %v; want ErrIndexRolledBack", len(items), err)
			}
			// The process that was running sees it too, and writes nothing.
			if _, err := st.List(); err == nil {
				t.Fatal("the running store lists the rolled-back index")
			}
			if _, err := st.RecordFailure(receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 1, UID: 10}, "fetch", io.ErrUnexpectedEOF); err == nil {
				t.Fatal("a failure was recorded on the rolled-back index")
			}
			if now, _ := os.ReadFile(logPath); string(now) != string(attacked) {
				t.Fatal("the rolled-back index was written to")
			}

			// The latest log put back: all is well again.
			os.WriteFile(logPath, latest, 0o600)
			again, _ := receive.OpenAnchoredStore(dir, key, kc, nil)
			if items, err := again.List(); err != nil || len(items) != 5 {
				t.Fatalf("with the latest log back: %d items, %v", len(items), err)
			}
			// The user accepts the older one on purpose.
			tc.attack(t, logPath, older, latest)
			if err := again.TrustIndex(); err != nil {
				t.Fatal(err)
			}
			trusted, _ := receive.OpenAnchoredStore(dir, key, kc, nil)
			if _, err := trusted.List(); err != nil {
				t.Fatalf("after TrustIndex: %v", err)
			}
		})
	}
}

// older3 returns the bytes of the log up to its third record's end.
func older3(t *testing.T, data []byte) []byte {
	t.Helper()
	off := 8 + 32
	for range 3 {
		n := int(data[off])<<24 | int(data[off+1])<<16 | int(data[off+2])<<8 | int(data[off+3])
		off += 4 + n
	}
	return data[:off]
}

// TestAttackCompactionCrash: a compaction killed after its new file was
// written and the keychain told of both files, before or after the
// rename: either file loads. A copy of the log from before a compaction
// put back after it is refused.
func TestAttackCompactionCrash(t *testing.T) {
	kc := storeKeychain(t)
	st, dir, key := anchoredStore(t, kc)
	logPath := filepath.Join(dir, "index.log")
	commitN(t, st, 1, 3)
	before, _ := os.ReadFile(logPath)
	// Enough superseded records (one fetch position, again and again)
	// for a compaction.
	for i := range 1100 {
		if err := st.SetFetchPosition("pharmacy", "INBOX", 1, uint32(10+i)); err != nil {
			t.Fatal(err)
		}
	}
	after, _ := os.ReadFile(logPath)
	if len(after) > 200*1024 || string(after[8:40]) == string(before[8:40]) {
		t.Fatalf("the log was not compacted (%d bytes)", len(after))
	}
	// The pre-compaction file put back.
	os.WriteFile(logPath, before, 0o600)
	if _, err := mustOpen(t, dir, key, kc).List(); !errors.Is(err, receive.ErrIndexRolledBack) {
		t.Fatalf("the log from before the compaction: err = %v, want ErrIndexRolledBack", err)
	}
	os.WriteFile(logPath, after, 0o600)

	// The crash window: the keychain names the old and the new file.
	old := readHead(t, before, key)
	cur := readHead(t, after, key)
	name := headEntry(t, dir)
	if err := kc.Set(name, old.String()+","+cur.String()); err != nil {
		t.Fatal(err)
	}
	for _, f := range [][]byte{before, after} {
		os.WriteFile(logPath, f, 0o600)
		if _, err := mustOpen(t, dir, key, kc).List(); err != nil {
			t.Fatalf("in the compaction's crash window: %v", err)
		}
	}

	// The killed compaction's temporary file goes with the next commit.
	leftover := filepath.Join(dir, ".tmp-index.log-123456")
	os.WriteFile(leftover, after, 0o600)
	commitN(t, mustOpen(t, dir, key, kc), 3, 4)
	if _, err := os.Stat(leftover); err == nil {
		t.Error("the temporary file of a killed compaction was left")
	}
}

func mustOpen(t *testing.T, dir string, key []byte, kc *keychain.Keychain) *receive.Store {
	t.Helper()
	st, err := receive.OpenAnchoredStore(dir, key, kc, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// readHead is the head of a log file's content.
func readHead(t *testing.T, data []byte, key []byte) sealedlog.Head {
	t.Helper()
	p := filepath.Join(t.TempDir(), "index.log")
	os.WriteFile(p, data, 0o600)
	l, _ := sealedlog.Open(p, key, "securesend inbox index")
	c, _, err := l.Read(sealedlog.Cursor{}, func([]byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return c.Head()
}

// headEntry is the name of the store's head entry, as documented at
// OpenAnchoredStore: "inbox-head-" and 12 hex digits of the SHA-256 of
// the store's absolute path.
func headEntry(t *testing.T, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(abs))
	return "inbox-head-" + hex.EncodeToString(sum[:6])
}

// TestAttackTwoCompactors: two processes (two Stores on one directory)
// write at once, each compacting the log in turn. Nothing is lost, and
// a third process loads the result against the anchor.
func TestAttackTwoCompactors(t *testing.T) {
	kc := storeKeychain(t)
	a, dir, key := anchoredStore(t, kc)
	b := mustOpen(t, dir, key, kc)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for w, st := range []*receive.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1500 {
				if err := st.SetFetchPosition("pharmacy", fmt.Sprint("box", w), 1, uint32(i+1)); err != nil {
					errs <- err
					return
				}
				if i%100 == 0 {
					src := receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 1, UID: uint32(w*1000 + i/100)}
					if _, err := st.RecordFailure(src, "fetch", io.ErrUnexpectedEOF); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	third := mustOpen(t, dir, key, kc)
	fs, err := third.Failures()
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 30 {
		t.Fatalf("%d failure records, want 30", len(fs))
	}
	for w := range 2 {
		if _, next, err := third.FetchPosition("pharmacy", fmt.Sprint("box", w)); err != nil || next != 1500 {
			t.Errorf("box%d: position %d, %v; want 1500", w, next, err)
		}
	}
	for _, f := range fs {
		if f.Attempts != 1 {
			t.Errorf("%+v: %d attempts, want 1", f.Source, f.Attempts)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "index.log")); fi.Size() > 300*1024 {
		t.Errorf("index.log is %d bytes: never compacted", fi.Size())
	}
}
