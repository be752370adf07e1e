package desk

import (
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// hostile holds what can take over or fool a terminal: an ANSI escape
// that clears the screen, an OSC title change ended by BEL, a C1 CSI, a
// right-to-left override, a carriage return and a line feed.
const hostile = "x\x1b[2J\x1b]0;pwned\x07\u009b1A\u202eabc\rforged\nline"

// unsafeIn reports the first line of lines that holds a character
// termsafe would not let through, or "".
func unsafeIn(lines []string) string {
	for _, l := range lines {
		if termsafe.String(l) != l {
			return l
		}
	}
	return ""
}

// TestReportLinesAttack: every line the moved reports return is safe for a
// terminal whatever the strings they are given hold: a profile's names,
// hosts and domains (a file), the user's security settings (a file), the
// path of an audit export. Before, ProfileLines, PolicyLines and
// AuditFileLines passed them through as they were, so an escape in a
// recipient's name in a profile, a domain in security.toml or a file name
// could clear the screen, retitle the window or reorder what 'admin
// profile show' and 'audit verify --export' print.
func TestReportLinesAttack(t *testing.T) {
	org := &profile.Profile{
		Serial:       7,
		Organisation: profile.Organisation{Name: "Clinic" + hostile},
		Accounts: []profile.AccountTemplate{{Name: "Mail" + hostile, SMTPHost: "smtp" + hostile, SMTPPort: 465, SMTPSecurity: "tls",
			IMAPHost: "imap" + hostile, IMAPPort: 993, IMAPSecurity: "tls", OAuthProvider: "p" + hostile}},
		Policy: profile.OrgPolicy{EncryptDomains: []string{"d" + hostile}, AllowedRecipientDomains: []string{"a" + hostile}},
		Recipients: []profile.Recipient{{Name: "Pharmacy" + hostile, Email: "p@x" + hostile, Organisation: "o" + hostile,
			HPIOrgID: "h" + hostile, Fingerprint: "f" + hostile}},
		Locked: []profile.Setting{profile.Setting("s" + hostile)},
	}
	pol := profile.Effective(org, profile.UserSettings{Encryption: profile.EncryptDomains, EncryptDomains: []string{"u" + hostile},
		AllowedRecipientDomains: []string{"v" + hostile}})
	last := audit.Entry{Seq: 3, Time: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC), Hash: strings.Repeat("ab", 32)}
	for _, tc := range []struct {
		name  string
		lines []string
	}{
		{"ProfileLines", ProfileLines(&profile.Loaded{Profile: org, Source: "/etc/securesend" + hostile, Fingerprint: "F" + hostile})},
		{"PolicyLines", PolicyLines(pol)},
		{"AuditFileLines", AuditFileLines("export"+hostile+".json", audit.FileSummary{Entries: 3, First: last, Last: last, Keyed: 3})},
		{"AuditFileLines empty", AuditFileLines("export"+hostile+".json", audit.FileSummary{})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.lines) == 0 {
				t.Fatal("no lines")
			}
			if l := unsafeIn(tc.lines); l != "" {
				t.Fatalf("a line reaches the terminal unsafe: %q", l)
			}
			if !strings.Contains(strings.Join(tc.lines, "\n"), `x\x1b[2J`) {
				t.Fatalf("the hostile text is not shown escaped:\n%s", strings.Join(tc.lines, "\n"))
			}
		})
	}
}

// TestProgressLineAttack: the progress line of a job ('outbox run', the
// relay, the hot folder) shows its recipients safe for a terminal. An
// envelope address may hold an escape or a bidi override (Enqueue refuses
// only CR, LF, <, >, space and tab; an acknowledgement goes to the address
// a received message came from). Before, ProgressLine printed them as
// they were, unlike JobRow.
func TestProgressLineAttack(t *testing.T) {
	to := "p\x1b]0;pwned\x07@x\u202egnp.nz"
	for _, st := range []outbox.State{outbox.Sending, outbox.Sent, outbox.Deferred} {
		r := &outbox.Record{ID: "0123456789abcdef", State: st, Job: outbox.Job{Envelope: send.Envelope{From: "a@b.nz", To: []string{to}}}}
		l := ProgressLine(r)
		if l == "" || termsafe.String(l) != l {
			t.Errorf("%s: %q", st, l)
		}
	}
}
