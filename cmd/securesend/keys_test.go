package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/internal/home"
)

// openPTY returns a real pseudo-terminal: the command reads its answers
// from the terminal side (a character device, as when a user types),
// the test types them on the controller side.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	c, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(c.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(c.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	term, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close(); c.Close() })
	return c, term
}

// keysEnv runs CLI commands in one securesend home.
type keysEnv struct{ vars map[string]string }

func (k *keysEnv) run(t *testing.T, stdin *os.File, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: stdin, stdout: &out, stderr: &errb, getenv: func(v string) string { return k.vars[v] }}
	if stdin == nil {
		e.stdin = strings.NewReader("")
	}
	code = run(context.Background(), e, args)
	return out.String(), errb.String(), code
}

// twoAddressKey writes a TEST ONLY key of mallory@evil.test that also
// claims "Dr Alice <alice@clinic.test>" and returns its file and key.
func twoAddressKey(t *testing.T) (string, *pgp.PublicKey) {
	t.Helper()
	k := pgptest.Key(t, "Mallory", "mallory@evil.test")
	if err := k.Entity().AddUserId("Dr Alice", "", "alice@clinic.test", pgp.Config(nil)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mallory.asc")
	if err := os.WriteFile(path, pgptest.Armored(t, k.Public()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, k.Public()
}

// TestKeysPinAsksPerAddress: on a terminal, --pin of a key with two
// addresses and no --email asks about each (y/N) and binds only those
// confirmed; answering no to all, or not answering, pins nothing. The same
// for 'keys pin FPR'.
func TestKeysPinAsksPerAddress(t *testing.T) {
	file, pub := twoAddressKey(t)
	fpr := string(pub.Fingerprint())
	tests := []struct {
		name      string
		args      []string
		preImport bool
		answers   string // typed on the terminal; "" closes it unanswered
		wantCode  int
		wantBound []string
		wantErr   string
	}{
		{"import: yes to mallory only", []string{"keys", "import", "--pin", file}, false, "n\ny\n", 0, []string{"mallory@evil.test"}, ""},
		{"import: yes to both", []string{"keys", "import", "--pin", file}, false, "y\nyes\n", 0, []string{"alice@clinic.test", "mallory@evil.test"}, ""},
		{"import: no to both", []string{"keys", "import", "--pin", file}, false, "\nN\n", 1, nil, "no address confirmed; nothing pinned"},
		{"import: no answer", []string{"keys", "import", "--pin", file}, false, "", 1, nil, "no answer; nothing pinned"},
		{"pin: yes to mallory only", []string{"keys", "pin", fpr}, true, "no\ny\n", 0, []string{"mallory@evil.test"}, ""},
		{"pin: no to both", []string{"keys", "pin", fpr}, true, "n\nn\n", 1, nil, "nothing pinned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ke := &keysEnv{vars: map[string]string{home.EnvVar: t.TempDir()}}
			if tt.preImport {
				if out, errOut, code := ke.run(t, nil, "keys", "import", file); code != 0 {
					t.Fatalf("import: %d %s %s", code, out, errOut)
				}
			}
			ctl, term := openPTY(t)
			if tt.answers != "" {
				if _, err := ctl.WriteString(tt.answers); err != nil {
					t.Fatal(err)
				}
			} else {
				ctl.Close()
			}
			out, errOut, code := ke.run(t, term, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			for _, want := range []string{"claims 2 addresses", "Pin it for Dr Alice <alice@clinic.test>? [y/N]", "Pin it for Mallory <mallory@evil.test>? [y/N]"} {
				if !strings.Contains(errOut, want) && tt.answers != "" {
					t.Errorf("prompt lacks %q:\n%s", want, errOut)
				}
			}
			if tt.wantErr != "" && !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.wantErr)
			}
			d, err := openDesk(&env{getenv: func(v string) string { return ke.vars[v] }})
			if err != nil {
				t.Fatal(err)
			}
			s, err := d.ManageKeys()
			if err != nil {
				t.Fatal(err)
			}
			e, err := s.Entry(pub.Fingerprint())
			switch {
			case tt.wantBound == nil && err == nil && e.Trust == pgp.Pinned:
				t.Errorf("pinned although nothing was confirmed: %+v", e)
			case tt.wantBound == nil:
			case err != nil:
				t.Fatal(err)
			case e.Trust != pgp.Pinned || !slices.Equal(e.Emails, tt.wantBound):
				t.Errorf("entry %+v, want pinned for %v", e, tt.wantBound)
			}
		})
	}
}

// TestKeysExportLikeGPG: 'keys export ADDRESS' works as 'gpg --export
// ADDRESS' does: a key made by gpg and pinned for its address comes out,
// named by the address in any case or in angle brackets, as the same key
// (gpg imports it with its fingerprint and user ID); an address no key is
// bound to prints nothing and fails, as gpg exports nothing.
func TestKeysExportLikeGPG(t *testing.T) {
	g := pgptest.New(t)
	const addr = "pharmacy@example.org"
	fpr := g.GenerateKey("Harbour Pharmacy <"+addr+">", "")
	file := filepath.Join(t.TempDir(), "pharmacy.asc")
	if err := os.WriteFile(file, g.Run(nil, "--armor", "--export", addr), 0o600); err != nil {
		t.Fatal(err)
	}
	ke := &keysEnv{vars: map[string]string{home.EnvVar: t.TempDir()}}
	if out, errOut, code := ke.run(t, nil, "keys", "import", "--pin", "--email", addr, file); code != 0 {
		t.Fatalf("import: %d %s %s", code, out, errOut)
	}
	for _, sel := range []string{addr, "Pharmacy@Example.ORG", "<" + addr + ">", string(fpr), fpr.Grouped()} {
		t.Run(sel, func(t *testing.T) {
			out, errOut, code := ke.run(t, nil, append([]string{"keys", "export"}, strings.Fields(sel)...)...)
			if code != 0 || !strings.HasPrefix(out, "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
				t.Fatalf("keys export %s: exit %d\n%s\n%s", sel, code, out, errOut)
			}
			fresh := pgptest.New(t)
			fresh.Import([]byte(out))
			if got := fresh.Fingerprint(addr); got != fpr {
				t.Errorf("gpg imported %s, want %s", got, fpr)
			}
			if list := string(fresh.Run(nil, "--with-colons", "--list-keys", addr)); !strings.Contains(list, "Harbour Pharmacy <"+addr+">") || !strings.Contains(list, "\nsub:") {
				t.Errorf("gpg's view of the export lacks the user ID or the encryption subkey:\n%s", list)
			}
		})
	}
	out, errOut, code := ke.run(t, nil, "keys", "export", "nobody@example.org")
	if code == 0 || out != "" || !strings.Contains(errOut, "no key is bound to nobody@example.org") {
		t.Errorf("export of an unknown address: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
