package main

import (
	"strings"
	"testing"

	"github.com/securesend/securesend/account/accounttest"
)

// TestAccountAddTemplate: 'account add --template NAME' adds the account
// on the organisation's template as the Settings tab does
// (desk.AccountManager.AddFromTemplate): the template's server and its
// CA, so that the account works under a profile that locks accounts;
// servers or sign-in given beside the template, an unknown template (the
// error lists the profile's) and a missing password are refused, and
// nothing is added for them.
func TestAccountAddTemplate(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic@example.org", Password: "pw"}, accounttest.Options{})
	clinic, pharmacy := newUser(t, "clinic"), newUser(t, "pharmacy")
	installLockedProfile(t, clinic, keyPair(t, clinic, pharmacy), pki, srv.Addr)
	add := []string{"account", "add", "--name", "clinic", "--email", "clinic@example.org", "--no-prompt"}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"a server beside the template", "pw\n", []string{"--template", "Practice server 1", "--smtp", "mail.evil.test:465", "--password-stdin"}, "--smtp does not go with --template"},
		{"unknown template", "pw\n", []string{"--template", "Other", "--password-stdin"}, `no such account template in your organisation's profile (it has "Practice server 1")`},
		{"no password", "", []string{"--template", "Practice server 1"}, "a password account needs its password: pipe it with --password-stdin"},
	} {
		code, out, errOut := clinic.run(t, tc.stdin, append(add, tc.args...)...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, want 1 and %q\n%s%s", tc.name, code, tc.want, out, errOut)
		}
	}
	if out := clinic.must(t, 0, "", "account", "list"); !strings.Contains(out, "No accounts") {
		t.Fatalf("something was added:\n%s", out)
	}
	out := clinic.must(t, 0, "pw\n", append(add, "--template", "practice SERVER 1", "--password-stdin")...)
	if !strings.Contains(out, "Added account clinic (clinic@example.org)") {
		t.Errorf("add:\n%s", out)
	}
	// The template's CA is trusted: the test signs in over TLS to the
	// server whose certificate only that CA vouches for.
	if out := clinic.must(t, 0, "", "account", "test", "clinic"); !strings.Contains(out, "Signed in:  yes") {
		t.Errorf("account test:\n%s", out)
	}
}
