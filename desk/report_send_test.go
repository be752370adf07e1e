package desk

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// TestServerTextIsSafe: what a hostile or broken server says in a reply
// it accepted with (send keeps the reply's text as received), and a
// job's last error, reach the terminal made safe in the transmission
// report ('send', 'demo --send-sample'), in 'outbox show', in the row of
// 'outbox list' and in the lines of 'outbox run': no escape sequence or
// bidi override, only their visible stand-ins.
func TestServerTextIsSafe(t *testing.T) {
	const hostile = "ok \x1b[2J\x1b[32mVERIFIED\x1b[0m \u202etxt.exe"
	reply := send.Reply{Code: 250, EnhancedCode: "2.0.0", Text: hostile}
	res := &send.Result{Server: "smtp.example.org:465", Reply: reply, QueueID: "Q\x1b[1m1",
		Accepted: []send.RecipientResult{{Address: "pharmacy@example.org", Reply: reply}},
		Rejected: []send.RecipientResult{{Address: "lab@example.org", Reply: send.Reply{Code: 550, Text: hostile}}},
		Started:  time.Now()}
	rec := &outbox.Record{ID: strings.Repeat("a", 32), Job: outbox.Job{Envelope: send.Envelope{To: []string{"pharmacy@example.org"}}}}
	sent := *rec
	sent.State, sent.Result = outbox.Sent, res
	deferred := *rec
	deferred.State, deferred.LastError = outbox.Deferred, hostile
	failed := *rec
	failed.State, failed.LastError = outbox.Failed, hostile

	for _, c := range []struct {
		name  string
		lines []string
	}{
		{"transmission report", TransmissionLines(res, nil)},
		{"outbox show, last error", JobLines(&failed, Tracking{State: TrackFailed})},
		{"outbox show, sent", JobLines(&sent, Tracking{State: TrackSent})},
		{"outbox list, failed", JobRow(&failed, Tracking{State: TrackFailed})},
		{"outbox run, sent", []string{ProgressLine(&sent)}},
		{"outbox run, deferred", []string{ProgressLine(&deferred)}},
		{"outbox run, failed", []string{ProgressLine(&failed)}},
	} {
		out := strings.Join(c.lines, "\n")
		if strings.ContainsAny(out, "\x1b\u202e") {
			t.Errorf("%s: the server's text reached the terminal raw:\n%q", c.name, out)
		}
		if !strings.Contains(out, `\x1b[2J`) {
			t.Errorf("%s: the server's text is not shown with its stand-ins:\n%s", c.name, out)
		}
	}
}

// TestJobRowClipsAtACharacter: a long note in 'outbox list' is cut to 60
// bytes at a character boundary, never inside a multi-byte character.
func TestJobRowClipsAtACharacter(t *testing.T) {
	rec := &outbox.Record{ID: "abc", State: outbox.Failed, LastError: strings.Repeat("é", 40)}
	note := JobRow(rec, Tracking{State: TrackFailed})[6]
	if len(note) > 60 || !strings.HasSuffix(note, "...") || strings.ContainsRune(note, '\uFFFD') {
		t.Errorf("note %q (%d bytes): want at most 60 bytes of whole characters ending in ...", note, len(note))
	}
}

// TestSummaryStatus: the transmission report says what happened the same
// way after 'send' (from its error) and in 'outbox show' of a stored job
// (no error, the stored rejections), and a job not sent yet shows only how
// it is protected and what it carries.
func TestSummaryStatus(t *testing.T) {
	ok := send.Reply{Code: 250}
	all := &send.Result{Accepted: []send.RecipientResult{{Address: "a@example.org", Reply: ok}}}
	partly := &send.Result{Accepted: all.Accepted, Rejected: []send.RecipientResult{{Address: "b@example.org", Reply: send.Reply{Code: 550}}}}
	for _, c := range []struct {
		name string
		res  *send.Result
		err  error
		want string
	}{
		{"sent", all, nil, "Status:        SENT: accepted by the server for every recipient\n"},
		{"send, some rejected", partly, fmt.Errorf("send: %w", send.ErrRecipientsRejected), "Status:        PARTLY SENT"},
		{"outbox show, some rejected", partly, nil, "Status:        PARTLY SENT"},
		{"not sent", all, errors.New("send: boom"), "Status:        NOT SENT\n"},
	} {
		out := strings.Join(TransmissionLines(c.res, c.err), "\n") + "\n"
		if !strings.HasPrefix(out, transmissionTitle+"\n"+strings.Repeat("=", 30)+"\n") || !strings.Contains(out, c.want) {
			t.Errorf("%s: lacks the title or %q:\n%s", c.name, c.want, out)
		}
	}
	out := strings.Join(fieldLines(protectionFields(true, true, strings.Repeat("AB", 20), 1234,
		[]send.DocumentInfo{{Name: "rx.pdf", ContentType: "application/pdf", Size: 1000, SHA256: "cd"}}), reportWidth), "\n") + "\n"
	for _, want := range []string{"Encrypted:     yes (OpenPGP", "Signed:        yes, by your key ABAB", "Size:          1,234 bytes\n",
		"Document 1:    rx.pdf (application/pdf, 1,000 bytes)\n", "  SHA-256:     cd\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("protection lacks %q:\n%s", want, out)
		}
	}
}

// TestJSONErrorKinds: 'send --json' names the kind of each failure from
// send's sentinel errors, with the stage and reply of a *send.Error.
func TestJSONErrorKinds(t *testing.T) {
	if JSONError(nil) != nil {
		t.Fatal("JSONError(nil) is not nil")
	}
	for _, c := range []struct {
		err  error
		kind string
	}{
		{fmt.Errorf("x: %w", send.ErrNoTLS), "no_tls"},
		{fmt.Errorf("x: %w", send.ErrCertificate), "certificate"},
		{fmt.Errorf("x: %w", send.ErrRecipientsRejected), "recipients_rejected"},
		{errors.New("boom"), "other"},
	} {
		if got := JSONError(c.err); got.Kind != c.kind || got.Message == "" {
			t.Errorf("%v: kind %q message %q, want kind %q", c.err, got.Kind, got.Message, c.kind)
		}
	}
	se := &send.Error{Kind: send.ErrPermanent, Stage: "data", Reply: send.Reply{Code: 554, Text: "no"}}
	if got := JSONError(se); got.Kind != "permanent" || got.Stage != "data" || got.Reply == nil || got.Reply.Code != 554 {
		t.Errorf("*send.Error: %+v", got)
	}
}
