package main

import (
	"bytes"
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
// report ('send', 'demo --send-sample') and in the lines of 'outbox run': no
// escape sequence or bidi override, only their visible stand-ins.
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
		print func(*bytes.Buffer)
	}{
		{"transmission report", func(b *bytes.Buffer) { printSummary(b, res, nil) }},
		{"outbox show, last error", func(b *bytes.Buffer) { field(b, "Last error", "%s", hostile) }},
		{"outbox run, sent", func(b *bytes.Buffer) { outboxReportJob(b, &sent) }},
		{"outbox run, deferred", func(b *bytes.Buffer) { outboxReportJob(b, &deferred) }},
		{"outbox run, failed", func(b *bytes.Buffer) { outboxReportJob(b, &failed) }},
	} {
		var b bytes.Buffer
		c.print(&b)
		out := b.String()
		if strings.ContainsAny(out, "\x1b\u202e") {
			t.Errorf("%s: the server's text reached the terminal raw:\n%q", c.name, out)
		}
		if !strings.Contains(out, `\x1b[2J`) || !strings.Contains(out, "<U+202E>") {
			t.Errorf("%s: the server's text is not shown with its stand-ins:\n%s", c.name, out)
		}
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
		var b bytes.Buffer
		printSummary(&b, c.res, c.err)
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("%s: lacks %q:\n%s", c.name, c.want, b.String())
		}
	}
	var b bytes.Buffer
	printProtection(&b, true, true, strings.Repeat("AB", 20), 1234, []send.DocumentInfo{{Name: "rx.pdf", ContentType: "application/pdf", Size: 1000, SHA256: "cd"}})
	for _, want := range []string{"Encrypted:     yes (OpenPGP", "Signed:        yes, by your key ABAB", "Size:          1,234 bytes\n",
		"Document 1:    rx.pdf (application/pdf, 1,000 bytes)\n", "  SHA-256:     cd\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("printProtection lacks %q:\n%s", want, b.String())
		}
	}
}
