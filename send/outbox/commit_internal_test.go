package outbox

import (
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/securesend/securesend/send"
)

// TestRecoverInterruptedByCommitPoint: a job found in sending with no
// process delivering it is queued again when its attempt recorded that it
// tracks the commit point and had not reached it, and is possibly sent
// when it had, or when it was left by a version that did not track it.
func TestRecoverInterruptedByCommitPoint(t *testing.T) {
	at := time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		tracks    bool
		committed time.Time
		want      State
	}{
		{"before the commit point", true, time.Time{}, Queued},
		{"after the commit point", true, at, PossiblySent},
		{"left by an older version", false, time.Time{}, PossiblySent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := make([]byte, 32)
			rand.Read(key)
			o, err := Open(t.TempDir(), key, Options{Now: func() time.Time { return at.Add(time.Minute) }})
			if err != nil {
				t.Fatal(err)
			}
			id, err := newID()
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(o.msgPath(id), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			rec := &Record{ID: id, Job: Job{Envelope: send.Envelope{From: "a@test", To: []string{"b@test"}}, MessageID: "x@test"},
				State: Sending, Attempts: 1, Created: at, Since: at, LastAttempt: at, TracksCommit: tc.tracks, Committed: tc.committed}
			if err := o.save(rec); err != nil {
				t.Fatal(err)
			}
			got, err := o.Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tc.want {
				t.Fatalf("state %s (%s), want %s", got.State, got.LastError, tc.want)
			}
			if tc.want == Queued && !got.NextAttempt.Equal(at.Add(time.Minute)) {
				t.Errorf("next attempt %v, want now (%v)", got.NextAttempt, at.Add(time.Minute))
			}
			if again, _ := o.Get(id); again.State != tc.want {
				t.Errorf("not recorded: %s the second time", again.State)
			}
		})
	}
}
