package desk

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// joined is lines as one text, each line ending in a newline.
func joined(lines []string) string { return strings.Join(lines, "\n") + "\n" }

// TestAuditLines: 'audit verify' says which part of the log the audit key
// proves, for a log keyed from the start, one never keyed and one keyed
// later; a check without the key says what it cannot prove.
func TestAuditLines(t *testing.T) {
	last := audit.Entry{Seq: 9, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Hash: "ab12"}
	for _, c := range []struct {
		name string
		sum  audit.Summary
		want string
	}{
		{"empty", audit.Summary{}, "Audit log OK: no entries yet.\n"},
		{"keyed", audit.Summary{Entries: 9, Last: last}, "Every entry is authenticated with this computer's audit key.\n"},
		{"never keyed", audit.Summary{Entries: 9, Last: last, Legacy: 9}, "All 9 entries were written before the log was keyed"},
		{"keyed later", audit.Summary{Entries: 9, Last: last, Legacy: 4, KeyedFrom: 5}, "Entries 1 to 4 were written before the log was keyed (hash chain only); entries 5 to 9 are authenticated"},
	} {
		if got := joined(AuditLines(c.sum)); !strings.Contains(got, c.want) || (c.sum.Entries > 0 && !strings.Contains(got, "hash ab12")) {
			t.Errorf("%s: lacks %q or the last hash:\n%s", c.name, c.want, got)
		}
	}
	got := joined(AuditFileLines("copy.log", audit.FileSummary{Entries: 5, First: audit.Entry{Seq: 5}, Last: last, Keyed: 5}))
	for _, want := range []string{"Chain OK: entries 5 to 9 (5) of copy.log", "entry 5's link to the entries before it is not in the file", "NOT proven"} {
		if !strings.Contains(got, want) {
			t.Errorf("AuditFileLines lacks %q:\n%s", want, got)
		}
	}
}

// TestPolicyVerdictString: 'admin policy check' names the TLS floor and
// whether the message must be encrypted.
func TestPolicyVerdictString(t *testing.T) {
	v := &PolicyVerdict{MustEncrypt: true, MinTLS: tls.VersionTLS13, RequireTLS: true}
	if got, want := v.String(), "Allowed by policy; must be encrypted: yes; connection: TLS 1.3 or later, REQUIRETLS required: true"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	v = &PolicyVerdict{MinTLS: tls.VersionTLS12}
	if got := v.String(); !strings.Contains(got, "must be encrypted: no; connection: TLS 1.2 or later") {
		t.Errorf("got %q", got)
	}
}

// TestNextStep: a job that was not sent says what happens to it next;
// a sent or queued one says nothing.
func TestNextStep(t *testing.T) {
	rec := func(s outbox.State) *outbox.Record { return &outbox.Record{ID: "job1", State: s} }
	for _, c := range []struct {
		state outbox.State
		want  string
	}{
		{outbox.Deferred, "will be retried from"},
		{outbox.PossiblySent, "'securesend outbox confirm job1'"},
		{outbox.Failed, "'securesend outbox retry job1'"},
		{outbox.Sent, ""},
		{outbox.Queued, ""},
	} {
		got := NextStep(rec(c.state))
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.state, got, c.want)
		}
	}
	if NextStep(nil) != "" {
		t.Error("NextStep(nil) is not empty")
	}
}

// TestInboxRow: the list row takes the document type and patient only
// from the signed manifest, says archived and cancelled, and makes the
// sender safe.
func TestInboxRow(t *testing.T) {
	it := &receive.Item{ID: "7", Verdict: receive.Verified, From: "dr@clinic.test\x1b[2J", Archived: "Archive",
		Superseded: &receive.Supersession{Kind: manifest.Cancel}}
	rep := &receive.Report{Verdict: receive.Verified, Manifest: &manifest.Manifest{DocumentType: "prescription", PatientNHI: "ZZZ0016"}}
	row := InboxRow(Received{Item: it, Report: rep})
	if len(row) != len(InboxRowHeader) {
		t.Fatalf("%d columns, header has %d", len(row), len(InboxRowHeader))
	}
	want := map[int]string{0: "7", 2: "VERIFIED", 3: `dr@clinic.test\x1b[2J`, 4: "prescription", 5: "ZZZ0016", 6: "0", 7: "CANCELLED by the sender (archived to Archive)"}
	for i, w := range want {
		if row[i] != w {
			t.Errorf("column %s: %q, want %q", InboxRowHeader[i], row[i], w)
		}
	}
	bad := InboxRow(Received{Item: &receive.Item{ID: "8", Verdict: receive.BadSignature}, Report: &receive.Report{Verdict: receive.BadSignature, Withheld: true, Manifest: rep.Manifest}})
	if bad[4] != "-" || bad[5] != "-" {
		t.Errorf("a withheld message shows its manifest: %q", bad)
	}
}

// TestProgressLine: each state a delivery reports has its line, with the
// short job ID; the states it does not report have none.
func TestProgressLine(t *testing.T) {
	base := outbox.Record{ID: strings.Repeat("f", 32), Job: outbox.Job{Envelope: send.Envelope{To: []string{"rx@pharmacy.test"}}}}
	for _, c := range []struct {
		state outbox.State
		want  string
	}{
		{outbox.Sending, "ffffffffffff  sending to rx@pharmacy.test (attempt 0)"},
		{outbox.Sent, "ffffffffffff  SENT to rx@pharmacy.test"},
		{outbox.Failed, "ffffffffffff  FAILED: "},
		{outbox.PossiblySent, "then 'securesend outbox confirm ffffffffffff' to resend"},
		{outbox.Cancelled, ""},
	} {
		r := base
		r.State = c.state
		got := ProgressLine(&r)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: %q, want %q", c.state, got, c.want)
		}
	}
}
