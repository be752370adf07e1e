package audit_test

import (
	"errors"
	"testing"

	"github.com/securesend/securesend/audit"
)

// TestHoldAttackAnchoredEntryRemoved: while the watch holds the log,
// another process (the CLI) appends an entry and moves the keychain head
// to it; someone who can write the file then cuts that entry off, so the
// file ends again exactly where the held Log last wrote. The held Log must
// not take its memory of the end for the keychain's: the removal of an
// entry the head covered has to show (as Verify's error or an
// audit.break), not be sealed over by the next held Append and the
// release. Before the fix, the held Append chained on as if nothing had
// happened and the release moved the head over the gap: Verify passed and
// the CLI's entry was gone without a trace.
func TestHoldAttackAnchoredEntryRemoved(t *testing.T) {
	for _, tc := range []struct {
		name string
		// after runs once the entry is cut off: the held Log's next
		// steps.
		after func(t *testing.T, l *audit.Log, release func() error)
	}{
		{"append then release", func(t *testing.T, l *audit.Log, release func() error) {
			fill(t, l, 1)
			release()
		}},
		{"release only", func(t *testing.T, l *audit.Log, release func() error) {
			if err := release(); err == nil {
				t.Error("release moved the head over the gap without an error")
			}
		}},
		{"a full batch of appends", func(t *testing.T, l *audit.Log, release func() error) {
			fill(t, l, audit.MaxUnanchored+2)
			release()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc, path, l := newLog(t)
			cli := openLog(t, kc, path)
			fill(t, l, 3)
			release := l.Hold()
			fill(t, l, 2) // entries 4-5; the head stays at 3
			before := readLines(t, path)
			fill(t, cli, 1) // entry 6, and the head moves to it
			if h := headSeq(t, kc, l); h != 6 {
				t.Fatalf("the CLI's append left the head at %d, want 6", h)
			}
			writeLines(t, path, before) // entry 6 cut off
			tc.after(t, l, release)

			_, verr := l.Verify()
			var be *audit.BrokenError
			broke := errors.As(verr, &be)
			for _, line := range readLines(t, path) {
				if line != "" && decode(t, line)["kind"] == string(audit.Break) {
					broke = true
				}
			}
			if !broke {
				t.Fatalf("entry 6, which the keychain head covered, was removed without a trace (Verify = %v, no %s entry)", verr, audit.Break)
			}
			// The next Append outside the hold records the gap.
			fill(t, l, 1)
			found := false
			for _, line := range readLines(t, path) {
				if line != "" && decode(t, line)["kind"] == string(audit.Break) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no %s entry after the next append", audit.Break)
			}
		})
	}
}
