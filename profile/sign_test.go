package profile

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testPassphrase protects the TEST ONLY admin keys in testdata.
const testPassphrase = "TEST ONLY passphrase"

type testAdmin struct {
	pub, priv []byte
	fpr       string
}

func loadAdmin(t *testing.T, name string) testAdmin {
	t.Helper()
	read := func(suffix string) []byte {
		b, err := os.ReadFile("testdata/" + name + "_TEST_ONLY" + suffix)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return testAdmin{pub: read(".asc"), priv: read(".private.asc"), fpr: strings.TrimSpace(string(read(".fingerprint")))}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func signWith(t *testing.T, a testAdmin, data []byte) []byte {
	t.Helper()
	sig, err := Sign(data, a.priv, []byte(testPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestVerify(t *testing.T) {
	admin, other := loadAdmin(t, "admin"), loadAdmin(t, "other_admin")
	data := readFile(t, "testdata/good_two_pharmacies_must_encrypt.toml")
	sig := signWith(t, admin, data)
	tampered := bytes.Replace(data, []byte(`min_tls = "1.2"`), []byte(`min_tls = "1.3"`), 1)
	oneByte := bytes.Clone(data)
	oneByte[len(oneByte)/2] ^= 0x01
	cases := []struct {
		name          string
		data, sig, ak []byte
		pin           string
		want          error
	}{
		{"good", data, sig, admin.pub, admin.fpr, nil},
		{"good pin written with spaces", data, sig, admin.pub, strings.ToLower(admin.fpr[:4] + " " + admin.fpr[4:]), nil},
		{"tampered field", tampered, sig, admin.pub, admin.fpr, ErrTampered},
		{"tampered one bit", oneByte, sig, admin.pub, admin.fpr, ErrTampered},
		{"signed by another key", data, signWith(t, other, data), admin.pub, admin.fpr, ErrWrongKey},
		{"other key offered as the admin key", data, signWith(t, other, data), other.pub, admin.fpr, ErrWrongKey},
		{"unsigned", data, nil, admin.pub, admin.fpr, ErrUnsigned},
		{"signature file garbage", data, []byte("-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"), admin.pub, admin.fpr, ErrTampered},
		{"no pinned key", data, sig, admin.pub, "", ErrNoPinnedKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := Verify(c.data, c.sig, c.ak, c.pin)
			if c.want == nil {
				if err != nil || p == nil || len(p.Recipients) != 2 {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if p != nil {
				t.Fatal("a profile was returned with an error")
			}
		})
	}
}

func TestSignRefusesInvalidProfileAndWrongPassphrase(t *testing.T) {
	admin := loadAdmin(t, "admin")
	if _, err := Sign(readFile(t, "testdata/bad_min_tls_1_1.toml"), admin.priv, []byte(testPassphrase)); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("signing an invalid profile: %v", err)
	}
	_, err := Sign(readFile(t, "testdata/good_minimal.toml"), admin.priv, []byte("wrong"))
	if err == nil || !strings.Contains(err.Error(), "wrong passphrase") || strings.Contains(err.Error(), "wrong\"") {
		t.Errorf("wrong passphrase: %v", err)
	}
	if _, err := GenerateAdminKey("A", "a@example.nz", nil); err == nil {
		t.Error("an admin key without passphrase was generated")
	}
}

func TestGeneratedKeyIsProtectedV4Ed25519(t *testing.T) {
	k, err := GenerateAdminKey("Org Admin", "it@example.nz", []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(k.Private, []byte("PGP PRIVATE KEY BLOCK")) {
		t.Fatal("private key not armored")
	}
	e, fp, err := ParsePublicKey(k.Public)
	if err != nil || fp != k.Fingerprint || len(fp) != 40 || e.PrimaryKey.Version != 4 {
		t.Fatalf("%v %s %+v", err, fp, e)
	}
	data := readFile(t, "testdata/good_minimal.toml")
	if _, err := Sign(data, k.Private, nil); err == nil {
		t.Error("the private key signed without its passphrase: it is not protected")
	}
	sig, err := Sign(data, k.Private, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(data, sig, k.Public, k.Fingerprint); err != nil {
		t.Fatal(err)
	}
}

// gpgHome makes a throw-away GnuPG home with the TEST ONLY admin key.
func gpgHome(t *testing.T, a testAdmin, secret bool) []string {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Skip("gpg not installed")
	}
	dir, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	env := append(os.Environ(), "GNUPGHOME="+dir)
	key := a.pub
	if secret {
		key = a.priv
	}
	cmd := exec.Command("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", testPassphrase, "--import")
	cmd.Env, cmd.Stdin = env, bytes.NewReader(key)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gpg --import: %v\n%s", err, out)
	}
	return env
}

// GnuPG 2.2 must accept our profile signatures (admins may check them with
// gpg), and we must accept GnuPG's.
func TestGPGInterop(t *testing.T) {
	admin := loadAdmin(t, "admin")
	dir := t.TempDir()
	data := readFile(t, "testdata/good_two_pharmacies_must_encrypt.toml")
	prof, sigf := filepath.Join(dir, "profile.toml"), filepath.Join(dir, "profile.toml.sig")
	os.WriteFile(prof, data, 0o644)
	os.WriteFile(sigf, signWith(t, admin, data), 0o644)

	env := gpgHome(t, admin, false)
	cmd := exec.Command("gpg", "--batch", "--status-fd", "1", "--verify", sigf, prof)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("[GNUPG:] VALIDSIG "+admin.fpr)) {
		t.Fatalf("gpg --verify rejected our signature: %v\n%s", err, out)
	}
	os.WriteFile(prof, append(data, '\n'), 0o644)
	cmd = exec.Command("gpg", "--batch", "--verify", sigf, prof)
	cmd.Env = env
	if err := cmd.Run(); err == nil {
		t.Fatal("gpg accepted a signature over changed content")
	}

	env = gpgHome(t, admin, true)
	cmd = exec.Command("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", testPassphrase, "--armor", "--detach-sign", "--output", "-")
	cmd.Env, cmd.Stdin = env, bytes.NewReader(data)
	gsig, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg --detach-sign: %v", err)
	}
	if _, err := Verify(data, gsig, admin.pub, admin.fpr); err != nil {
		t.Fatalf("GnuPG's signature refused: %v", err)
	}
}
