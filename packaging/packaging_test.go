package packaging

import (
	"bytes"
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/profile"
)

// The TEST ONLY admin key and profile fixtures of the profile package.
const (
	fixtures       = "../profile/testdata/"
	testPassphrase = "TEST ONLY passphrase"
)

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signedBundle returns the two-pharmacy profile with serial n, signed by
// the TEST ONLY admin key, ready to bake.
func signedBundle(t *testing.T, serial string) profile.Baked {
	t.Helper()
	data := bytes.Replace(read(t, fixtures+"good_two_pharmacies_must_encrypt.toml"), []byte("serial = 3\n"), []byte("serial = "+serial+"\n"), 1)
	sig, err := profile.Sign(data, read(t, fixtures+"admin_TEST_ONLY.private.asc"), []byte(testPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	return profile.Baked{
		Profile: data, Signature: sig,
		AdminKey:    read(t, fixtures+"admin_TEST_ONLY.asc"),
		Fingerprint: strings.TrimSpace(string(read(t, fixtures+"admin_TEST_ONLY.fingerprint"))),
	}
}

// needFyne skips unless the fyne packaging tool is installed; with
// SECURESEND_PACKAGE_TEST=1 (CI) a missing tool fails the test instead.
func needFyne(t *testing.T) {
	t.Helper()
	if _, err := fyneTool(""); err != nil {
		if os.Getenv("SECURESEND_PACKAGE_TEST") == "1" {
			t.Fatal(err)
		}
		t.Skipf("%v (set SECURESEND_PACKAGE_TEST=1 to make this a failure)", err)
	}
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("tar not installed")
	}
}

func TestBuildRefusesBadBundle(t *testing.T) {
	b := signedBundle(t, "3")
	b.Profile = bytes.Replace(b.Profile, []byte(`"domains"`), []byte(`"auto"`), 1)
	_, err := Build(context.Background(), Options{OS: "linux", ModuleDir: "..", OutDir: t.TempDir(), Baked: b})
	if err == nil || !strings.Contains(err.Error(), "altered since it was signed") {
		t.Fatalf("tampered profile packaged: %v", err)
	}
	_, err = Build(context.Background(), Options{OS: "darwin", ModuleDir: "..", OutDir: t.TempDir(), Baked: signedBundle(t, "3")})
	if err == nil || !strings.Contains(err.Error(), "macOS") {
		t.Fatalf("darwin: %v", err)
	}
}

// TestLinuxPackageEndToEnd builds the real Linux package, unpacks it, and
// runs the packaged binary as a staff member would: the baked profile and
// directory are there and verified, unencrypted or off-list sends are
// refused, a newer system-wide profile from the same key replaces it, an
// older one is refused, and a tampered binary does not start.
func TestLinuxPackageEndToEnd(t *testing.T) {
	needFyne(t)
	ctx := context.Background()
	out := t.TempDir()
	// KeepBuildPaths: reuse the build cache of the rest of the suite (see
	// Options.KeepBuildPaths); the release build differs only by -trimpath.
	res, err := Build(ctx, Options{OS: "linux", ModuleDir: "..", OutDir: out, Baked: signedBundle(t, "3"), Deb: true, KeepBuildPaths: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range res.Artifacts {
		if fi, err := os.Stat(a); err == nil {
			t.Logf("%s: %.1f MB", filepath.Base(a), float64(fi.Size())/1e6)
		}
	}
	t.Logf("go build %v, packaging %v", res.BuildTime, res.PackageTime)
	tarball := filepath.Join(out, "securesend-kowhai-medical-centre-3-linux-amd64.tar.xz")
	if res.Artifacts[0] != tarball || len(res.SHA256[filepath.Base(tarball)]) != 64 {
		t.Fatalf("artifacts %v %v", res.Artifacts, res.SHA256)
	}
	sums := exec.Command("sha256sum", "-c", filepath.Base(res.SumsFile))
	sums.Dir = out
	if got, err := sums.CombinedOutput(); err != nil || strings.Count(string(got), ": OK") != len(res.Artifacts) {
		t.Fatalf("sha256sum -c %s: %v\n%s", res.SumsFile, err, got)
	}
	unpacked := t.TempDir()
	if out, err := exec.Command("tar", "-xJf", tarball, "-C", unpacked).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	bin := filepath.Join(unpacked, "securesend", "usr", "local", "bin", "securesend")
	for _, f := range []string{bin, filepath.Join(unpacked, "securesend", "usr", "local", "share", "applications", "nz.securesend.app.desktop"), filepath.Join(unpacked, "securesend", "Makefile")} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("package lacks %s: %v", f, err)
		}
	}
	desktop := string(read(t, filepath.Join(unpacked, "securesend", "usr", "local", "share", "applications", "nz.securesend.app.desktop")))
	if !strings.Contains(desktop, "\nMimeType=message/rfc822\n") || !strings.Contains(desktop, "\nExec=securesend %F\n") {
		t.Errorf("the .tar.xz's desktop entry does not open received messages:\n%s", desktop)
	}
	sysDir := t.TempDir()
	staff := func(t *testing.T, bin string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "SECURESEND_HOME="+filepath.Join(unpacked, "staff-home"), profile.SystemDirEnv+"="+sysDir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	t.Run("baked profile and directory", func(t *testing.T) {
		for _, args := range [][]string{{"admin", "profile", "show", "--embedded", "--effective"}, {"admin", "profile", "show"}} {
			out, err := staff(t, bin, args...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", args, err, out)
			}
			for _, want := range []string{
				"Organisation: Kowhai Medical Centre",
				"serial 3, from embedded, verified: signed by pinned admin key " + signedBundle(t, "3").Fingerprint,
				"Main Street Pharmacy <orders@mainst-pharmacy.example.nz>",
				"Harbour Pharmacy <scripts@harbour-pharmacy.example.nz>",
				"Locked settings: policy.min_tls, policy.encryption, accounts",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("%v output lacks %q:\n%s", args, want, out)
				}
			}
		}
	})
	t.Run("locked policy holds against user flags", func(t *testing.T) {
		out, err := staff(t, bin, "admin", "profile", "show", "--embedded", "--effective", "--min-tls", "1.0", "--encryption", "auto")
		if err != nil || !strings.Contains(out, "Minimum TLS version: 1.2 (locked)") || !strings.Contains(out, "Encryption: required for mainst-pharmacy.example.nz") || !strings.Contains(out, "ignored:") {
			t.Fatalf("%v\n%s", err, out)
		}
		out, err = staff(t, bin, "admin", "policy", "check", "--from", "dr@kowhai.example.nz", "--to", "scripts@harbour-pharmacy.example.nz", "--encryption", "auto")
		if err != nil || !strings.Contains(out, "must be encrypted: yes") {
			t.Fatalf("pharmacy: %v\n%s", err, out)
		}
		out, err = staff(t, bin, "admin", "policy", "check", "--from", "dr@kowhai.example.nz", "--to", "scripts@harbour-pharmacy.example.nz", "--to", "someone@gmail.com")
		if err == nil || !strings.Contains(out, "does not allow sending to this domain") || !strings.Contains(out, "requires encryption") {
			t.Fatalf("off-list recipient allowed: %v\n%s", err, out)
		}
	})
	t.Run("locked accounts hold against --server", func(t *testing.T) {
		// The profile locks accounts (to no template at all): a server named
		// on the command line is refused before any password is read, and
		// nothing is queued (issue 13 point 1).
		doc := filepath.Join(t.TempDir(), "referral.pdf")
		os.WriteFile(doc, []byte("%PDF-1.7\nreferral\n%%EOF\n"), 0o600)
		for _, args := range [][]string{
			{"send", "--server", "127.0.0.1:465", "--user", "dr", "--password-stdin", "--from", "dr@kowhai.example.nz", "--to", "orders@mainst-pharmacy.example.nz", doc},
			{"send", "--queue-only", "--server", "127.0.0.1:465", "--user", "dr", "--password-stdin", "--from", "dr@kowhai.example.nz", "--to", "orders@mainst-pharmacy.example.nz", doc},
			{"outbox", "run", "--server", "127.0.0.1:465", "--user", "dr", "--password-stdin"},
		} {
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "SECURESEND_HOME="+filepath.Join(unpacked, "staff-home"), profile.SystemDirEnv+"="+sysDir)
			cmd.Stdin = strings.NewReader("password\n")
			got, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(got), "locks the mail accounts") {
				t.Errorf("%v: %v\n%s", args[:2], err, got)
			}
		}
		out, err := staff(t, bin, "outbox", "list")
		if err != nil || strings.Contains(out, "referral.pdf") {
			t.Errorf("a refused message was queued: %v\n%s", err, out)
		}
	})
	t.Run("an empty system folder override keeps the baked policy", func(t *testing.T) {
		// Pointing $SECURESEND_SYSTEM_DIR at an empty folder does not make
		// the installation unmanaged (issue 13 point 2).
		empty := t.TempDir()
		cmd := exec.Command(bin, "admin", "policy", "check", "--from", "dr@kowhai.example.nz", "--to", "someone@gmail.com", "--encryption", "never")
		cmd.Env = append(os.Environ(), "SECURESEND_HOME="+filepath.Join(unpacked, "staff-home"), profile.SystemDirEnv+"="+empty)
		got, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(got), "does not allow sending to this domain") {
			t.Errorf("off-list recipient allowed with an empty system folder: %v\n%s", err, got)
		}
	})
	t.Run("newer system-wide profile replaces, older refused", func(t *testing.T) {
		newer := signedBundle(t, "4")
		os.WriteFile(filepath.Join(sysDir, profile.ProfileFile), newer.Profile, 0o644)
		os.WriteFile(filepath.Join(sysDir, profile.SignatureFile), newer.Signature, 0o644)
		out, err := staff(t, bin, "admin", "profile", "show")
		if err != nil || !strings.Contains(out, "serial 4, from "+filepath.Join(sysDir, profile.ProfileFile)) {
			t.Fatalf("%v\n%s", err, out)
		}
		os.Remove(filepath.Join(sysDir, profile.ProfileFile))
		os.Remove(filepath.Join(sysDir, profile.SignatureFile))
		out, err = staff(t, bin, "admin", "profile", "show")
		if err == nil || !strings.Contains(out, "older than one already used on this computer") {
			t.Fatalf("rollback to the baked serial 3 accepted: %v\n%s", err, out)
		}
	})
	t.Run("tampered system-wide profile stops the app", func(t *testing.T) {
		newer := signedBundle(t, "9")
		os.WriteFile(filepath.Join(sysDir, profile.ProfileFile), bytes.Replace(newer.Profile, []byte("max_attachment_mb = 20"), []byte("max_attachment_mb = 99"), 1), 0o644)
		os.WriteFile(filepath.Join(sysDir, profile.SignatureFile), newer.Signature, 0o644)
		defer os.Remove(filepath.Join(sysDir, profile.ProfileFile))
		out, err := staff(t, bin, "admin", "profile", "show")
		if err == nil || !strings.Contains(out, "altered since it was signed") {
			t.Fatalf("%v\n%s", err, out)
		}
	})
	t.Run("tampered binary stops the app", func(t *testing.T) {
		data := read(t, bin)
		i := bytes.Index(data, []byte("max_attachment_mb = 20"))
		if i < 0 {
			t.Fatal("baked profile not found in the binary")
		}
		data[i+len("max_attachment_mb = ")] = '9'
		bad := filepath.Join(t.TempDir(), "securesend")
		if err := os.WriteFile(bad, data, 0o755); err != nil {
			t.Fatal(err)
		}
		out, err := staff(t, bad, "admin", "profile", "show", "--embedded")
		if err == nil || !strings.Contains(out, "altered since it was signed") {
			t.Fatalf("%v\n%s", err, out)
		}
	})
	t.Run("binary is position-independent", func(t *testing.T) {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if f.Type != elf.ET_DYN {
			t.Fatalf("ELF type %v: not a PIE (ET_DYN)", f.Type)
		}
	})
	if _, err := exec.LookPath("dpkg-deb"); err == nil || os.Getenv("SECURESEND_PACKAGE_TEST") == "1" {
		if len(res.Artifacts) != 2 {
			t.Fatalf("no .deb built: %v", res.Artifacts)
		}
		t.Run("deb", func(t *testing.T) { checkDeb(t, res.Artifacts[1]) })
	}
}
