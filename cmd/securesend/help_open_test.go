package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/profile"
)

// TestCommandHelpNeedsNoProfile: "securesend COMMAND --help" alone prints
// the command's help even where no organisation profile can be loaded (so
// it reads no keychain): the installer build makes the manual page from
// it. Anything more than the help flag still needs the profile.
func TestCommandHelpNeedsNoProfile(t *testing.T) {
	key, err := os.ReadFile("../../profile/testdata/admin_TEST_ONLY.asc")
	if err != nil {
		t.Fatal(err)
	}
	fpr, err := os.ReadFile("../../profile/testdata/admin_TEST_ONLY.fingerprint")
	if err != nil {
		t.Fatal(err)
	}
	clinic := newUser(t, "clinic")
	clinic.baked = &profile.Baked{Fingerprint: strings.TrimSpace(string(fpr)), AdminKey: key}
	clinic.system = t.TempDir() // no profile anywhere
	for _, c := range commands() {
		for _, flag := range []string{"--help", "-h"} {
			code, out, errOut := clinic.run(t, "", c.name, flag)
			if code != 0 && code != 2 || !strings.Contains(out+errOut, "Usage: securesend "+c.name) {
				t.Errorf("%s %s: exit %d\n%s\n%s", c.name, flag, code, out, errOut)
			}
			if strings.Contains(errOut, "organisation profile") {
				t.Errorf("%s %s loaded the profile: %s", c.name, flag, errOut)
			}
		}
	}
	for _, args := range [][]string{{"verify", "x.eml", "--help"}, {"outbox", "list", "--help"}, {"send", "--subject", "--help"}, {"verify", "--json"}} {
		code, _, errOut := clinic.run(t, "", args...)
		if code != 1 || !strings.Contains(errOut, "no organisation profile was found") {
			t.Errorf("%v ran without the profile: exit %d %s", args, code, errOut)
		}
	}
}

func TestIsMessageFile(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.eml", "B.EML", "c.txt"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600)
	}
	os.Mkdir(filepath.Join(dir, "folder.eml"), 0o700)
	for name, want := range map[string]bool{
		"a.eml": true, "B.EML": true, "c.txt": false, "missing.eml": false, "folder.eml": false,
	} {
		if got := isMessageFile(filepath.Join(dir, name)); got != want {
			t.Errorf("isMessageFile(%s) = %t", name, got)
		}
	}
	// A command name is never taken for a file: "verify" has no .eml
	// extension even when a file of that name exists.
	if isMessageFile("verify") {
		t.Error("a command taken for a message file")
	}
	// "securesend a.eml verify" is not a GUI start: an unknown command.
	u := newUser(t, "clinic")
	if code, _, errOut := u.run(t, "", filepath.Join(dir, "a.eml"), "verify"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("a.eml verify: exit %d %s", code, errOut)
	}
}
