package main

import (
	"strings"
	"testing"
)

// TestAdminPolicyCheck: 'admin policy check' dry-runs the policy through
// desk.CheckPolicy: allowed with the encryption and connection it needs,
// or refused with the policy's reasons, one a line.
func TestAdminPolicyCheck(t *testing.T) {
	requireKeychain(t)
	u := newUser(t, "admin")
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"allowed", []string{"--to", "pharmacy@example.org"}, 0, "Allowed by policy; must be encrypted: no; connection: TLS 1.2 or later, REQUIRETLS required: false", ""},
		{"tightened", []string{"--to", "pharmacy@example.org", "--min-tls", "1.3", "--require-requiretls"}, 0, "connection: TLS 1.3 or later, REQUIRETLS required: true", ""},
		{"domain refused", []string{"--to", "pharmacy@example.org", "--allow-domain", "example.net"}, 1, "", "securesend: refused by policy:\n  "},
		{"encryption without a key", []string{"--to", "pharmacy@example.org", "--encryption", "always"}, 1, "", "pharmacy@example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := u.run(t, "", append([]string{"admin", "policy", "check", "--from", "clinic@example.org"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.err) {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
}
