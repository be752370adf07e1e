package main

import (
	"bytes"
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
