// Package pgptest runs the real GnuPG (gpg 2.2) for interoperability tests,
// each in its own temporary GNUPGHOME, builds TEST ONLY keys, and splits
// and frames raw OpenPGP packets and strips PGP/MIME signatures (to forge
// damaged messages).
package pgptest

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/securesend/securesend/crypto/pgp"
)

// GPG is a gpg with a private home directory, torn down (agent killed,
// directory removed) when the test ends.
type GPG struct {
	t    testing.TB
	Home string
}

// New returns a GPG for t, skipping the test if gpg is not installed
// (failing it under CI=true, where scripts/install-deps.sh installs gpg).
func New(t testing.TB) *GPG {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("gpg is not installed (CI=true, so this is a failure, not a skip)")
		}
		t.Skip("gpg not installed")
	}
	// A short path: the agent's socket must fit in sun_path.
	dir, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	g := &GPG{t: t, Home: dir}
	t.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "all")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+dir)
		_ = cmd.Run()
		os.RemoveAll(dir)
	})
	return g
}

// Run runs gpg --batch with args and stdin, failing the test on error. It
// returns stdout.
func (g *GPG) Run(stdin []byte, args ...string) []byte {
	g.t.Helper()
	out, stderr, err := g.Try(stdin, args...)
	if err != nil {
		g.t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// Try runs gpg --batch with args and stdin and returns stdout, stderr and
// the exit error.
func (g *GPG) Try(stdin []byte, args ...string) (stdout, stderr []byte, err error) {
	full := append([]string{"--batch", "--no-tty", "--pinentry-mode", "loopback", "--trust-model", "always"}, args...)
	cmd := exec.Command("gpg", full...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+g.Home, "LC_ALL=C")
	cmd.Stdin = bytes.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.Bytes(), e.Bytes(), err
}

// GenerateKey makes an ed25519/cv25519 key for uid in gpg, protected by
// passphrase ("" for none), and returns its fingerprint. Primary key and
// subkey are made in one run: adding the subkey afterwards
// (--quick-add-key) has the agent unlock the new primary key again, and
// under load that once failed with "Corrupted protection".
func (g *GPG) GenerateKey(uid, passphrase string) pgp.Fingerprint {
	g.t.Helper()
	params := "Key-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign,cert\n" +
		"Subkey-Type: ecdh\nSubkey-Curve: cv25519\nSubkey-Usage: encrypt\n" +
		"Name-Real: " + uid + "\nExpire-Date: 0\n"
	if passphrase == "" {
		params += "%no-protection\n"
	} else {
		params += "Passphrase: " + passphrase + "\n"
	}
	params += "%commit\n"
	g.Run([]byte(params), "--gen-key")
	return g.Fingerprint(uid)
}

// Fingerprint returns the primary fingerprint of the key matching uid.
func (g *GPG) Fingerprint(uid string) pgp.Fingerprint {
	g.t.Helper()
	out := g.Run(nil, "--with-colons", "--list-keys", uid)
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ":")
		if f[0] == "fpr" && len(f) > 9 {
			return pgp.Fingerprint(f[9])
		}
	}
	g.t.Fatalf("gpg: no fingerprint for %s", uid)
	return ""
}

// Import imports armored key data into gpg.
func (g *GPG) Import(data []byte) {
	g.t.Helper()
	g.Run(data, "--import")
}

// Key generates a TEST ONLY securesend key in memory.
func Key(t testing.TB, name, email string) *pgp.Key {
	t.Helper()
	k, err := pgp.Generate(name, email, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Armored returns k's armored public key.
func Armored(t testing.TB, k *pgp.PublicKey) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := k.WriteArmored(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// ArmoredSecret returns k's secret key, armored and UNPROTECTED: for TEST
// ONLY keys in testdata.
func ArmoredSecret(t testing.TB, k *pgp.Key) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, map[string]string{"Comment": "TEST ONLY - never use for real mail"})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Entity().SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// SplitPacket splits the first OpenPGP packet (new format) off b and
// returns its tag and body (partial body lengths joined); it fails the test
// if b does not start with a new-format packet.
func SplitPacket(t testing.TB, b []byte) (tag byte, body, rest []byte) {
	t.Helper()
	if len(b) < 2 || b[0]&0xc0 != 0xc0 {
		t.Fatalf("not a new-format packet: % x", b[:min(len(b), 2)])
	}
	tag, b = b[0]&0x3f, b[1:]
	for {
		l0 := int(b[0])
		switch {
		case l0 < 192:
			return tag, append(body, b[1:1+l0]...), b[1+l0:]
		case l0 < 224:
			n := (l0-192)<<8 + int(b[1]) + 192
			return tag, append(body, b[2:2+n]...), b[2+n:]
		case l0 == 255:
			n := int(binary.BigEndian.Uint32(b[1:5]))
			return tag, append(body, b[5:5+n]...), b[5+n:]
		default: // partial body length; more follows
			n := 1 << (l0 & 0x1f)
			body = append(body, b[1:1+n]...)
			b = b[1+n:]
		}
	}
}

// PacketBytes serialises a new-format packet with a five-octet length.
func PacketBytes(tag byte, body []byte) []byte {
	out := []byte{0xc0 | tag, 255, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[2:], uint32(len(body)))
	return append(out, body...)
}
