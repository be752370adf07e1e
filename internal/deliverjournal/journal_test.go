package deliverjournal

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/keychain/keychaintest"
	"github.com/securesend/securesend/internal/filelock"
)

// testKC is the real OS keychain in the test's own namespace, without
// what an earlier run of the test left there (the journals' key, the
// sealed mark, the heads of journals named names), and cleaned after.
func testKC(t testing.TB, names ...string) *keychain.Keychain {
	t.Helper()
	kc := keychaintest.Require(t)
	clean := func() {
		for _, n := range append([]string{KeyName, SealedName}, names...) {
			if n != KeyName && n != SealedName {
				n = headPrefix + n
			}
			kc.Delete(n) //nolint:errcheck // absent is fine
		}
	}
	clean()
	t.Cleanup(clean)
	return kc
}

func TestRecordReopen(t *testing.T) {
	kc := testKC(t, "print.journal")
	p := filepath.Join(t.TempDir(), "j", "print.journal")
	j, err := Open(p, kc)
	if err != nil {
		t.Fatal(err)
	}
	if !j.Created() {
		t.Error("a new journal is not Created")
	}
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, e := range []Entry{
		{Key: "a", State: Intent, Item: "1", Time: now},
		{Key: "a", State: Done, Item: "1", Time: now, Detail: "job-1"},
		{Key: "b", State: Intent, Item: "2", Time: now},
	} {
		if err := j.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Open(p, kc); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open: %v, want ErrLocked", err)
	}
	j.Close()
	j, err = Open(p, kc)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Created() {
		t.Error("an existing journal is Created")
	}
	if e, _ := j.Lookup("a"); e.State != Done || e.Detail != "job-1" {
		t.Errorf("a: %+v", e)
	}
	if e, _ := j.Lookup("b"); e.State != Intent {
		t.Errorf("b: %+v, want the intent kept (possibly delivered)", e)
	}
	if got := j.Entries(); len(got) != 2 || got[0].Key != "a" || got[1].Key != "b" {
		t.Errorf("entries %+v", got)
	}
}

// TestTornLastLine: a record cut short by a crash was never flushed, so
// it is dropped and the journal goes on after the good ones.
func TestTornLastLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "drop.journal")
	good := `{"key":"a","state":"done","doc":0,"time":"2026-12-07T09:00:00Z"}` + "\n"
	for name, tail := range map[string]string{
		"cut":      `{"key":"b","sta`,
		"no-nl":    `{"key":"b","state":"intent","doc":0,"time":"2026-12-07T09:00:00Z"}`,
		"zeros":    "\x00\x00\x00\n",
		"empty-nl": "\n",
	} {
		t.Run(name, func(t *testing.T) {
			kc := testKC(t, "drop.journal")
			if err := os.WriteFile(p, []byte(good+tail), 0o600); err != nil {
				t.Fatal(err)
			}
			j, err := Open(p, kc)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := j.Lookup("b"); ok {
				t.Error("the torn record was read")
			}
			if err := j.Record(Entry{Key: "c", State: Done}); err != nil {
				t.Fatal(err)
			}
			j.Close()
			j, err = Open(p, kc)
			if err != nil {
				t.Fatalf("reopen after the torn line was replaced: %v", err)
			}
			defer j.Close()
			if e, ok := j.Lookup("c"); !ok || e.State != Done {
				t.Errorf("c: %+v %v", e, ok)
			}
			if e, _ := j.Lookup("a"); e.State != Done {
				t.Errorf("a lost: %+v", e)
			}
		})
	}
}

// TestCorruptMiddle: a damaged record before the last is an error, not a
// guess: which documents were printed is unknown.
func TestCorruptMiddle(t *testing.T) {
	kc := testKC(t, "print.journal")
	p := filepath.Join(t.TempDir(), "print.journal")
	data := `{"key":"a","state":"intent","doc":0,"time":"2026-12-07T09:00:00Z"}` + "\n" +
		"garbage\n" +
		`{"key":"a","state":"done","doc":0,"time":"2026-12-07T09:00:00Z"}` + "\n"
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(p, kc)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Line != 2 {
		t.Fatalf("Open: %v, want a CorruptError at line 2", err)
	}
	if b, _ := os.ReadFile(p); string(b) != data {
		t.Error("a corrupt journal was changed")
	}
	// The lock was released.
	os.WriteFile(p, nil, 0o600)
	j, err := Open(p, kc)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
}

// TestPlantedLockLink: a symbolic link planted as the journal's lock file
// (to make it create or lock a file elsewhere) is refused, not followed.
func TestPlantedLockLink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("planting a symbolic link needs a privilege on Windows")
	}
	kc := testKC(t, "print.journal")
	dir := t.TempDir()
	p := filepath.Join(dir, "print.journal")
	target := filepath.Join(dir, "elsewhere")
	if err := os.Symlink(target, p+".lock"); err != nil {
		t.Fatal(err)
	}
	if j, err := Open(p, kc); !errors.Is(err, filelock.ErrUnsafeLockFile) {
		if err == nil {
			j.Close()
		}
		t.Fatalf("Open with a planted lock link: %v, want ErrUnsafeLockFile", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link's target was created: %v", err)
	}
}
