package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/profile"
)

// adminProfiles makes a TEST ONLY admin key and, for each serial, the
// example profile (encryption always, mail only to example.org) with that
// serial, signed, in a folder of its own laid out as the system-wide
// directory. It returns the key-only pin an installer build would carry
// and the folders by serial. The keychain's record of the key's highest
// serial is removed when the test ends.
func adminProfiles(t *testing.T, serials ...int64) (profile.Baked, map[int64]string) {
	t.Helper()
	admin := newUser(t, "admin")
	dir := t.TempDir()
	const pass = "TEST ONLY admin passphrase\n"
	out := admin.must(t, 0, pass, "admin", "key", "generate", "--name", "Kowhai IT", "--email", "it@kowhai.example.nz", "--passphrase-stdin", "--out", dir)
	fpr := regexp.MustCompile(`fingerprint: ([0-9A-F]{40})`).FindStringSubmatch(out)
	if fpr == nil {
		t.Fatalf("no fingerprint: %s", out)
	}
	t.Cleanup(func() { keychain.New(profile.SerialKeychainService).Delete("profile-serial:" + fpr[1]) })
	pub, err := os.ReadFile(filepath.Join(dir, "admin-key.asc"))
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[int64]string{}
	for _, n := range serials {
		sys := t.TempDir()
		prof := filepath.Join(sys, profile.ProfileFile)
		admin.must(t, 0, "", "admin", "profile", "init", "--org", "Kowhai Medical Centre", "--out", prof)
		data, _ := os.ReadFile(prof)
		edited := strings.NewReplacer("serial = 1\n", "serial = "+strconv.FormatInt(n, 10)+"\n",
			`encryption = "auto"`, `encryption = "always"`,
			`allowed_recipient_domains = []`, `allowed_recipient_domains = ["example.org"]`).Replace(string(data))
		if !strings.Contains(edited, "serial = "+strconv.FormatInt(n, 10)+"\n") {
			t.Fatalf("example profile has no serial line:\n%s", data)
		}
		os.WriteFile(prof, []byte(edited), 0o644)
		admin.must(t, 0, pass, "admin", "profile", "sign", "--profile", prof, "--key", filepath.Join(dir, "admin-key.private.asc"), "--passphrase-stdin")
		dirs[n] = sys
	}
	return profile.Baked{Fingerprint: fpr[1], AdminKey: pub}, dirs
}

// TestProfileNoUnmanagedFallbackCLI: in a build that pins only the admin key
// (profile read from the system location), pointing SECURESEND_SYSTEM_DIR at
// an empty folder used to make the installation unmanaged: a message went
// out signed only, to a domain outside the allowed list, Subject in clear.
// Now every command but admin stops with a clear error and nothing is sent.
func TestProfileNoUnmanagedFallbackCLI(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	creds := accounttest.Credentials{User: "clinic", Password: "pw"}
	srv := accounttest.StartSMTP(t, pki, creds, accounttest.Options{})
	clinic := newUser(t, "clinic")
	pin, _ := adminProfiles(t)
	clinic.baked = &pin
	for _, sys := range []string{t.TempDir(), filepath.Join(t.TempDir(), "missing")} {
		clinic.system = sys
		code, out, errOut := clinic.run(t, "pw\n", "send", "--server", srv.Addr, "--ca-file", pki.CAFile, "--user", "clinic", "--password-stdin",
			"--from", "clinic@example.org", "--to", "someone@gmail.com", "--encrypt", "never", "--subject", "Script NHI ZZZ0016", writeDoc(t))
		if code != 1 || !strings.Contains(errOut, "no organisation profile was found") || !strings.Contains(errOut, sys) {
			t.Fatalf("send with %s=%s: exit %d\n%s\n%s", profile.SystemDirEnv, sys, code, out, errOut)
		}
		if n := len(srv.Messages()); n != 0 {
			t.Fatalf("the server got %d messages from an unmanaged run", n)
		}
		if code, _, errOut := clinic.run(t, "", "outbox", "list"); code != 1 || !strings.Contains(errOut, "no organisation profile was found") {
			t.Fatalf("outbox list: exit %d %s", code, errOut)
		}
	}
	// admin still runs (it is how the installation gets fixed)
	clinic.must(t, 0, "", "admin", "--help")
}

// TestProfileRollbackCLI: once serial 5 has been used, an older signed
// profile is refused after deleting profile-serials, in a fresh home, and
// from SECURESEND_SYSTEM_DIR in a build whose baked profile is newer.
func TestProfileRollbackCLI(t *testing.T) {
	requireKeychain(t)
	pin, dirs := adminProfiles(t, 3, 5)
	clinic := newUser(t, "clinic")
	clinic.baked = &pin
	clinic.system = dirs[5]
	clinic.must(t, 0, "", "outbox", "list")
	if _, err := os.Stat(filepath.Join(clinic.home, "profile-serials")); err != nil {
		t.Fatal(err)
	}
	const refused = "older than one already used on this computer"

	// delete the home's record, go back to serial 3
	if err := os.Remove(filepath.Join(clinic.home, "profile-serials")); err != nil {
		t.Fatal(err)
	}
	clinic.system = dirs[3]
	if out := clinic.must(t, 1, "", "outbox", "list"); !strings.Contains(out, refused) {
		t.Fatalf("after deleting profile-serials: %s", out)
	}

	// a fresh home, serial 3
	fresh := newUser(t, "fresh")
	fresh.baked, fresh.system = &pin, dirs[3]
	if out := fresh.must(t, 1, "", "outbox", "list"); !strings.Contains(out, refused) {
		t.Fatalf("fresh home: %s", out)
	}
	fresh.system = dirs[5]
	fresh.must(t, 0, "", "outbox", "list")

	// a build carrying serial 5, the override at serial 3: refused even in
	// a home and keychain that never saw serial 5
	keychain.New(profile.SerialKeychainService).Delete("profile-serial:" + pin.Fingerprint)
	b5 := pin
	b5.Profile, _ = os.ReadFile(filepath.Join(dirs[5], profile.ProfileFile))
	b5.Signature, _ = os.ReadFile(filepath.Join(dirs[5], profile.SignatureFile))
	other := newUser(t, "other")
	other.baked, other.system = &b5, dirs[3]
	if out := other.must(t, 1, "", "outbox", "list"); !strings.Contains(out, refused) || !strings.Contains(out, profile.SystemDirEnv) {
		t.Fatalf("override older than the build: %s", out)
	}
}
