package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/internal/home"
)

// TestInboxWatchCLI: flag mistakes are refused with what to do; --once
// drops the verified document only and says why the others were not;
// --json prints one event per line.
func TestInboxWatchCLI(t *testing.T) {
	requireKeychain(t)
	const user, pw = "bob@pharmacy.test", "imap-pass-for-watch-cli"
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartIMAP(t, pki, accounttest.Credentials{User: user, Password: pw}, accounttest.Options{StartTLS: true})
	ae := newAcctEnv(t)
	inboxKeys(t, home.Home{Dir: ae.vars[home.EnvVar]})
	run := func(wantCode int, args ...string) string {
		t.Helper()
		out, errOut, code := ae.run(t, "", args...)
		if code != wantCode {
			t.Fatalf("securesend %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out, errOut)
		}
		return out + errOut
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"inbox", "watch", "--once"}, "give --drop DIR, --print PRINTER or both"},
		{[]string{"inbox", "watch", "--once", "--print", "-oraw"}, "not a printer"},
		{[]string{"inbox", "watch", "--once", "--drop", t.TempDir(), "extra"}, "unexpected argument"},
		{[]string{"inbox", "watch", "--once", "--drop", t.TempDir()}, "no account with an IMAP server"},
	} {
		if out := run(1, tc.args...); !strings.Contains(out, tc.want) {
			t.Errorf("%v: %s, want %q", tc.args, out, tc.want)
		}
	}
	if _, _, code := ae.run(t, pw+"\n", "account", "add", "--name", "pharmacy", "--email", user,
		"--smtp", "127.0.0.1:1", "--imap", srv.Addr, "--imap-security", "starttls", "--ca-file", pki.CAFile, "--password-stdin"); code != 0 {
		t.Fatal("account add failed")
	}
	srv.Deliver(t, fixture(t, "good_encrypted.eml"))
	srv.Deliver(t, fixture(t, "bad_signature_body_altered.eml"))
	drop := t.TempDir()
	out := run(0, "inbox", "watch", "--once", "--drop", drop)
	if !strings.Contains(out, "#1 document 1 (prescription.pdf) DROPPED as") || !strings.Contains(out, "#2 NOT VERIFIED (bad-signature)") {
		t.Errorf("watch --once:\n%s", out)
	}
	if es, _ := os.ReadDir(drop); len(es) != 2 {
		t.Errorf("drop folder has %d entries, want the document and its sidecar", len(es))
	}
	srv.Deliver(t, fixture(t, "unknown_signer.eml"))
	out = run(0, "inbox", "watch", "--once", "--json", "--drop", drop)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last["event"] != "not-delivered" {
		t.Errorf("--json: %v\n%s", err, out)
	}
}
