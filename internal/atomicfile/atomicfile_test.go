package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/securesend/securesend/internal/winetemp"
)

// tempDir is a temporary directory these tests can also clean up as a
// Windows binary under Wine (e2e/windows); its name has a space and
// non-ASCII letters, as a Windows user's home may.
func tempDir(t *testing.T) string { return winetemp.Dir(t, "atomicfile Ngā tūhono-") }

func TestWriteFile(t *testing.T) {
	dir := tempDir(t)
	p := filepath.Join(dir, "index.json")
	for _, content := range []string{"first\n", "second, longer than the first\n", ""} {
		if err := WriteFile(p, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Fatalf("read back %q, %v; want %q", got, err, content)
		}
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", fi.Mode().Perm())
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}

func TestWriteFileErrorKeepsOld(t *testing.T) {
	dir := tempDir(t)
	p := filepath.Join(dir, "settings.json")
	if err := WriteFile(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	// A directory where the file should go: the rename fails.
	blocked := filepath.Join(dir, "blocked")
	if err := os.Mkdir(blocked, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(blocked, "x"), []byte("x"), 0o600)
	if err := WriteFile(blocked, []byte("new")); err == nil {
		t.Fatal("replacing a non-empty directory: no error")
	}
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Errorf("other file changed: %q", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("temporary files left after a failed write: %v", ents)
	}
	if err := WriteFile(filepath.Join(dir, "missing", "f"), []byte("x")); err == nil {
		t.Error("writing into a missing directory: no error")
	}
}

func TestRenameReplaces(t *testing.T) {
	dir := tempDir(t)
	oldp, newp := filepath.Join(dir, "new content"), filepath.Join(dir, "jobs ā.json")
	for _, f := range []struct{ path, data string }{{oldp, "new"}, {newp, "old"}} {
		if err := os.WriteFile(f.path, []byte(f.data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := Rename(oldp, newp); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(newp); err != nil || string(got) != "new" {
		t.Errorf("after Rename: %q, %v; want \"new\"", got, err)
	}
	if _, err := os.Stat(oldp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the old name is still there: %v", err)
	}
	err := Rename(filepath.Join(dir, "missing"), newp)
	var le *os.LinkError
	if !errors.As(err, &le) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Rename of a missing file = %v; want an *os.LinkError wrapping fs.ErrNotExist", err)
	}
}

// TestSyncDir is the regression test for "sync C:\...\outbox: Access
// denied" (issue 18): on Windows os.Open(dir).Sync() is refused, and
// SyncDir must still succeed for a real directory, and fail for a
// missing one.
func TestSyncDir(t *testing.T) {
	dir := tempDir(t)
	sub := filepath.Join(dir, "outbox of Dr Tūhoe")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "job"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		dir     string
		wantErr bool
	}{
		{"directory", dir, false},
		{"directory with a space and non-ASCII letters", sub, false},
		{"missing directory", filepath.Join(dir, "missing"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := SyncDir(tc.dir)
			if (err != nil) != tc.wantErr {
				t.Fatalf("SyncDir(%q) = %v, want error: %v", tc.dir, err, tc.wantErr)
			}
			var pe *os.PathError
			if err != nil && !errors.As(err, &pe) {
				t.Errorf("error %T %v is not an *os.PathError", err, err)
			}
		})
	}
	if runtime.GOOS == "windows" {
		// The old way, for the record: if Windows ever allows it, the
		// Windows code can become the Unix one.
		d, err := os.Open(sub)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		t.Logf("os.Open(dir).Sync() on Windows: %v", d.Sync())
	}
}
