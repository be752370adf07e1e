package filelock

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestAttackPlantedLockFile: the store locks (inbox, outbox) go through
// Path. A symbolic link planted where the lock file will be made Path
// create the link's target (or open and lock an existing file) before
// the fix; now it fails with ErrUnsafeLockFile and creates nothing.
func TestAttackPlantedLockFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "lock")
	target := filepath.Join(t.TempDir(), "target")
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	release, err := Path(p)
	if err == nil {
		release()
		t.Fatal("Path locked through a symbolic link")
	}
	if !errors.Is(err, ErrUnsafeLockFile) {
		t.Errorf("err = %v, want ErrUnsafeLockFile", err)
	}
	if _, err := os.Lstat(target); err == nil {
		t.Error("the link's target was created")
	}
	os.Remove(p)
	release, err = Path(p)
	if err != nil {
		t.Fatal(err)
	}
	release()
}
