package desk

import (
	"bytes"
	"strings"
	"testing"

	"github.com/securesend/securesend/receive"
)

// TestFailureLines: failures are listed with their state, and server
// text in an error cannot reach the terminal as an escape sequence.
func TestFailureLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    receive.Failure
		want []string
		not  []string
	}{
		{"retried", receive.Failure{Source: receive.Source{Account: "pharmacy", Mailbox: "INBOX", UID: 2}, Stage: "fetch", Error: "no body", Attempts: 1},
			[]string{"pharmacy INBOX UID 2: fetch failed (attempt 1 of 3, tried again at the next fetch): no body"}, nil},
		{"given up", receive.Failure{Source: receive.Source{Account: "pharmacy", Mailbox: "INBOX", UID: 7}, Stage: "verify", Error: "bad", Attempts: 3, GaveUp: true},
			[]string{"given up after 3 attempts"}, nil},
		{"hostile text", receive.Failure{Source: receive.Source{Account: "pharmacy", Mailbox: "INBOX\x1b[2J", UID: 3}, Stage: "fetch", Error: "server said: \x1b]0;pwned\x07\u202etxt.exe", Attempts: 1},
			[]string{"INBOX?[2J", "server said: ?]0;pwned??txt.exe"}, []string{"\x1b", "\x07", "\u202e"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			for _, l := range FailureLines([]receive.Failure{tc.f}) {
				b.WriteString(l + "\n")
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output %q lacks %q", b.String(), w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(b.String(), n) {
					t.Errorf("output %q holds %q", b.String(), n)
				}
			}
		})
	}
}
