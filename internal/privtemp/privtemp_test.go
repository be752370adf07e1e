package privtemp

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDirWriteRemoveClose(t *testing.T) {
	parent := t.TempDir()
	d, err := New(parent)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(d.Path())
	if err != nil || fi.Mode().Perm() != 0o700 || !strings.HasPrefix(filepath.Base(d.Path()), Prefix) {
		t.Fatalf("folder %s: %v %v", d.Path(), fi.Mode(), err)
	}
	a, err := d.Write("prescription.pdf", strings.NewReader("%PDF-1.7 a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Write("prescription.pdf", strings.NewReader("%PDF-1.7 b"))
	if err != nil {
		t.Fatal(err)
	}
	if a == b || filepath.Base(a) != "prescription.pdf" {
		t.Fatalf("paths %s %s", a, b)
	}
	if fi, err := os.Stat(a); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Dir(a)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("subfolder mode %v %v", fi.Mode(), err)
	}
	for _, bad := range []string{"", "../x", "a/b", ".", ".."} {
		if _, err := d.Write(bad, strings.NewReader("x")); err == nil {
			t.Errorf("Write(%q) accepted", bad)
		}
	}
	if err := d.Remove(a); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(a)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Remove left %s: %v", filepath.Dir(a), err)
	}
	if err := d.Remove(filepath.Join(parent, "elsewhere", "x")); err == nil {
		t.Error("Remove accepted a path outside the folder")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Close left the folder: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := d.Write("x.pdf", strings.NewReader("x")); err == nil {
		t.Error("Write after Close accepted")
	}
}

// TestSweep: at the next start, folders of ended processes older than
// MaxAge go; a live process's folder, a recent one, a link and a file
// that merely share the prefix stay.
func TestSweep(t *testing.T) {
	parent := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	age := func(p string) {
		t.Helper()
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}

	// A live process (its lock is held), old. (New sweeps, so first.)
	live, err := New(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	age(live.Path())
	// A crashed process: folder with a document, lock file free.
	crashed := filepath.Join(parent, Prefix+"crashed")
	if err := os.MkdirAll(filepath.Join(crashed, "doc-1"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(crashed, lockName), nil, 0o600)
	os.WriteFile(filepath.Join(crashed, "doc-1", "rx.pdf"), []byte("patient data"), 0o600)
	age(crashed)
	// One that died before making its lock file.
	nolock := filepath.Join(parent, Prefix+"nolock")
	os.Mkdir(nolock, 0o700)
	age(nolock)
	// An ended process, but recent: a viewer may still read it.
	recent := filepath.Join(parent, Prefix+"recent")
	os.Mkdir(recent, 0o700)
	// A link with the prefix to someone's folder, and a plain file.
	target := t.TempDir()
	os.WriteFile(filepath.Join(target, "keep"), []byte("x"), 0o600)
	link := filepath.Join(parent, Prefix+"link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(parent, Prefix+"file")
	os.WriteFile(plain, nil, 0o600)
	age(plain)
	other := filepath.Join(parent, "other-old")
	os.Mkdir(other, 0o700)
	age(other)

	removed, err := Sweep(parent, MaxAge, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{crashed: true, nolock: true}
	if len(removed) != len(want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, p := range removed {
		if !want[p] {
			t.Errorf("removed %s", p)
		}
	}
	for p := range want {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
	for _, p := range []string{recent, live.Path(), link, plain, other, filepath.Join(target, "keep")} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}

	// Once the live process ends without cleaning up (a crash: the lock
	// is released), its old folder goes too.
	live.lock.Close()
	live.lock = nil
	removed, err = Sweep(parent, MaxAge, time.Now())
	if err != nil || len(removed) != 1 || removed[0] != live.Path() {
		t.Errorf("after the crash: removed %v, %v", removed, err)
	}
}

// TestNewSweeps: New itself removes what old processes left.
func TestNewSweeps(t *testing.T) {
	parent := t.TempDir()
	left := filepath.Join(parent, Prefix+"left")
	os.Mkdir(left, 0o700)
	old := time.Now().Add(-3 * time.Hour)
	os.Chtimes(left, old, old)
	d, err := New(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := os.Stat(left); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New did not sweep %s: %v", left, err)
	}
}
