package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/internal/home"
)

// TestSendManifestCLI: 'send --doc-type --nhi --prescriber
// --prescriber-cpn' puts them in the signed manifest, which the pharmacy's
// 'verify' prints as labelled fields; a test NHI (outside demo mode) and a
// document type the manifest cannot carry are refused with a clear error
// before anything is queued or sent.
func TestSendManifestCLI(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: "pw"}, accounttest.Options{})
	clinic, pharmacy := newUser(t, "clinic"), newUser(t, "pharmacy")
	keyPair(t, clinic, pharmacy)
	doc := writeDoc(t)
	server := []string{"--server", srv.Addr, "--ca-file", pki.CAFile, "--user", "clinic", "--password-stdin", "--from", "clinic@example.org", "--to", "pharmacy@example.org"}
	sendAs := func(want int, args ...string) string {
		t.Helper()
		return clinic.must(t, want, "pw\n", append(append(append([]string{"send"}, server...), args...), doc)...)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"test NHI", []string{"--nhi", "ZZZ0016"}, "test NHI"},
		{"bad check digit", []string{"--nhi", "WLD9414"}, "patient NHI is not valid"},
		{"bad document type", []string{"--doc-type", "Prescription!"}, "document type"},
		{"bad CPN", []string{"--prescriber-cpn", "nonsense"}, "CPN is not valid"},
	} {
		out := sendAs(1, tc.args...)
		if !strings.Contains(out, tc.want) {
			t.Errorf("%s: refusal lacks %q:\n%s", tc.name, tc.want, out)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("refused messages reached the server: %d", n)
	}
	if recs := clinic.outboxJobs(t); len(recs) != 0 {
		t.Fatalf("refused messages queued: %+v", recs)
	}

	sendAs(0, "--doc-type", "prescription", "--nhi", "wld 9413", "--prescriber", "Dr A Ngata", "--prescriber-cpn", "91ZZWJ", "--subject", "Prescription")
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages", len(msgs))
	}
	delivered := filepath.Join(t.TempDir(), "delivered.eml")
	os.WriteFile(delivered, msgs[0], 0o600)
	out := pharmacy.must(t, 0, "", "verify", delivered)
	for _, want := range []string{"VERIFIED", "Patient NHI: WLD9413\n", "Document type: prescription\n", "Prescriber:  Dr A Ngata (HPI CPN 91ZZWJ)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify lacks %q:\n%s", want, out)
		}
	}
}

// TestInboxManifestCLI: 'inbox list' shows the document type and patient
// NHI of a message whose signed manifest checked out, and '-' for one
// without a manifest; 'inbox show' prints them as labelled fields only
// for the first.
func TestInboxManifestCLI(t *testing.T) {
	requireKeychain(t)
	const user, pw = "bob@pharmacy.test", "imap-pass-for-manifest"
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartIMAP(t, pki, accounttest.Credentials{User: user, Password: pw}, accounttest.Options{StartTLS: true})
	ae := newAcctEnv(t)
	inboxKeys(t, home.Home{Dir: ae.vars[home.EnvVar]})
	step := func(args ...string) string {
		t.Helper()
		out, errOut, code := ae.run(t, "", args...)
		if code != 0 {
			t.Fatalf("securesend %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
		}
		return out
	}
	if _, _, code := ae.run(t, pw+"\n", "account", "add", "--name", "pharmacy", "--email", user,
		"--smtp", "127.0.0.1:1", "--imap", srv.Addr, "--imap-security", "starttls", "--ca-file", pki.CAFile, "--password-stdin"); code != 0 {
		t.Fatal("account add failed")
	}
	srv.Deliver(t, fixture(t, "good_encrypted_manifest.eml"))
	srv.Deliver(t, fixture(t, "good_signed.eml"))
	step("inbox", "fetch")

	lines := strings.Split(step("inbox", "list"), "\n")
	if len(lines) < 3 || !strings.Contains(lines[0], "DOCUMENT TYPE") || !strings.Contains(lines[0], "PATIENT NHI") {
		t.Fatalf("list:\n%s", strings.Join(lines, "\n"))
	}
	if f := strings.Fields(lines[1]); !strings.Contains(lines[1], "prescription") || !strings.Contains(lines[1], "ZZZ0016") {
		t.Errorf("list row of the manifest message: %q", f)
	}
	if strings.Contains(lines[2], "ZZZ0016") || !strings.Contains(lines[2], " - ") {
		t.Errorf("list row of the message without a manifest: %q", lines[2])
	}
	out := step("inbox", "show", "1")
	for _, want := range []string{"Patient NHI: ZZZ0016\n", "Document type: prescription\n", "Prescriber:  Dr Alice Test (HPI CPN 91ZZWJ)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("show 1 lacks %q:\n%s", want, out)
		}
	}
	if out := step("inbox", "show", "2"); strings.Contains(out, "Patient NHI") {
		t.Errorf("show 2 (no manifest) shows an NHI:\n%s", out)
	}
}
