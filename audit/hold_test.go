package audit_test

import (
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/keychain"
)

// headSeq is the sequence number the keychain head of l names.
func headSeq(t *testing.T, kc *keychain.Keychain, l *audit.Log) uint64 {
	t.Helper()
	s, err := kc.Get(audit.HeadNameForTest(l))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.Fields(s)[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHoldBatchesHead: while held, entries are written (and verify) but
// the keychain head stays behind, never by MaxUnanchored entries or more
// once Append returns; release moves it to the end.
func TestHoldBatchesHead(t *testing.T) {
	kc, _, l := newLog(t)
	fill(t, l, 2)
	release := l.Hold()
	moves := 0
	last := headSeq(t, kc, l)
	for i := uint64(3); i <= 2+2*audit.MaxUnanchored+3; i++ {
		fill(t, l, 1)
		h := headSeq(t, kc, l)
		if h != last {
			moves++
			last = h
		}
		if i-h >= audit.MaxUnanchored {
			t.Fatalf("entry %d written with the head at %d: %d past it", i, h, i-h)
		}
		if s, err := l.Verify(); err != nil || s.Entries != i {
			t.Fatalf("held, %d entries: Verify = %+v, %v", i, s, err)
		}
	}
	total := uint64(2 + 2*audit.MaxUnanchored + 3)
	if moves != 2 || headSeq(t, kc, l) == total {
		t.Fatalf("the head moved %d times during %d held appends (to %d), want every %d entries", moves, total-2, headSeq(t, kc, l), audit.MaxUnanchored)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if err := release(); err != nil { // a second call does nothing
		t.Fatal(err)
	}
	if h := headSeq(t, kc, l); h != total {
		t.Fatalf("after release the head is %d, want %d", h, total)
	}
	fill(t, l, 1)
	if h := headSeq(t, kc, l); h != total+1 {
		t.Fatalf("after the hold, Append moved the head to %d, want %d", h, total+1)
	}
	if s, err := l.Verify(); err != nil || s.Entries != total+1 {
		t.Fatalf("Verify = %+v, %v", s, err)
	}
}

// TestHoldNested: the head moves when the last Hold is released.
func TestHoldNested(t *testing.T) {
	kc, _, l := newLog(t)
	fill(t, l, 1)
	outer, inner := l.Hold(), l.Hold()
	fill(t, l, 3)
	if err := inner(); err != nil {
		t.Fatal(err)
	}
	if h := headSeq(t, kc, l); h != 1 {
		t.Fatalf("head moved to %d with a hold still open", h)
	}
	if err := outer(); err != nil {
		t.Fatal(err)
	}
	if h := headSeq(t, kc, l); h != 4 {
		t.Fatalf("head = %d after the last release, want 4", h)
	}
}

// TestHoldTamper: entries the head covers stay protected while held:
// deleting them, or appending a made-up entry, is reported by Verify and
// recorded by the next held Append as an audit.break. Removing entries
// the head does not cover yet is not detected: that is the documented
// cost of a Hold, bounded by MaxUnanchored and by the release.
func TestHoldTamper(t *testing.T) {
	t.Run("truncated below the head", func(t *testing.T) {
		kc, path, l := newLog(t)
		fill(t, l, 4)
		release := l.Hold()
		defer release()
		fill(t, l, 3)
		lines := readLines(t, path)
		writeLines(t, path, lines[:3]) // entries 1-3: the head is 4
		var be *audit.BrokenError
		if _, err := l.Verify(); !errors.As(err, &be) || be.Seq != 4 {
			t.Fatalf("Verify = %v, want broken at 4", err)
		}
		fill(t, l, 1)
		if got := decode(t, readLines(t, path)[3])["kind"]; got != string(audit.Break) {
			t.Fatalf("entry 4 after the held append is %v, want %s", got, audit.Break)
		}
		if h := headSeq(t, kc, l); h != 4 {
			t.Fatalf("the break entry did not move the head at once (head %d)", h)
		}
	})
	t.Run("made-up entry after held ones", func(t *testing.T) {
		_, path, l := newLog(t)
		fill(t, l, 2)
		release := l.Hold()
		defer release()
		fill(t, l, 3)
		lines := readLines(t, path)
		lines = lines[:len(lines)-1]
		key := make([]byte, 32)
		rand.Read(key)
		writeLines(t, path, append(lines, forgeKeyed(t, lines[len(lines)-1], key)))
		var be *audit.BrokenError
		if _, err := l.Verify(); !errors.As(err, &be) || be.Seq != 6 {
			t.Fatalf("Verify = %v, want broken at 6", err)
		}
		fill(t, l, 1)
		if got := decode(t, readLines(t, path)[6])["kind"]; got != string(audit.Break) {
			t.Fatalf("entry 7 is %v, want %s", got, audit.Break)
		}
	})
	t.Run("unanchored entries removed (the documented cost)", func(t *testing.T) {
		_, path, l := newLog(t)
		fill(t, l, 2)
		release := l.Hold()
		defer release()
		fill(t, l, 3)
		writeLines(t, path, readLines(t, path)[:2]) // entries 1-2; the head is 2
		if s, err := l.Verify(); err != nil || s.Entries != 2 {
			t.Fatalf("Verify = %+v, %v: removing entries past the head is not detectable", s, err)
		}
	})
	t.Run("more than MaxUnanchored past the head", func(t *testing.T) {
		kc, _, l := newLog(t)
		fill(t, l, 2)
		h2, err := kc.Get(audit.HeadNameForTest(l))
		if err != nil {
			t.Fatal(err)
		}
		fill(t, l, audit.MaxUnanchored+1)
		if err := kc.Set(audit.HeadNameForTest(l), h2); err != nil {
			t.Fatal(err)
		}
		var be *audit.BrokenError
		if _, err := l.Verify(); !errors.As(err, &be) || be.Seq != 3 || !strings.Contains(be.Reason, "not written by securesend's last append") {
			t.Fatalf("Verify = %v, want broken at 3", err)
		}
	})
}

// TestHoldOtherWriter: another Log on the same file (another process)
// appends while this one holds entries past the head: it accepts them,
// and this Log notices the file changed and chains onto the other's
// entry. No break is recorded.
func TestHoldOtherWriter(t *testing.T) {
	kc, path, l := newLog(t)
	other := openLog(t, kc, path)
	fill(t, l, 1)
	release := l.Hold()
	fill(t, l, 3)
	fill(t, other, 1)
	fill(t, l, 2)
	if err := release(); err != nil {
		t.Fatal(err)
	}
	s, err := l.Verify()
	if err != nil || s.Entries != 7 {
		t.Fatalf("Verify = %+v, %v", s, err)
	}
	if h := headSeq(t, kc, l); h != 7 {
		t.Fatalf("head = %d, want 7", h)
	}
	for i, line := range readLines(t, path)[:7] {
		if k := decode(t, line)["kind"]; k == string(audit.Break) {
			t.Fatalf("entry %d is a break", i+1)
		}
	}
}

const crashEnv = "SECURESEND_AUDIT_TEST_CRASH"

// TestCrashWhileHeld: a process killed (SIGKILL) while holding, with
// entries past the head, loses none of them: Verify accepts them, and the
// next process appends after them and moves the head. Before Hold,
// Verify accepted only one entry past the head.
func TestCrashWhileHeld(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		return
	}
	kc, path, l := newLog(t)
	fill(t, l, 3)
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWhileHeldChild$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path, "SECURESEND_AUDIT_TEST_SERVICE="+kc.Service())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v\n%s", err, out)
	}
	const written = 3 + 10
	if h := headSeq(t, kc, l); h != 3 {
		t.Fatalf("the child moved the head to %d; the test needs it left at 3", h)
	}
	s, err := l.Verify()
	if err != nil || s.Entries != written {
		t.Fatalf("after the crash: Verify = %+v, %v", s, err)
	}
	fill(t, l, 1)
	if s, err := l.Verify(); err != nil || s.Entries != written+1 {
		t.Fatalf("after the next append: Verify = %+v, %v", s, err)
	}
	if h := headSeq(t, kc, l); h != written+1 {
		t.Fatalf("head = %d, want %d", h, written+1)
	}
	for i, line := range readLines(t, path)[:written+1] {
		if k := decode(t, line)["kind"]; k == string(audit.Break) {
			t.Fatalf("entry %d is a break", i+1)
		}
	}
}

