package main

import (
	"bytes"
	"context"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// homeCLI runs securesend with SECURESEND_HOME set to dir.
func homeCLI(t *testing.T, dir, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(k string) string {
		if k == home.EnvVar {
			return dir
		}
		return ""
	}}
	code := run(context.Background(), e, args)
	return code, out.String(), errOut.String()
}

// queueMessage enqueues a message with one document the way 'securesend
// send' does, and returns the job id.
func queueMessage(t *testing.T, dir string, subject string) string {
	t.Helper()
	doc := filepath.Join(t.TempDir(), "script.pdf")
	os.WriteFile(doc, []byte("%PDF-1.7\nprescription body\n%%EOF\n"), 0o600)
	m := &send.Message{
		From:    mail.Address{Address: "clinic@example.org"},
		To:      []mail.Address{{Address: "pharmacy@example.org"}},
		Subject: subject, Note: "Please dispense.",
		Documents: []send.Document{{Path: doc}},
	}
	e := &env{getenv: func(k string) string {
		if k == home.EnvVar {
			return dir
		}
		return ""
	}}
	_, id, err := outboxEnqueue(t.Context(), e, m, "", send.Compose, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestOutboxAuditCLI: queue, list, run against a real TLS server with
// sign-in, show, audit verify and export, a job deferred while the server
// is unreachable, cancel and remove, and a tampered audit log.
func TestOutboxAuditCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: "s3cret pass"}, accounttest.Options{})
	const subject = "Script for Jane Doe NHI ZZZ0016"
	id := queueMessage(t, dir, subject)

	code, out, errOut := homeCLI(t, dir, "", "outbox", "list")
	if code != 0 || !strings.Contains(out, id[:12]) || !strings.Contains(out, "queued") || !strings.Contains(out, "pharmacy@example.org") {
		t.Fatalf("list: %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = homeCLI(t, dir, "s3cret pass\n", "outbox", "run", "--server", srv.Addr, "--ca-file", pki.CAFile, "--user", "clinic", "--password-stdin")
	if code != 0 || !strings.Contains(out, "SENT to pharmacy@example.org") {
		t.Fatalf("run: %d\n%s%s", code, out, errOut)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("server got %d messages", n)
	}
	if strings.Contains(out+errOut, "s3cret") {
		t.Fatal("password in output")
	}
	code, out, _ = homeCLI(t, dir, "", "outbox", "run", "--server", srv.Addr, "--ca-file", pki.CAFile)
	if code != 0 || !strings.Contains(out, "Nothing is due") {
		t.Fatalf("second run: %d %s", code, out)
	}

	code, out, errOut = homeCLI(t, dir, "", "outbox", "show", id[:8])
	// A sent job shows the transmission report 'send' prints.
	for _, want := range []string{"State:         sent", "securesend transmission report", "Status:        SENT: accepted", "Message-ID:    <",
		"Accepted:      pharmacy@example.org  [250", "Certificate:", "Document 1:    script.pdf (application/pdf", "  SHA-256:     "} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("show lacks %q: %d\n%s%s", want, code, out, errOut)
		}
	}

	code, out, errOut = homeCLI(t, dir, "", "audit", "verify")
	if code != 0 || !strings.Contains(out, "Audit log OK: 3 entries") {
		t.Fatalf("audit verify: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = homeCLI(t, dir, "", "audit", "export", "--csv")
	if code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, "send.sent") || !strings.HasPrefix(out, "seq,time,kind,") {
		t.Fatalf("export csv: %d\n%s", code, out)
	}
	if strings.Contains(out, "Jane") || strings.Contains(out, "script.pdf") {
		t.Fatal("audit export holds the subject or a document name")
	}
	code, out, _ = homeCLI(t, dir, "", "audit", "export", "--json", "--since", "2099-01-01")
	if code != 0 || out != "[]\n" {
		t.Fatalf("export json since 2099: %d %q", code, out)
	}

	// No file under the home holds the subject, the note, the document's
	// bytes or its name in clear.
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		for _, s := range []string{"Jane Doe", "Please dispense", "prescription body", "script.pdf"} {
			if bytes.Contains(b, []byte(s)) || strings.Contains(path, s) {
				t.Errorf("%q in clear in %s", s, path)
			}
		}
		return nil
	})

	// Other commands log through auditRecord.
	if err := auditRecord(&env{getenv: func(k string) string {
		if k == home.EnvVar {
			return dir
		}
		return ""
	}}, audit.KeyPin, audit.Fields{"address": "pharmacy@example.org", "fingerprint": "F5031FE5E06F85A7A26DA826CA15238D97486A71"}); err != nil {
		t.Fatal(err)
	}
	code, out, _ = homeCLI(t, dir, "", "audit", "export", "--json")
	if code != 0 || !strings.Contains(out, `"kind": "key.pin"`) && !strings.Contains(out, `"kind":"key.pin"`) {
		t.Fatalf("export json: %d\n%s", code, out)
	}

	// The server is unreachable: deferred, kept, then cancelled and removed.
	id2 := queueMessage(t, dir, "second")
	code, out, _ = homeCLI(t, dir, "", "outbox", "run", "--server", "127.0.0.1:1", "--ca-file", pki.CAFile, "--timeout", "5s")
	if code != 1 || !strings.Contains(out, id2[:12]+"  deferred until") {
		t.Fatalf("run while down: %d\n%s", code, out)
	}
	if code, _, errOut = homeCLI(t, dir, "", "outbox", "remove", id2); code != 1 || !strings.Contains(errOut, "cancel it first") {
		t.Fatalf("remove deferred: %d %s", code, errOut)
	}
	if code, out, _ = homeCLI(t, dir, "", "outbox", "cancel", id2); code != 0 || !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel: %d %s", code, out)
	}
	if code, out, _ = homeCLI(t, dir, "", "outbox", "remove", id2[:10]); code != 0 || !strings.Contains(out, "Removed job") {
		t.Fatalf("remove: %d %s", code, out)
	}
	if _, out, _ = homeCLI(t, dir, "", "outbox", "list"); strings.Contains(out, id2[:12]) || !strings.Contains(out, id[:12]) {
		t.Fatalf("list after remove:\n%s", out)
	}

	// Someone edits the second entry of the audit log.
	logPath := filepath.Join(dir, "audit.log")
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	lines[1] = strings.Replace(lines[1], "pharmacy@example.org", "other@example.org", 1)
	os.WriteFile(logPath, []byte(strings.Join(lines, "")), 0o600)
	code, _, errOut = homeCLI(t, dir, "", "audit", "verify")
	if code != 1 || !strings.Contains(errOut, "broken at entry 2 (line 2)") {
		t.Fatalf("verify after tampering: %d %s", code, errOut)
	}
}

// TestOutboxUnknownJob: a job ID that names no job is one clear error
// line (exit 1) for every command on one job, with "outbox: " once.
func TestOutboxUnknownJob(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	for _, sub := range []string{"show", "retry", "confirm", "cancel", "remove"} {
		code, out, errOut := homeCLI(t, dir, "", "outbox", sub, "abcdef012345")
		if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "securesend: outbox: ") ||
			strings.Contains(errOut, "outbox: outbox:") {
			t.Errorf("outbox %s of an unknown job: exit %d\nstdout %q\nstderr %q", sub, code, out, errOut)
		}
	}
}
