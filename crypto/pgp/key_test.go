package pgp_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
)

// TestGeneratedKeyGnuPG checks that GnuPG 2.2 reads our key as a v4
// ed25519 + cv25519 key, encrypts to it, and verifies our signature.
func TestGeneratedKeyGnuPG(t *testing.T) {
	g := pgptest.New(t)
	k := pgptest.Key(t, "Dr Test Only", "dr@test.invalid")
	g.Import(pgptest.Armored(t, k.Public()))
	out := string(g.Run(nil, "--with-colons", "--list-keys", "dr@test.invalid"))
	for _, want := range []string{"pub:", ":ed25519:", "sub:", ":cv25519:", "fpr:::::::::" + string(k.Public().Fingerprint()) + ":"} {
		if !strings.Contains(out, want) {
			t.Errorf("gpg --list-keys lacks %q:\n%s", want, out)
		}
	}

	// gpg encrypts to our key; we decrypt.
	ct := g.Run([]byte("hello from gpg"), "--armor", "--encrypt", "--recipient", "dr@test.invalid")
	block, err := armor.Decode(bytes.NewReader(ct))
	if err != nil {
		t.Fatal(err)
	}
	md, err := openpgp.ReadMessage(block.Body, openpgp.EntityList{k.Entity()}, nil, pgp.Config(nil))
	if err != nil {
		t.Fatalf("decrypt gpg message: %v", err)
	}
	var pt bytes.Buffer
	if _, err := pt.ReadFrom(md.UnverifiedBody); err != nil {
		t.Fatal(err)
	}
	if pt.String() != "hello from gpg" {
		t.Errorf("plaintext %q", pt.String())
	}

	// We sign; gpg verifies.
	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, k.Entity(), strings.NewReader("signed data"), pgp.Config(nil)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, dir+"/data", "signed data")
	writeFile(t, dir+"/data.asc", sig.String())
	if _, stderr, err := g.Try(nil, "--verify", dir+"/data.asc", dir+"/data"); err != nil || !strings.Contains(string(stderr), "Good signature") {
		t.Errorf("gpg --verify: %v\n%s", err, stderr)
	}
	writeFile(t, dir+"/data", "signed datA")
	if _, _, err := g.Try(nil, "--verify", dir+"/data.asc", dir+"/data"); err == nil {
		t.Errorf("gpg --verify accepted altered data")
	}
}

func TestReadSecretKeyFromGnuPG(t *testing.T) {
	g := pgptest.New(t)
	fpr := g.GenerateKey("Gpg User <gpg@test.invalid>", "correct horse")
	exported := g.Run(nil, "--passphrase", "correct horse", "--armor", "--export-secret-keys", string(fpr))

	if _, err := pgp.ReadSecretKey(bytes.NewReader(exported), []byte("wrong")); !errors.Is(err, pgp.ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: err = %v, want ErrWrongPassphrase", err)
	}
	if _, err := pgp.ReadSecretKey(bytes.NewReader(exported), nil); !errors.Is(err, pgp.ErrWrongPassphrase) {
		t.Errorf("no passphrase: err = %v, want ErrWrongPassphrase", err)
	}
	k, err := pgp.ReadSecretKey(bytes.NewReader(exported), []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if k.Public().Fingerprint() != fpr {
		t.Errorf("fingerprint %s, want %s", k.Public().Fingerprint(), fpr)
	}
	if !k.Public().HasEmail("GPG@test.invalid") {
		t.Errorf("HasEmail is not case-insensitive: %v", k.Public().Emails())
	}
	if _, err := pgp.ReadSecretKey(bytes.NewReader(g.Run(nil, "--armor", "--export", string(fpr))), nil); !errors.Is(err, pgp.ErrBadKey) {
		t.Errorf("public key as secret: err = %v, want ErrBadKey", err)
	}
}

func TestReadPublicKeyRejectsGarbage(t *testing.T) {
	tests := map[string]string{
		"empty":         "",
		"garbage":       "hello world",
		"garbage armor": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n",
		"truncated":     "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ",
	}
	for name, in := range tests {
		if _, err := pgp.ReadPublicKey(strings.NewReader(in)); !errors.Is(err, pgp.ErrBadKey) {
			t.Errorf("%s: err = %v, want ErrBadKey", name, err)
		}
	}
}

func TestUsableForEncryption(t *testing.T) {
	now := time.Now()
	fresh := pgptest.Key(t, "Fresh", "fresh@test.invalid")

	expiredCfg := pgp.Config(func() time.Time { return now.Add(-48 * time.Hour) })
	expiredCfg.KeyLifetimeSecs = 3600
	expiredEnt, err := openpgp.NewEntity("Expired", "", "expired@test.invalid", expiredCfg)
	if err != nil {
		t.Fatal(err)
	}
	revoked := pgptest.Key(t, "Revoked", "revoked@test.invalid")
	if err := revoked.Entity().RevokeKey(packet.KeyCompromised, "test", pgp.Config(nil)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  *pgp.PublicKey
		want error
	}{
		{"fresh", fresh.Public(), nil},
		{"expired", roundTrip(t, expiredEnt), pgp.ErrExpired},
		{"revoked", roundTrip(t, revoked.Entity()), pgp.ErrRevoked},
	}
	for _, tt := range tests {
		err := tt.key.UsableForEncryption(now)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: UsableForEncryption = %v, want %v", tt.name, err, tt.want)
		}
	}
}

// roundTrip serializes the public part of e and reads it back, as an
// import would.
func roundTrip(t *testing.T, e *openpgp.Entity) *pgp.PublicKey {
	t.Helper()
	var b bytes.Buffer
	if err := e.Serialize(&b); err != nil {
		t.Fatal(err)
	}
	k, err := pgp.ReadPublicKey(&b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
