//go:build linux

package outbox_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/securesend/securesend/send/outbox"
)

// TestEnqueueDiskFull puts the outbox on a 256 KiB tmpfs and enqueues a
// 1 MB scan: a clear error, nothing left behind, the document untouched,
// and the outbox still usable. It needs permission to mount (root in CI
// containers); TestEnqueueFailureLeavesNothing covers the same path with an
// injected error everywhere else.
func TestEnqueueDiskFull(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	small := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(small, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", small).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v: %s)", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { exec.Command("umount", small).Run() })
	f.dir = filepath.Join(small, "outbox")
	f.ob = f.open(outbox.Options{})

	m, doc := f.message(1 << 20)
	_, err := f.ob.Enqueue(t.Context(), jobOf(m), composer(m))
	if !errors.Is(err, syscall.ENOSPC) || !errors.Is(err, outbox.ErrDiskFull) {
		t.Fatalf("Enqueue on a full disk = %v, want ENOSPC and ErrDiskFull", err)
	}
	if strings.Contains(err.Error(), testDocName) {
		t.Errorf("error names the document: %v", err)
	}
	checkEmpty(t, f)
	if got, _ := os.ReadFile(m.Documents[0].Path); !bytes.Equal(got, doc) {
		t.Fatal("document changed")
	}
	// Space is back (the partial file was removed): a small job fits.
	m2, _ := f.message(10_000)
	id := f.enqueue(m2)
	if rec, err := f.ob.Deliver(t.Context(), id, f.srv.submit); err != nil || rec.State != outbox.Sent {
		t.Fatalf("after the full disk: %+v, %v", rec, err)
	}
}
