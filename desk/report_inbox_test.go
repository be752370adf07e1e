package desk

import (
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

func signedAll() receive.SignedFields {
	return receive.SignedFields{From: true, To: true, Cc: true, Subject: true, Date: true, MessageID: true}
}

// TestVerifyLinesFollowVerdict: what is printed beside the verdict is
// labelled unless signed, and a withheld report prints nothing from
// inside the message (issue 12 points 1, 3, 5).
func TestVerifyLinesFollowVerdict(t *testing.T) {
	date := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	docs := []receive.Document{{Name: "prescription.pdf", ContentType: "application/pdf", Size: 10, SHA256: "ab"}}
	tests := []struct {
		name       string
		rep        func() *receive.Report
		want, lack []string
	}{
		{
			name: "verified with an unsigned outer subject",
			rep: func() *receive.Report {
				r := &receive.Report{Verdict: receive.Verified, Reason: "Good signature", From: "alice@clinic.test",
					Subject: "Prescription", Date: date, MessageID: "m@x", Documents: docs}
				r.Signed = signedAll()
				r.Signed.Subject = false
				r.To = []string{"bob@pharmacy.test"}
				r.Unprotected = []receive.HeaderField{{Name: "Subject", Value: "URGENT dispense 90"}}
				return r
			},
			want: []string{
				"From:        alice@clinic.test\n",
				"To:          bob@pharmacy.test\n",
				"Subject:     Prescription  (not protected by the signature)\n",
				"Date:        Mon, 23 Nov 2026 09:00:00 +0000\n",
				"Message-ID:  m@x\n",
				"Outside the signature (not protected, may have been changed by anyone):\n  Subject: URGENT dispense 90\n",
				"prescription.pdf",
			},
		},
		{
			name: "verified with nothing signed but the body",
			rep: func() *receive.Report {
				return &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Subject: "Rx", Date: date, MessageID: "m@x"}
			},
			want: []string{
				"From:        alice@clinic.test  (not protected by the signature)",
				"Subject:     Rx  (not protected by the signature)",
				"Date:        Mon, 23 Nov 2026 09:00:00 +0000  (not protected by the signature)",
				"Message-ID:  m@x  (not protected by the signature)",
			},
		},
		{
			name: "integrity failure withholds everything from inside",
			rep: func() *receive.Report {
				r := &receive.Report{Verdict: receive.CannotDecrypt, Reason: "The encrypted part failed its integrity check.",
					Encrypted: true, From: "alice@clinic.test", Subject: "Inner subject J. Test", Note: "Dispense 90", Documents: docs,
					Omitted: []string{"HTML part inner.html"}}
				r.Withheld = true
				r.To = []string{"inner-to@x"}
				return r
			},
			want: []string{"NOT VERIFIED - cannot decrypt", "Documents:   withheld"},
			lack: []string{"Dispense 90", "Inner subject", "prescription.pdf", "inner.html", "inner-to@x", "Documents:   1"},
		},
		{
			name: "bad signature is withheld even without the flag",
			rep: func() *receive.Report {
				return &receive.Report{Verdict: receive.BadSignature, Reason: "altered", From: "alice@clinic.test",
					Subject: "Inner subject", Note: "Dispense 90", Documents: docs}
			},
			want: []string{"BAD SIGNATURE", "withheld"},
			lack: []string{"Dispense 90", "Inner subject", "prescription.pdf"},
		},
		{
			name: "not addressed to you, impostor, remarks",
			rep: func() *receive.Report {
				r := &receive.Report{Verdict: receive.NotAddressed, Reason: "signed by Dr Alice for other@pharmacy.test; it may have been forwarded or replayed",
					From: "alice@clinic.test", Subject: "Rx", Documents: docs}
				r.Signed = signedAll()
				r.Impostor = true
				r.Remarks = []string{"The signature does not say whom it was for."}
				return r
			},
			want: []string{"NOT VERIFIED - not addressed to you (not-addressed-to-you)", "for other@pharmacy.test", "IMPOSTOR WARNING",
				"Remark:      The signature does not say whom it was for."},
		},
		{
			name: "strings from the message and key are made safe",
			rep: func() *receive.Report {
				r := &receive.Report{Verdict: receive.UnknownSigner, Reason: "Good signature by Mallory \x1b[2K<m@x>",
					SignerUserID: "Dr \u202eecilA\u202c <m@x>", SignerFingerprint: "AB\x1bCD", From: "m@x\r", Subject: "a\x1b]0;t\x07",
					MessageID: "id\x1b@x", Note: "Dispense 30\rDispense 90\u009b2J", Omitted: []string{"x\x1b"},
					Documents: []receive.Document{{Name: "a\x1b[1A.pdf", ContentType: "application/pdf\x1b", SHA256: "00"}}}
				r.Unprotected = []receive.HeaderField{{Name: "X\x1b", Value: "v\u2066"}}
				r.Remarks = []string{"r\x1b"}
				return r
			},
			want: []string{`Mallory \x1b[2K`, "Dr <U+202E>ecilA<U+202C>", `a\x1b]0;t\x07`, `Dispense 30\x0dDispense 90<U+009B>2J`, `a\x1b[1A.pdf`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := strings.Join(VerifyLines(Redact(tt.rep())), "\n") + "\n"
			assertShows(t, "VerifyLines", out, tt.want, tt.lack)
		})
	}
}

