package desk

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// TestJobLinesBoundServerReply: a job whose stored last error or server
// reply is a hostile megabyte (a record from before the outbox bounded
// it) prints in 'outbox show', progress lines and 'outbox list' bounded
// to about outbox.MaxErrorText characters a line, made safe for a
// terminal. Before, JobLines and ProgressLine printed the whole megabyte.
func TestJobLinesBoundServerReply(t *testing.T) {
	huge := "451 4.3.0 " + strings.Repeat("\x1b[31mé", 1<<17)
	const most = outbox.MaxErrorText + 200 // the label, the ID, the words around it
	for _, state := range []outbox.State{outbox.Deferred, outbox.Failed, outbox.PossiblySent, outbox.Sent} {
		r := &outbox.Record{ID: "0123456789abcdef", State: state, LastError: huge, Created: time.Now(), NextAttempt: time.Now()}
		r.Envelope = send.Envelope{From: "clinic@clinic.test", To: []string{"pharmacy@example.org"}}
		if state == outbox.Sent {
			r.LastError = ""
			r.Result = &send.Result{Reply: send.Reply{Code: 250, Text: huge}}
		}
		lines := append(JobLines(r, Tracking{}), ProgressLine(r))
		lines = append(lines, strings.Join(JobRow(r, Tracking{}), "  "))
		for _, l := range lines {
			if n := utf8.RuneCountInString(l); n > most {
				t.Errorf("%s: a line of %d characters, want at most %d: %.80q", state, n, most, l)
			}
			if strings.ContainsRune(l, '\x1b') {
				t.Errorf("%s: an escape character reaches the terminal: %.80q", state, l)
			}
		}
	}
}
