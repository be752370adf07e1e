package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/receive"
)

// fakeOpener puts an xdg-open on PATH that records the path it was given
// in log and exits with status code.
func fakeOpener(t *testing.T, log string, code int) {
	t.Helper()
	bin := t.TempDir()
	script := "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '" + log + "'\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(filepath.Join(bin, "xdg-open"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
}

// TestInboxShowAndOpenFollowVerdict fetches a verified, an unknown-signer,
// a bad-signature and a hostile not-signed message and checks that show
// and open follow the verdict (issue 12 points 1, 5, 8 and "Extraction and
// opening follow the verdict"; issue 13 point 8).
func TestInboxShowAndOpenFollowVerdict(t *testing.T) {
	requireKeychain(t)
	const user, pw = "bob@pharmacy.test", "imap-pass-for-open"
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartIMAP(t, pki, accounttest.Credentials{User: user, Password: pw}, accounttest.Options{StartTLS: true})
	ae := newAcctEnv(t)
	h := home.Home{Dir: ae.vars[home.EnvVar]}
	inboxKeys(t, h)
	if _, errOut, code := ae.run(t, pw+"\n", "account", "add", "--name", "pharmacy", "--email", user,
		"--smtp", "127.0.0.1:1", "--imap", srv.Addr, "--imap-security", "starttls", "--ca-file", pki.CAFile, "--password-stdin"); code != 0 {
		t.Fatalf("account add: %s", errOut)
	}
	srv.Deliver(t, fixture(t, "good_encrypted.eml"))
	srv.Deliver(t, fixture(t, "unknown_signer.eml"))
	srv.Deliver(t, fixture(t, "bad_signature_body_altered.eml"))
	hostile, err := os.ReadFile(filepath.Join("testdata", "messages", "hostile_not_signed.eml"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Deliver(t, hostile)
	if out, errOut, code := ae.run(t, "", "inbox", "fetch"); code != 0 || !strings.Contains(out, "4 new") {
		t.Fatalf("fetch: %d\n%s%s", code, out, errOut)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	step := func(wantCode int, args ...string) (stdout, stderr string) {
		t.Helper()
		out, errOut, code := ae.run(t, "", args...)
		if code != wantCode {
			t.Fatalf("securesend %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out, errOut)
		}
		assertTerminalSafe(t, strings.Join(args, " "), out+errOut)
		return out, errOut
	}

	// list and show: nothing raw reaches the terminal; unsigned fields
	// are labelled.
	step(0, "inbox", "list")
	step(0, "inbox", "list", "--json")
	step(0, "inbox", "show", "--json", "4")
	out, _ := step(0, "inbox", "show", "4")
	if !strings.Contains(out, `Subject:     Dispense 90\x1b[2K`) || !strings.Contains(out, "(not protected by the signature)") {
		t.Errorf("show 4:\n%s", out)
	}

	// A bad signature: nothing from inside is shown, opened or saved.
	out, _ = step(0, "inbox", "show", "3")
	for _, leak := range []string{"Please dispense", "prescription.pdf", "Prescription for"} {
		if strings.Contains(out, leak) {
			t.Errorf("show 3 (bad signature) shows %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "withheld") {
		t.Errorf("show 3 does not say the content is withheld:\n%s", out)
	}
	var shown struct {
		Report receive.Report `json:"report"`
	}
	out, _ = step(0, "inbox", "show", "--json", "3")
	if err := json.Unmarshal([]byte(out), &shown); err != nil || shown.Report.Note != "" || len(shown.Report.Documents) != 0 {
		t.Errorf("show --json 3 carries content: %v %+v", err, shown.Report)
	}
	dir := t.TempDir()
	_, errOut := step(1, "inbox", "open", "3", "--out", dir, "--yes-unverified")
	if !strings.Contains(errOut, "withheld") {
		t.Errorf("open 3: %s", errOut)
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("open of a bad-signature item wrote %q", got)
	}

	// Not verified: refused without a confirmation (stdin is no
	// terminal), written with --yes-unverified.
	_, errOut = step(1, "inbox", "open", "2", "--out", dir)
	if !strings.Contains(errOut, "--yes-unverified") || !strings.Contains(errOut, "SIGNED BY AN UNKNOWN KEY") {
		t.Errorf("open 2 without confirmation: %s", errOut)
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("an unconfirmed open wrote %q", got)
	}
	step(0, "inbox", "open", "2", "--out", dir, "--yes-unverified")
	if got := listDir(t, dir); strings.Join(got, ",") != "prescription.pdf" {
		t.Errorf("confirmed open wrote %q", got)
	}

	// run.exe is never launched, only saved with a warning.
	log := filepath.Join(t.TempDir(), "opened")
	fakeOpener(t, log, 0)
	_, errOut = step(1, "inbox", "open", "4", "--doc", "2", "--yes-unverified")
	if !strings.Contains(errOut, "run.exe is not a PDF, TIFF, JPEG or PNG") {
		t.Errorf("open run.exe: %s", errOut)
	}
	if _, err := os.Stat(log); err == nil {
		t.Error("run.exe was handed to the system opener")
	}
	_, errOut = step(0, "inbox", "open", "4", "--doc", "2", "--yes-unverified", "--out", dir)
	if !strings.Contains(errOut, "warning: run.exe") {
		t.Errorf("save run.exe without a warning: %s", errOut)
	}

	// Verified: opened from a private 0700 folder; a leftover of an
	// ended process older than an hour is removed at this start.
	old := filepath.Join(tmp, privtemp.Prefix+"leftover")
	if err := os.MkdirAll(filepath.Join(old, "doc-1"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(old, "doc-1", "rx.pdf"), []byte("old patient data"), 0o600)
	aged := time.Now().Add(-2 * time.Hour)
	os.Chtimes(old, aged, aged)
	out, _ = step(0, "inbox", "open", "1")
	opened, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("the opener was not run: %v", err)
	}
	path := strings.TrimSpace(string(opened))
	if strings.TrimSpace(out) != path || filepath.Base(path) != "prescription.pdf" ||
		!strings.HasPrefix(path, filepath.Join(tmp, privtemp.Prefix)) {
		t.Errorf("opened %q (printed %q), want a file in %s", path, out, tmp)
	}
	for _, p := range []string{filepath.Dir(path), filepath.Dir(filepath.Dir(path))} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want a 0700 folder", p, fi.Mode(), err)
		}
	}
	if _, err := os.Stat(old); err == nil {
		t.Error("the old leftover folder was not removed")
	}

	// No viewer for the type: a plain message, and the copy is removed.
	os.Remove(log)
	fakeOpener(t, log, 3)
	_, errOut = step(1, "inbox", "open", "1")
	if !strings.Contains(errOut, "No PDF viewer found") || !strings.Contains(errOut, "--out DIR") {
		t.Errorf("no viewer: %s", errOut)
	}
	opened, _ = os.ReadFile(log)
	if p := strings.TrimSpace(string(opened)); p == "" {
		t.Error("opener not tried")
	} else if _, err := os.Stat(p); err == nil {
		t.Errorf("the decrypted copy %s stays after the viewer failed", p)
	}
	t.Setenv("PATH", t.TempDir()) // no opener at all
	_, errOut = step(1, "inbox", "open", "1")
	if !strings.Contains(errOut, "No PDF viewer found") {
		t.Errorf("no opener: %s", errOut)
	}
}
