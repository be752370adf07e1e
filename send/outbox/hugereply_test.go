package outbox_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// TestHugeServerReply: a hostile server's reply of 1 MB (to RCPT, from
// the in-process go-smtp server, in lines go-smtp's client takes) is stored as the job's LastError cut to
// outbox.MaxErrorText characters ending in "…", keeping its code, and so
// is the audit entry's reason, deferred or failed, and failed for having
// expired. Before, the whole megabyte was stored, audited, and printed
// by every 'outbox list', 'outbox show' and progress line.
func TestHugeServerReply(t *testing.T) {
	bounded := func(t *testing.T, what, s, code string) {
		t.Helper()
		if n := utf8.RuneCountInString(s); n > outbox.MaxErrorText || !strings.HasSuffix(s, "…") || !strings.Contains(s, code) || !utf8.ValidString(s) {
			t.Errorf("%s: %d characters (want at most %d, ending in …, with %s), valid UTF-8 %v: %.120q", what, n, outbox.MaxErrorText, code, utf8.ValidString(s), s)
		}
	}
	for _, tc := range []struct {
		name  string
		reply reply
		state outbox.State
		code  string
		kind  error
	}{
		{"temporary", hugeTemp, outbox.Deferred, "450 Try again", send.ErrTemporary},
		{"permanent", hugePerm, outbox.Failed, "550 Try again", send.ErrPermanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, outbox.Options{MaxAge: time.Hour})
			f.srv.setScript(tc.reply, tc.reply)
			m, _ := f.message(1000)
			id := f.enqueue(m)
			rec, err := f.ob.Deliver(t.Context(), id, f.srv.submit)
			if !errors.Is(err, tc.kind) || rec.State != tc.state {
				t.Fatalf("state %s, err %.200v", rec.State, err)
			}
			bounded(t, "returned record", rec.LastError, tc.code)
			bounded(t, "stored record", f.get(id).LastError, tc.code)
			if tc.state == outbox.Deferred {
				// Expired after another huge reply: the reason quotes it.
				f.clock.Advance(2 * time.Hour)
				f.runDue()
				got := f.get(id)
				if got.State != outbox.Failed || !strings.HasPrefix(got.LastError, "not delivered within") {
					t.Fatalf("expired: %s %.200q", got.State, got.LastError)
				}
				bounded(t, "expired record", got.LastError, "450")
			}
			var buf jsonEntries
			if err := f.log.Export(&buf, audit.JSON, time.Time{}); err != nil {
				t.Fatal(err)
			}
			reasons := 0
			for _, e := range buf.entries(t) {
				if r := e.Fields["reason"]; r != "" {
					reasons++
					if utf8.RuneCountInString(r) > outbox.MaxErrorText {
						t.Errorf("audit %s: reason of %d characters", e.Kind, utf8.RuneCountInString(r))
					}
				}
			}
			if reasons == 0 {
				t.Error("no audit entry has the reason")
			}
		})
	}
}

// TestBoundError: short texts are kept; long ones are cut at a character
// boundary to MaxErrorText characters, the last "…".
func TestBoundError(t *testing.T) {
	exact := strings.Repeat("ā", outbox.MaxErrorText)
	for _, tc := range []struct {
		in, want string
	}{
		{"", ""},
		{"550 5.1.1 no such user", "550 5.1.1 no such user"},
		{exact, exact},
		{exact + "x", strings.Repeat("ā", outbox.MaxErrorText-1) + "…"},
		{strings.Repeat("a", 3*outbox.MaxErrorText), strings.Repeat("a", outbox.MaxErrorText-1) + "…"},
	} {
		if got := outbox.BoundError(tc.in); got != tc.want {
			t.Errorf("BoundError(%d characters) = %d characters %.40q…", utf8.RuneCountInString(tc.in), utf8.RuneCountInString(got), got)
		}
	}
}
