package profile

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// AdminKey is a freshly generated organisation admin key.
type AdminKey struct {
	// Public is the armored public key, to be pinned into installers.
	Public []byte
	// Private is the armored private key, encrypted with the passphrase.
	// It is never produced unencrypted.
	Private []byte
	// Fingerprint is the primary key's fingerprint, upper-case hex.
	Fingerprint string
}

// keyConfig makes v4 Ed25519 (legacy EdDSA) keys and SHA-256 signatures,
// which GnuPG 2.2 reads.
func keyConfig() *packet.Config {
	return &packet.Config{
		Algorithm:   packet.PubKeyAlgoEdDSA,
		Curve:       packet.Curve25519,
		DefaultHash: crypto.SHA256,
	}
}

// GenerateAdminKey creates an organisation admin key (OpenPGP v4, Ed25519)
// for name and email, with its private part protected by passphrase, which
// must not be empty.
func GenerateAdminKey(name, email string, passphrase []byte) (*AdminKey, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("profile: admin key: a passphrase is required to protect the private key")
	}
	cfg := keyConfig()
	e, err := openpgp.NewEntity(name, "securesend organisation admin key", email, cfg)
	if err != nil {
		return nil, fmt.Errorf("profile: admin key: %w", err)
	}
	var pub bytes.Buffer
	w, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.Serialize(w); err != nil {
		return nil, fmt.Errorf("profile: admin key: %w", err)
	}
	w.Close()
	if err := e.EncryptPrivateKeys(passphrase, cfg); err != nil {
		return nil, fmt.Errorf("profile: admin key: protect private key: %w", err)
	}
	var priv bytes.Buffer
	w, err = armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.SerializePrivateWithoutSigning(w, cfg); err != nil {
		return nil, fmt.Errorf("profile: admin key: %w", err)
	}
	w.Close()
	return &AdminKey{Public: pub.Bytes(), Private: priv.Bytes(), Fingerprint: fingerprintHex(e.PrimaryKey.Fingerprint)}, nil
}

// Sign returns an armored detached OpenPGP signature of profileData made with
// the armored, passphrase-protected private key. It refuses to sign a profile
// that does not parse, so a broken profile never reaches staff.
func Sign(profileData, privateKey, passphrase []byte) ([]byte, error) {
	if _, err := Parse(profileData); err != nil {
		return nil, fmt.Errorf("profile: not signing an invalid profile: %w", err)
	}
	l, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(privateKey))
	if err != nil || len(l) != 1 || l[0].PrivateKey == nil {
		return nil, errors.New("profile: sign: the key file is not one armored OpenPGP private key")
	}
	e := l[0]
	if e.PrivateKey.Encrypted {
		if err := e.DecryptPrivateKeys(passphrase); err != nil {
			return nil, errors.New("profile: sign: wrong passphrase for the admin key")
		}
	}
	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, e, bytes.NewReader(profileData), keyConfig()); err != nil {
		return nil, fmt.Errorf("profile: sign: %w", err)
	}
	return sig.Bytes(), nil
}

// ParsePublicKey reads one armored OpenPGP public key and returns its
// fingerprint (upper-case hex).
func ParsePublicKey(armored []byte) (*openpgp.Entity, string, error) {
	l, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil {
		return nil, "", fmt.Errorf("profile: admin key: not an armored OpenPGP public key: %w", err)
	}
	if len(l) != 1 {
		return nil, "", fmt.Errorf("profile: admin key: file holds %d keys, want 1", len(l))
	}
	return l[0], fingerprintHex(l[0].PrimaryKey.Fingerprint), nil
}

// NormalizeFingerprint upper-cases fp and drops white space and colons, so
// that fingerprints copied from gpg output or a file compare equal.
func NormalizeFingerprint(fp string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.Join(strings.Fields(fp), ""), ":", ""))
}

// Verify checks that signature is a good detached signature of profileData
// by adminKey, that adminKey's fingerprint is pinnedFingerprint, and then
// parses the profile. It returns ErrUnsigned, ErrWrongKey or ErrTampered
// (wrapped) when the signature is missing, by another key, or does not match
// the content; a *FieldError when the signed file is not a valid profile.
func Verify(profileData, signature, adminKey []byte, pinnedFingerprint string) (*Profile, error) {
	if len(bytes.TrimSpace(signature)) == 0 {
		return nil, fmt.Errorf("profile: %w", ErrUnsigned)
	}
	pin := NormalizeFingerprint(pinnedFingerprint)
	if pin == "" {
		return nil, fmt.Errorf("profile: %w", ErrNoPinnedKey)
	}
	e, fp, err := ParsePublicKey(adminKey)
	if err != nil {
		return nil, fmt.Errorf("profile: %w (%v)", ErrWrongKey, err)
	}
	if fp != pin {
		return nil, fmt.Errorf("profile: %w (key %s, pinned %s)", ErrWrongKey, fp, pin)
	}
	signer, err := openpgp.CheckArmoredDetachedSignature(openpgp.EntityList{e}, bytes.NewReader(profileData), bytes.NewReader(signature), nil)
	switch {
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return nil, fmt.Errorf("profile: %w", ErrWrongKey)
	case err != nil:
		return nil, fmt.Errorf("profile: %w (%v)", ErrTampered, err)
	case signer == nil || fingerprintHex(signer.PrimaryKey.Fingerprint) != pin:
		return nil, fmt.Errorf("profile: %w", ErrWrongKey)
	}
	p, err := Parse(profileData)
	if err != nil {
		return nil, fmt.Errorf("profile: signed by the organisation key but not valid: %w", err)
	}
	return p, nil
}