// TestCrashWhileHeldChild is the child of TestCrashWhileHeld: it holds,
// appends ten entries and kills itself before releasing.
func TestCrashWhileHeldChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("child process only")
	}
	l, err := audit.Open(path, keychain.New(os.Getenv("SECURESEND_AUDIT_TEST_SERVICE")), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Hold()
	for range 10 {
		if _, err := l.Append(audit.Event{Kind: audit.ReceiveVerified, Fields: audit.Fields{"from": "alice@clinic.example"}}); err != nil {
			t.Fatal(err)
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// TestHoldAcrossHolds: a Log keeps what it knows of the end between
// Holds, but only while the file still ends there: another writer's
// entry between two Holds is chained onto, and entries removed between
// two Holds are reported by the next held Append as an audit.break.
func TestHoldAcrossHolds(t *testing.T) {
	t.Run("another writer between", func(t *testing.T) {
		kc, path, l := newLog(t)
		other := openLog(t, kc, path)
		for i := range 3 {
			release := l.Hold()
			fill(t, l, 2)
			if err := release(); err != nil {
				t.Fatal(err)
			}
			if i == 1 {
				fill(t, other, 1)
			}
		}
		if s, err := l.Verify(); err != nil || s.Entries != 7 {
			t.Fatalf("Verify = %+v, %v", s, err)
		}
		if h := headSeq(t, kc, l); h != 7 {
			t.Fatalf("head = %d, want 7", h)
		}
	})
	t.Run("entries removed between", func(t *testing.T) {
		_, path, l := newLog(t)
		release := l.Hold()
		fill(t, l, 4)
		if err := release(); err != nil {
			t.Fatal(err)
		}
		writeLines(t, path, readLines(t, path)[:2])
		release = l.Hold()
		defer release()
		fill(t, l, 1)
		if got := decode(t, readLines(t, path)[2])["kind"]; got != string(audit.Break) {
			t.Fatalf("entry 3 is %v, want %s", got, audit.Break)
		}
	})
}

// TestHoldConcurrent: goroutines holding and releasing the same Log,
// one appending without a hold, and a second Log on the same file (as
// another process) all at once: the chain stays whole, no break is
// recorded, and after the last release the head is at the end. Run
// with -race for the locking.
func TestHoldConcurrent(t *testing.T) {
	kc, path, l := newLog(t)
	other := openLog(t, kc, path)
	const rounds, per = 6, 3
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	appendN := func(lg *audit.Log, n int) {
		for range n {
			if _, err := lg.Append(audit.Event{Kind: audit.ReceiveVerified}); err != nil {
				errs <- err
				return
			}
		}
	}
	for range 2 {
		wg.Go(func() {
			for range rounds {
				release := l.Hold()
				appendN(l, per)
				if err := release(); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Go(func() { appendN(l, rounds) })
	wg.Go(func() {
		for range rounds {
			release := other.Hold()
			appendN(other, per)
			if err := release(); err != nil {
				errs <- err
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := uint64(2*rounds*per + rounds + rounds*per)
	s, err := l.Verify()
	if err != nil || s.Entries != want {
		t.Fatalf("Verify = %+v, %v; want %d entries", s, err, want)
	}
	for i, line := range readLines(t, path)[:want] {
		if k := decode(t, line)["kind"]; k == string(audit.Break) {
			t.Fatalf("entry %d is a break", i+1)
		}
	}
	if h := headSeq(t, kc, l); h != want {
		t.Fatalf("head = %d after every hold was released, want %d", h, want)
	}
}
