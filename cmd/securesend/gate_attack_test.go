package main

import (
	"net"
	"strings"
	"testing"

	"github.com/securesend/securesend/account/accounttest"
)

// TestAttackServerLookalike: under locked accounts, 'send --server' and
// 'outbox run --server' with a host that only Unicode case folding takes
// for the template's (LONG S for "s", KELVIN SIGN for "k") are refused
// before the password is read; strings.EqualFold let them through, and a
// resolver that applies IDNA would have connected to a punycode domain.
func TestAttackServerLookalike(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	allowed := accounttest.StartSMTP(t, pki, accounttest.Credentials{User: "clinic", Password: "pw"}, accounttest.Options{})
	_, port, _ := net.SplitHostPort(allowed.Addr)
	clinic, pharmacy := newUser(t, "clinic"), newUser(t, "pharmacy")
	installLockedProfile(t, clinic, keyPair(t, clinic, pharmacy), pki, "localhost:"+port)
	doc := writeDoc(t)
	for _, host := range []string{"locaLHOST", "localho\u017Ft", "LOCALHO\u017Ft"} {
		server := net.JoinHostPort(host, port)
		for _, args := range [][]string{
			{"send", "--server", server, "--user", "clinic", "--password-stdin", "--from", "clinic@example.org", "--to", "pharmacy@example.org", doc},
			{"outbox", "run", "--server", server, "--user", "clinic", "--password-stdin"},
		} {
			code, out, read := runWatched(clinic, "pw\n", args...)
			if host == "locaLHOST" {
				if read == false || strings.Contains(out, "locks the mail accounts") {
					t.Errorf("%s %q (ASCII case only): refused or password not read (exit %d):\n%s", args[0], server, code, out)
				}
				continue
			}
			if code != 1 || !strings.Contains(out, "locks the mail accounts") || read {
				t.Errorf("%s %q: exit %d, password read %v, want refused before the password:\n%s", args[0], server, code, read, out)
			}
		}
	}
	if n := len(allowed.Messages()); n != 1 {
		t.Errorf("the template's server got %d messages, want 1 (the ASCII-case send)", n)
	}
}
