package filelock

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/securesend/securesend/internal/winetemp"
)

// tempDir is a temporary directory these tests can also clean up as a
// Windows binary under Wine (e2e/windows); its name has a space and
// non-ASCII letters, as a Windows user's home may.
func tempDir(t *testing.T) string { return winetemp.Dir(t, "filelock Rongoā-") }

func TestTryLockExcludesSecondOpen(t *testing.T) {
	p := filepath.Join(tempDir(t), "lock")
	release, err := Path(p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, err := TryLock(f); err != nil || got {
		t.Fatalf("TryLock while held = %v, %v; want false, nil", got, err)
	}
	release()
	got, err := TryLock(f)
	if err != nil || !got {
		t.Fatalf("TryLock after release = %v, %v; want true, nil", got, err)
	}
	if err := Unlock(f); err != nil {
		t.Fatal(err)
	}
}

func TestLockWaitsForHolder(t *testing.T) {
	p := filepath.Join(tempDir(t), "lock")
	release, err := Path(p)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time)
	// The waiter's release must have closed the file before the test
	// ends: Windows refuses to remove an open file (under Wine the
	// clean-up once failed with a sharing violation).
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		r, err := Path(p)
		if err != nil {
			t.Error(err)
			close(got)
			return
		}
		got <- time.Now()
		r()
	}()
	select {
	case <-got:
		t.Fatal("a second Path got the lock while it was held")
	case <-time.After(200 * time.Millisecond):
	}
	released := time.Now()
	release()
	if at := <-got; at.Before(released) {
		t.Fatal("the waiter got the lock before it was released")
	}
}

// TestLockAcrossProcesses holds the lock in a child process and checks
// that this process cannot take it until the child exits (the operating
// system releases a dead holder's lock).
func TestLockAcrossProcesses(t *testing.T) {
	if os.Getenv("FILELOCK_CHILD") != "" {
		release, err := Path(os.Getenv("FILELOCK_CHILD"))
		if err != nil {
			os.Exit(3)
		}
		defer release()
		os.Stdout.WriteString("locked\n")
		// Hold until killed. Not select {}: with no timer pending (a test
		// binary run directly, as under Wine, has no -test.timeout alarm)
		// Go's deadlock detector ends the child ("all goroutines are
		// asleep") and the lock goes with it.
		time.Sleep(time.Hour)
		os.Exit(4)
	}
	p := filepath.Join(tempDir(t), "lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockAcrossProcesses$")
	cmd.Env = append(os.Environ(), "FILELOCK_CHILD="+p)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "locked\n" {
		cmd.Process.Kill()
		t.Fatalf("child did not lock: %q %v", buf, err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, err := TryLock(f); err != nil || got {
		cmd.Process.Kill()
		t.Fatalf("TryLock while a child holds it = %v, %v", got, err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if got, err := TryLock(f); err != nil || !got {
		t.Fatalf("TryLock after the holder died = %v, %v", got, err)
	}
}
