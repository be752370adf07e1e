package main

import (
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/account/accounttest"
)

// TestAccountTestProviderRefusalCLI: 'securesend account test' against a
// server that refuses the password with Microsoft 365's reply prints the
// same advice as 'securesend send' and the reply with its enhanced status
// code, and exits 1.
func TestAccountTestProviderRefusalCLI(t *testing.T) {
	requireKeychain(t)
	const user, pw = "clinic@example.org", "account pass"
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: user, Password: pw}, accounttest.Options{
		AuthReply: &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 139}, Message: "Authentication unsuccessful, basic authentication is disabled."},
	})
	ae := newAcctEnv(t)
	if out, errOut, code := ae.run(t, pw+"\n", "account", "add", "--name", "m365", "--email", user,
		"--smtp", srv.Addr, "--smtp-security", "tls", "--ca-file", pki.CAFile, "--auth", "password", "--password-stdin"); code != 0 {
		t.Fatalf("account add: exit %d\n%s%s", code, out, errOut)
	}
	stdout, stderr, code := ae.run(t, "", "account", "test", "m365")
	const advice = "Microsoft 365 no longer accepts passwords for sending: sign in with `securesend account add --auth microsoft`"
	const said = "(server said: 535 5.7.139 Authentication unsuccessful, basic authentication is disabled.)"
	if code != 1 || !strings.Contains(stdout, "FAILED:     ") || !strings.Contains(stdout, advice) || !strings.Contains(stderr, advice+" "+said) {
		t.Fatalf("exit %d, want 1, the advice and the reply\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, pw) {
		t.Error("the password is in the output")
	}
}
