package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

// assertTerminalSafe fails when out holds a control character other than
// a line feed, or a bidi or other invisible format character.
func assertTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	for _, r := range out {
		if r != '\n' && termsafe.Unsafe(r) {
			t.Errorf("%s prints the raw character %U:\n%s", what, r, out)
			return
		}
	}
}

// TestVerifyOutputIsTerminalSafe: a message whose Subject carries cursor
// movement and a fake VERIFIED, and whose file name carries a bidi
// override, cannot rewrite the banner (issue 12 point 5).
func TestVerifyOutputIsTerminalSafe(t *testing.T) {
	ae := newAcctEnv(t)
	out, _, code := ae.run(t, "", "verify", filepath.Join("testdata", "messages", "hostile_not_signed.eml"))
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	assertTerminalSafe(t, "verify", out)
	if !strings.Contains(out, `Dispense 90\x1b[2K\x1b[1A\x1b[32mVERIFIED\x07 <U+202E>09  (not protected by the signature)`) {
		t.Errorf("the subject's escapes are not shown visibly, or not labelled:\n%s", out)
	}
	out, _, _ = ae.run(t, "", "verify", "--json", filepath.Join("testdata", "messages", "hostile_not_signed.eml"))
	assertTerminalSafe(t, "verify --json", out)
	var rep receive.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Subject != "Dispense 90\x1b[2K\x1b[1A\x1b[32mVERIFIED\a \u202e09" {
		t.Errorf("verify --json does not carry the subject unchanged: %v %q", err, rep.Subject)
	}
}

func signedAll() receive.SignedFields {
	return receive.SignedFields{From: true, To: true, Cc: true, Subject: true, Date: true, MessageID: true}
}

// TestPrintReportFollowsVerdict: what is printed beside the verdict is
// labelled unless signed, and a withheld report prints nothing from
// inside the message (issue 12 points 1, 3, 5).
func TestPrintReportFollowsVerdict(t *testing.T) {
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
			var out bytes.Buffer
			printReport(&env{stdout: &out}, desk.Redact(tt.rep()))
			assertShows(t, "printReport", out.String(), tt.want, tt.lack)
		})
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

// alicePub is Alice's TEST ONLY public key, as the verify script uses it.
func alicePub(t *testing.T) []byte {
	t.Helper()
	a, err := txtar.ParseFile(filepath.Join("testdata", "verify_verdicts.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range a.Files {
		if f.Name == "alice.pub.asc" {
			return f.Data
		}
	}
	t.Fatal("no alice.pub.asc in verify_verdicts.txtar")
	return nil
}

// TestVerifyExtractFollowsVerdict: --extract writes only verified
// documents, --extract-unverified adds not-signed (and other amber) ones,
// never bad-signature or cannot-decrypt ones; a refusal says why and
// exits non-zero; nothing is left in the folder but the published files
// (issue 12 point 1 and "Extraction and opening follow the verdict").
func TestVerifyExtractFollowsVerdict(t *testing.T) {
	requireKeychain(t)
	ae := newAcctEnv(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	work := t.TempDir()
	pub := filepath.Join(work, "alice.pub.asc")
	if err := os.WriteFile(pub, alicePub(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := ae.run(t, "", "keys", "import", "--pin", "--email", "alice@clinic.test", pub); code != 0 {
		t.Fatalf("keys import: %d\n%s%s", code, out, errOut)
	}
	// The fixtures are signed for bob@pharmacy.test: this desk is Bob's.
	if out, errOut, code := ae.run(t, "", "keys", "generate", "--name", "Bob Test", "--email", "bob@pharmacy.test"); code != 0 {
		t.Fatalf("keys generate: %d\n%s%s", code, out, errOut)
	}
	msg := func(name string) string { return filepath.Join("..", "..", "receive", "testdata", name) }
	tests := []struct {
		name      string
		args      []string
		code      int
		files     []string
		stderrHas string
	}{
		{"verified", []string{"--extract", "D", msg("good_signed.eml")}, 0, []string{"prescription.pdf"}, ""},
		{"not signed refused", []string{"--extract", "D", msg("not_signed.eml")}, 1, nil, "add --extract-unverified"},
		{"not signed, explicit", []string{"--extract", "D", "--extract-unverified", msg("not_signed.eml")}, 1, []string{"prescription.pdf"}, ""},
		{"unknown signer refused", []string{"--extract", "D", msg("unknown_signer.eml")}, 1, nil, "not verified (unknown-signer)"},
		{"bad signature never", []string{"--extract", "D", "--extract-unverified", msg("bad_signature_body_altered.eml")}, 1, nil, "withheld"},
		{"bad signature note altered never", []string{"--extract", "D", "--extract-unverified", msg("bad_signature_note_altered.eml")}, 1, nil, "withheld"},
		{"cannot decrypt never", []string{"--extract", "D", "--extract-unverified", msg("cannot_decrypt_tampered_ciphertext.eml")}, 1, nil, "withheld"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			args := append([]string{"verify"}, tt.args...)
			for i, a := range args {
				if a == "D" {
					args[i] = dir
				}
			}
			out, errOut, code := ae.run(t, "", args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			if tt.stderrHas != "" && !strings.Contains(errOut, tt.stderrHas) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderrHas, errOut)
			}
			got := listDir(t, dir)
			if strings.Join(got, ",") != strings.Join(tt.files, ",") {
				t.Errorf("extraction folder holds %q, want %q", got, tt.files)
			}
			if len(tt.files) == 0 && strings.Contains(out, "saved to") {
				t.Errorf("claims a saved file:\n%s", out)
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, privtemp.Prefix+"*")); len(left) != 0 {
				t.Errorf("the staging left %q in the temp folder", left)
			}
		})
	}
	if _, _, code := ae.run(t, "", "verify", "--extract-unverified", msg("not_signed.eml")); code != 2 {
		t.Errorf("--extract-unverified without --extract: exit %d, want 2", code)
	}
}

// listDir lists the files and folders below dir, relative to it.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return nil
	})
	return names
}

// TestPrintContent pins the one printer of a message's inside that 'inbox
// show' and 'verify' share: documents numbered as 'inbox open --doc N'
// counts them, the parts left out named (inbox show used to drop them),
// everything made safe, and nothing from a withheld message, in the words
// of the command.
func TestPrintContent(t *testing.T) {
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
			var out bytes.Buffer
			printContent(&out, tt.rep, tt.verb)
			assertShows(t, "printContent", out.String(), tt.want, tt.lack)
		})
	}
}
