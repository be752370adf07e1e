package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

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
