package desk

import (
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/receive"
)

// TestWatchRetryDue: which failed messages a watch round tries again
// (retryRule.due), for a failure whose last attempt is at various
// times against the round's clock. Two attacks on the old rule: a clock
// that went back (an NTP step, a dead CMOS battery corrected) left a
// failure whose last attempt is in the future untried until the clock
// caught up, even with --retry-failed; and a message given up after
// three attempts in three minutes of a flaky server was never tried
// again without the user, a genuine prescription kept out of the inbox
// for good. Given up after failing to verify or store, it is not
// fetched again (the same bytes fail the same way until the keys
// change): a sender of many such messages cannot make the watch
// download them all every two hours.
func TestWatchRetryDue(t *testing.T) {
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	const stamp = "stamp"
	src := receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 7, UID: 42}
	tests := []struct {
		name     string
		attempts int
		gaveUp   bool
		last     time.Duration // from now
		tried    string        // stamp recorded, "" for none
		all      bool          // --retry-failed, started a second before now
		want     bool
		stage    string // "fetch" when empty
	}{
		{"first attempt, wait not passed", 1, false, -30 * time.Second, stamp, false, false, ""},
		{"first attempt, wait passed", 1, false, -time.Minute, stamp, false, true, ""},
		{"second attempt, 1 min", 2, false, -time.Minute, stamp, false, false, ""},
		{"second attempt, 2 min", 2, false, -2 * time.Minute, stamp, false, true, ""},
		{"keys changed", 1, false, -time.Second, "other", false, true, ""},
		{"unknown to the record", 1, false, -time.Second, "", false, false, ""},
		{"--retry-failed", 1, false, -2 * time.Second, stamp, true, true, ""},
		{"--retry-failed, tried in this watch", 1, false, 0, stamp, true, false, ""},
		{"given up, keys changed", 3, true, -time.Second, "other", false, true, ""},
		{"given up, --retry-failed", 3, true, -2 * time.Second, stamp, true, true, ""},
		{"given up, 4 min", 3, true, -4 * time.Minute, stamp, false, true, ""},
		{"given up, 3 min", 3, true, -3 * time.Minute, stamp, false, false, ""},
		{"given up long ago", 3, true, -24 * time.Hour, stamp, false, true, ""},
		{"many attempts, within the longest wait", 50, true, -127 * time.Minute, stamp, false, false, ""},
		{"many attempts, the longest wait passed", 50, true, -128 * time.Minute, stamp, false, true, ""},
		{"clock went back a day", 1, false, 24 * time.Hour, stamp, false, true, ""},
		{"clock went back a day, given up", 3, true, 24 * time.Hour, stamp, false, true, ""},
		{"clock went back a day, --retry-failed", 3, true, 24 * time.Hour, stamp, true, true, ""},
		{"another watch tried it just now", 1, false, time.Second, stamp, false, false, ""},
		{name: "verify failed, given up long ago", attempts: 3, gaveUp: true, last: -24 * time.Hour, tried: stamp, all: false, want: false, stage: "verify"},
		{name: "store failed, given up long ago", attempts: 3, gaveUp: true, last: -24 * time.Hour, tried: stamp, all: false, want: false, stage: "store"},
		{name: "verify failed, given up, keys changed", attempts: 3, gaveUp: true, last: -time.Second, tried: "other", all: false, want: true, stage: "verify"},
		{name: "verify failed, given up, --retry-failed", attempts: 3, gaveUp: true, last: -2 * time.Second, tried: stamp, all: true, want: true, stage: "verify"},
		{name: "verify failed, second attempt due", attempts: 2, gaveUp: false, last: -2 * time.Minute, tried: stamp, all: false, want: true, stage: "verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &failedState{Tried: map[string]string{}}
			if tt.stage == "" {
				tt.stage = "fetch"
			}
			f := receive.Failure{Source: src, Stage: tt.stage, Attempts: tt.attempts, GaveUp: tt.gaveUp, First: now.Add(tt.last), Last: now.Add(tt.last)}
			if tt.tried != "" {
				st.Tried[failureKey(f)] = tt.tried
			}
			r := retryRule{st: st, stamp: stamp, now: now, wait: DefaultWatchRetryWait}
			if tt.all {
				r.all = now.Add(-time.Second)
			}
			if got := r.due(f); got != tt.want {
				t.Errorf("due %v, want %v", got, tt.want)
			}
		})
	}
}

// TestWatchFailureDetail: what the watch says of a failure matches what
// retryRule.due will do with it: a given-up message the server would not
// serve is tried again after a time; one that could not be verified is
// not, until the keys change; one under an old UIDVALIDITY is not tried
// by its UID at all. And nothing of the server's text reaches the
// terminal unescaped.
func TestWatchFailureDetail(t *testing.T) {
	last := time.Date(2026, 12, 8, 9, 0, 0, 0, time.Local)
	r := retryRule{now: last, wait: DefaultWatchRetryWait}
	src := receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 7, UID: 42}
	tests := []struct {
		name        string
		f           receive.Failure
		uidValidity uint32
		want        string
	}{
		{"first attempt", receive.Failure{Source: src, Stage: "fetch", Attempts: 1, Last: last, Error: "NO"}, 7,
			"pharmacy INBOX UID 42 (UIDVALIDITY 7): fetch failed (attempt 1): NO; tried again after 2026-12-08 09:01:00"},
		{"given up, fetch", receive.Failure{Source: src, Stage: "fetch", Attempts: 3, GaveUp: true, Last: last, Error: "NO"}, 7,
			"; given up: ask the sender to send it again (the watch tries it again after 2026-12-08 09:04:00, less and less often;"},
		{"given up, verify", receive.Failure{Source: src, Stage: "verify", Attempts: 3, GaveUp: true, Last: last, Error: "x"}, 7,
			"; given up: ask the sender to send it again (the watch tries it again when the keys or the profile change;"},
		{"renumbered", receive.Failure{Source: src, Stage: "fetch", Attempts: 1, Last: last, Error: "NO"}, 8,
			"; the server has renumbered the mailbox since (UIDVALIDITY now 8)"},
		{"hostile server text", receive.Failure{Source: src, Stage: "fetch", Attempts: 1, Last: last, Error: "NO \x1b[2J\u202eok"}, 0,
			"fetch failed (attempt 1): NO ?[2J?ok; tried again after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := watchFailureDetail(tt.f, r, tt.uidValidity); !strings.Contains(got, tt.want) {
				t.Errorf("%q\nwant it to hold %q", got, tt.want)
			}
		})
	}
}
