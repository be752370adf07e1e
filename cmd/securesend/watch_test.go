package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/deliverjournal"
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
	// --drop-group-read reaches the watch: a second folder gets the same
	// document readable by its group; --retry-failed is taken.
	if runtime.GOOS != "windows" {
		groupDrop := t.TempDir()
		run(0, "inbox", "watch", "--once", "--include-existing", "--retry-failed", "--drop-group-read", "--drop", groupDrop)
		es, _ := os.ReadDir(groupDrop)
		dropped := 0
		for _, e := range es {
			if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
				dropped++
				if fi.Mode().Perm() != 0o640 {
					t.Errorf("%s dropped with --drop-group-read: mode %v, want 0640", e.Name(), fi.Mode().Perm())
				}
			}
		}
		if dropped != 2 {
			t.Errorf("--drop-group-read folder has %d files, want the document and its sidecar", dropped)
		}
	}
	srv.Deliver(t, fixture(t, "unknown_signer.eml"))
	out = run(0, "inbox", "watch", "--once", "--json", "--drop", drop)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var last map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last["event"] != "not-delivered" {
		t.Errorf("--json: %v\n%s", err, out)
	}
}

// TestInboxWatchSettleCLI: 'inbox watch settle' lists what is possibly
// printed on a printer, refuses unclear requests with what to do, records
// a decision once (audited) and refuses a second one.
func TestInboxWatchSettleCLI(t *testing.T) {
	requireKeychain(t)
	ae := newAcctEnv(t)
	h := home.Home{Dir: ae.vars[home.EnvVar]}
	dir, err := h.Sub("watch")
	if err != nil {
		t.Fatal(err)
	}
	// What a watch killed after lp and before recording it leaves (the
	// journal the watch keeps for the queue "frontdesk").
	sum := sha256.Sum256([]byte("frontdesk"))
	j, err := deliverjournal.Open(filepath.Join(dir, "print-"+hex.EncodeToString(sum[:8])+".journal"), keychain.New(h.KeychainService()))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Repeat("ab", 32)
	if err := j.Record(deliverjournal.Entry{Key: strings.Repeat("C", 40) + "/" + doc, State: deliverjournal.Intent, Item: "7", Doc: 0, Time: time.Now(), Detail: "frontdesk"}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	for _, tc := range []struct {
		code int
		args []string
		want string
	}{
		{1, []string{"--print", "frontdesk", "7"}, "say what happened: --printed (it came out) or --reprint (it did not)"},
		{1, []string{"--print", "frontdesk", "7", "--printed", "--reprint"}, "say what happened"},
		{1, []string{"7", "--printed"}, "give --print PRINTER"},
		{1, []string{"--print", "frontdesk", "--printed"}, "give the message's ID"},
		{1, []string{"--print", "-oraw", "7", "--printed"}, "not a printer"},
		{1, []string{"--print", "frontdesk", "8", "--printed"}, "item #8 is not a possibly printed document of that printer frontdesk"},
		{0, []string{"--print", "other"}, "Nothing is possibly printed on other."},
		{0, []string{"--print", "frontdesk"}, "7   1         "},
		{0, []string{"--print", "frontdesk", "7", "--doc", "1", "--printed"}, "#7 document 1: recorded as printed; it is not printed again."},
		{1, []string{"--print", "frontdesk", "7", "--reprint"}, "item #7 is not a possibly printed document"},
		{0, []string{"--print", "frontdesk"}, "Nothing is possibly printed on frontdesk."},
	} {
		out, errOut, code := ae.run(t, "", append([]string{"inbox", "watch", "settle"}, tc.args...)...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("settle %v: exit %d\n%s%s\nwant exit %d and %q", tc.args, code, out, errOut, tc.code, tc.want)
		}
	}
	out, _, _ := ae.run(t, "", "audit", "export", "--json")
	if strings.Count(out, `"watch.settled"`) != 1 || !strings.Contains(out, doc) {
		t.Errorf("audit log:\n%s", out)
	}
}