// assertTerminalSafe fails when out holds a control character other than
// a line feed, or a bidi or other invisible format character.
func assertTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	if i := strings.IndexFunc(out, func(r rune) bool { return r != '\n' && termsafe.Unsafe(r) }); i >= 0 {
		t.Errorf("%s prints a raw unsafe character at byte %d:\n%s", what, i, out)
	}
}

// assertShows fails unless got, what a printer printed, is safe for a
// terminal, holds every string of want and none of lack.
func assertShows(t *testing.T, what, got string, want, lack []string) {
	t.Helper()
	assertTerminalSafe(t, what, got)
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
	for _, l := range lack {
		if strings.Contains(got, l) {
			t.Errorf("%s shows %q:\n%s", what, l, got)
		}
	}
}

// TestContentLines pins the one report of a message's inside that 'inbox
// show' and 'verify' share: documents numbered as 'inbox open --doc N'
// counts them, the parts left out named (inbox show used to drop them),
// everything made safe, and nothing from a withheld message, in the words
// of the command.
func TestContentLines(t *testing.T) {
	docs := []receive.Document{
		{Name: "a.pdf", ContentType: "application/pdf", Size: 3, SHA256: "aa"},
		{Name: "b\x1b[2J\u202e.pdf", ContentType: "application/pdf", Size: 4, SHA256: "bb", Path: "/out/b.pdf"},
	}
	verified := func() *receive.Report {
		return &receive.Report{Verdict: receive.Verified, Note: "Dispense 90\x1b[1A", Documents: docs, Omitted: []string{"HTML part x.html"}}
	}
	tests := []struct {
		name string
		rep  *receive.Report
		verb string
		want []string
		lack []string
	}{
		{"verified, inbox show", verified(), "opened",
			[]string{"Documents:   2\n", "  1. a.pdf  3 bytes  application/pdf  sha256:aa\n", "  2. b", "     saved to /out/b.pdf\n",
				"Not shown:   HTML part x.html\n", "Note:\n  Dispense 90"},
			[]string{"withheld"}},
		{"failed integrity, inbox show", &receive.Report{Verdict: receive.CannotDecrypt, Withheld: true, Note: "n", Documents: docs}, "opened",
			[]string{"so nothing from inside it is shown or opened.\n"}, []string{"a.pdf", "Note", "Documents:   2"}},
		{"bad signature, verify", &receive.Report{Verdict: receive.BadSignature, Note: "n", Documents: docs}, "extracted",
			[]string{"so nothing from inside it is shown or extracted.\n"}, []string{"a.pdf", "Note"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := strings.Join(contentLines(tt.rep, tt.verb), "\n") + "\n"
			assertShows(t, "contentLines", out, tt.want, tt.lack)
		})
	}
}
