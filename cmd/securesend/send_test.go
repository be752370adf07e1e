package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
)

// runCLI runs securesend with args and stdin, returning the exit code and
// output.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	dir := t.TempDir()
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(k string) string {
		switch k {
		case home.EnvVar:
			return filepath.Join(dir, "home")
		case profile.SystemDirEnv:
			return filepath.Join(dir, "no-system-profile")
		}
		return ""
	}}
	code := run(context.Background(), e, args)
	return code, out.String(), errOut.String()
}

// TestSendCLI sends a PDF and a TIFF the way the Postfix end-to-end test
// does, against an in-process STARTTLS server with sign-in and REQUIRETLS.
func TestSendCLI(t *testing.T) {
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: "s3cret pass"},
		accounttest.Options{StartTLS: true, RequireTLS: true})
	dir := t.TempDir()
	pdf := filepath.Join(dir, "referral.pdf")
	tiff := filepath.Join(dir, "scan.tiff")
	os.WriteFile(pdf, []byte("%PDF-1.7\nreferral body\n%%EOF\n"), 0o600)
	os.WriteFile(tiff, append([]byte("II*\x00"), bytes.Repeat([]byte{0, 1, 2, 255}, 5000)...), 0o600)
	receipt := filepath.Join(dir, "receipt.json")

	code, stdout, stderr := runCLI(t, "s3cret pass\n", "send",
		"--server", srv.Addr, "--security", "starttls", "--ca-file", pki.CAFile,
		"--user", "clinic", "--password-stdin",
		"--from", "Clinic <clinic@example.org>", "--to", "ward3@example.org", "--to", "Triage <triage@example.org>",
		"--subject", "Referral NHI ABC1234", "--note", "Please see attached.", "--receipt", receipt,
		pdf, tiff)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"SENT: accepted by the server for every recipient", "Accepted:", "ward3@example.org", "triage@example.org",
		"Encryption:    TLS 1.3", "REQUIRETLS:    yes", "Signed in:     yes (PLAIN)", "referral.pdf (application/pdf", "scan.tiff (image/tiff, 20,004 bytes)", "SHA-256"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if stderr != "" || strings.Contains(stdout, "s3cret") {
		t.Errorf("unexpected stderr or secret in output: %q", stderr)
	}

	var res send.Result
	data, err := os.ReadFile(receipt)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Accepted) != 2 || !res.RequireTLS || len(res.Documents) != 2 || res.TLS.CertSHA256 == "" || res.MessageID == "" {
		t.Errorf("receipt incomplete: %s", data)
	}
	if bytes.Contains(data, []byte("s3cret")) {
		t.Error("the password is in the receipt")
	}

	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("server got %d messages", len(msgs))
	}
	mr, err := mail.CreateReader(bytes.NewReader(msgs[0]))
	if err != nil {
		t.Fatal(err)
	}
	mr.NextPart()
	for _, path := range []string{pdf, tiff} {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(p.Body)
		want, _ := os.ReadFile(path)
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs on arrival", path)
		}
	}
}

// TestSendCLIFailures checks exit codes and plain-language errors for
// failures that need a server.
func TestSendCLIFailures(t *testing.T) {
	pki := accounttest.NewPKI(t)
	creds := accounttest.Credentials{User: "clinic", Password: "s3cret pass"}
	dir := t.TempDir()
	pdf := filepath.Join(dir, "referral.pdf")
	os.WriteFile(pdf, []byte("%PDF-1.7\n"), 0o600)
	base := []string{"send", "--from", "clinic@example.org", "--to", "ward3@example.org", "--user", "clinic", "--password-stdin"}

	tests := []struct {
		name     string
		opts     accounttest.Options
		args     []string
		password string
		want     string
		kind     string
	}{
		{"plaintext server", accounttest.Options{NoTLS: true}, []string{"--security", "starttls", "--ca-file", pki.CAFile}, "s3cret pass",
			"did not offer encryption (STARTTLS), so nothing was sent", "no_tls"},
		{"untrusted certificate", accounttest.Options{}, nil, "s3cret pass",
			"certificate could not be verified, so nothing was sent", "certificate"},
		{"wrong password", accounttest.Options{}, []string{"--ca-file", pki.CAFile}, "wrong pass",
			"the mail server rejected the sign-in (server said: 535", "auth"},
		{"REQUIRETLS missing", accounttest.Options{}, []string{"--ca-file", pki.CAFile, "--require-tls"}, "s3cret pass",
			"does not support REQUIRETLS", "requiretls"},
		{"TLS 1.3 required", accounttest.Options{MaxTLSVersion: 0x0303}, []string{"--ca-file", pki.CAFile, "--min-tls", "1.3"}, "s3cret pass",
			"outdated TLS version", "tls_version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := accounttest.StartSMTP(t, pki, creds, tt.opts)
			args := append(append(append([]string{}, base...), "--server", srv.Addr), tt.args...)
			code, stdout, stderr := runCLI(t, tt.password+"\n", append(args, pdf)...)
			if code != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr, tt.want)
			}
			if strings.Contains(stdout+stderr, tt.password) {
				t.Error("the password is in the output")
			}
			if len(srv.Messages()) != 0 {
				t.Error("a message was delivered")
			}
			code, stdout, _ = runCLI(t, tt.password+"\n", append(append(args, "--json"), pdf)...)
			var out struct {
				Error struct{ Kind string } `json:"error"`
			}
			if code != 1 || json.Unmarshal([]byte(stdout), &out) != nil || out.Error.Kind != tt.kind {
				t.Errorf("--json: exit %d, %s; want kind %q", code, stdout, tt.kind)
			}
		})
	}
}

// TestSubcommandHelpSucceeds: --help on a subcommand prints its flags and
// exits 0, as the commands do ('inbox list --help' used to exit 2), and
// shows the connection flags send, outbox run and hotfolder share.
func TestSubcommandHelpSucceeds(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"inbox", "list", "--help"}, "-json"},
		{[]string{"inbox", "show", "--help"}, "-json"},
		{[]string{"inbox", "open", "--help"}, "-doc"},
		{[]string{"inbox", "watch", "settle", "--help"}, "-printed"},
		{[]string{"account", "list", "--help"}, "-json"},
		{[]string{"audit", "export", "--help"}, "-since"},
		{[]string{"outbox", "run", "--help"}, "-server host:port"},
		{[]string{"hotfolder", "--help"}, "-server host:port"},
		{[]string{"hotfolder", "--help"}, "-account name"},
	} {
		code, out, errOut := runCLI(t, "", c.args...)
		if code != 0 || !strings.Contains(out+errOut, c.want) {
			t.Errorf("%s: exit %d, want 0 and %q:\n%s%s", strings.Join(c.args, " "), code, c.want, out, errOut)
		}
	}
}

// TestReadLine: the one reader of a secret line on standard input takes
// the first line without its ending, and refuses one that is too long
// instead of cutting it short.
func TestReadLine(t *testing.T) {
	long := strings.Repeat("a", maxLine)
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"s3cret pass\nnext\n", "s3cret pass", true},
		{"s3cret\r\n", "s3cret", true},
		{"no newline", "no newline", true},
		{"", "", true},
		{long + "\n", long, true},
		{long + "\r\n", long, true},
		{long + "b\n", "", false},
		{long + "bc", "", false},
	} {
		got, err := readLine(strings.NewReader(c.in))
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("readLine(%.20q...) = %.20q, %v; want %.20q, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
	if _, err := readLine(nil); err == nil {
		t.Error("readLine(nil): no error")
	}
}
