package pgp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// maxKeySize bounds how much of a key file is read.
const maxKeySize = 1 << 20

// PublicKey is a correspondent's (or the user's own) public key.
type PublicKey struct {
	entity *openpgp.Entity
}

// Key is the user's own secret key, unlocked in memory.
type Key struct {
	entity *openpgp.Entity
}

// Entity returns the underlying go-crypto entity (public part), for the
// RFC 3156 layer.
func (k *PublicKey) Entity() *openpgp.Entity { return k.entity }

// Fingerprint returns the primary key fingerprint.
func (k *PublicKey) Fingerprint() Fingerprint { return fingerprintOf(k.entity.PrimaryKey.Fingerprint) }

// Created returns the primary key's creation time.
func (k *PublicKey) Created() time.Time { return k.entity.PrimaryKey.CreationTime }

// Expires returns when the primary key expires; the zero time if never.
func (k *PublicKey) Expires() time.Time {
	sig, _ := k.entity.PrimarySelfSignature()
	if sig == nil || sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
		return time.Time{}
	}
	return k.entity.PrimaryKey.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second)
}

// UserIDs returns the key's user IDs ("Name <addr>"), sorted, excluding
// revoked ones.
func (k *PublicKey) UserIDs() []string {
	var ids []string
	for name, id := range k.entity.Identities {
		if id.Revoked(time.Now()) {
			continue
		}
		ids = append(ids, name)
	}
	sort.Strings(ids)
	return ids
}

// Emails returns the lower-cased e-mail addresses of the key's user IDs.
func (k *PublicKey) Emails() []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range k.UserIDs() {
		if a := emailOf(id); a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

// UserIDFor returns the user ID carrying addr, "" if none.
func (k *PublicKey) UserIDFor(addr string) string {
	addr = normalizeAddress(addr)
	for _, id := range k.UserIDs() {
		if emailOf(id) == addr && addr != "" {
			return id
		}
	}
	return ""
}

// HasEmail reports whether a (non-revoked) user ID carries addr,
// compared case-insensitively.
func (k *PublicKey) HasEmail(addr string) bool { return k.UserIDFor(addr) != "" }

// UsableForEncryption returns nil if the key can be encrypted to at now,
// else ErrRevoked, ErrExpired or ErrNotUsable.
func (k *PublicKey) UsableForEncryption(now time.Time) error {
	if _, ok := k.entity.EncryptionKey(now); ok {
		return nil
	}
	return k.whyUnusable(now)
}

// UsableForSigning returns nil if the key can sign at now.
func (k *PublicKey) UsableForSigning(now time.Time) error {
	if _, ok := k.entity.SigningKey(now); ok {
		return nil
	}
	return k.whyUnusable(now)
}

func (k *PublicKey) whyUnusable(now time.Time) error {
	fpr := k.Fingerprint().Grouped()
	if k.entity.Revoked(now) {
		return fmt.Errorf("pgp: key %s: %w", fpr, ErrRevoked)
	}
	if sig, _ := k.entity.PrimarySelfSignature(); sig != nil && (k.entity.PrimaryKey.KeyExpired(sig, now) || sig.SigExpired(now)) {
		return fmt.Errorf("pgp: key %s: %w", fpr, ErrExpired)
	}
	for _, sk := range k.entity.Subkeys {
		if sk.Revoked(now) {
			return fmt.Errorf("pgp: key %s: subkey: %w", fpr, ErrRevoked)
		}
		if sk.PublicKey.KeyExpired(sk.Sig, now) {
			return fmt.Errorf("pgp: key %s: subkey: %w", fpr, ErrExpired)
		}
	}
	return fmt.Errorf("pgp: key %s: %w", fpr, ErrNotUsable)
}

// WriteArmored writes the public key (transferable public key, RFC 4880
// 11.1) in ASCII armor.
func (k *PublicKey) WriteArmored(w io.Writer) error {
	aw, err := armor.Encode(w, openpgp.PublicKeyType, nil)
	if err != nil {
		return fmt.Errorf("pgp: armor: %w", err)
	}
	if err := k.entity.Serialize(aw); err != nil {
		return fmt.Errorf("pgp: serialize public key: %w", err)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("pgp: armor: %w", err)
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// Public returns the public half of the key.
func (k *Key) Public() *PublicKey { return &PublicKey{entity: k.entity} }

// Entity returns the underlying go-crypto entity with unlocked private
// keys, for the RFC 3156 layer. Do not serialize it.
func (k *Key) Entity() *openpgp.Entity { return k.entity }

// Generate creates a new v4 key for name <email>: an Ed25519 (EdDSA legacy)
// certification+signing primary key and an X25519 (ECDH Curve25519)
// encryption subkey, the combination GnuPG 2.2 reads. It does not expire.
func Generate(name, email string, now time.Time) (*Key, error) {
	email = normalizeAddress(email)
	if email == "" || strings.ContainsAny(name, "<>\r\n") {
		return nil, fmt.Errorf("pgp: generate: need a name without <, > or line breaks and a valid e-mail address")
	}
	cfg := Config(func() time.Time { return now })
	// Preferences: ZIP besides uncompressed, so that senders may compress
	// to this key (pgpmime.WriteEncrypted does, Huffman-only).
	cfg.DefaultCompressionAlgo = packet.CompressionZIP
	e, err := openpgp.NewEntity(name, "", email, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgp: generate: %w", err)
	}
	return &Key{entity: e}, nil
}

// ReadPublicKey reads exactly one public key, armored or binary. Secret key
// material in the input is discarded.
func ReadPublicKey(r io.Reader) (*PublicKey, error) {
	el, err := readEntities(r)
	if err != nil {
		return nil, err
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("pgp: the file holds %d keys; import them one at a time: %w", len(el), ErrBadKey)
	}
	return &PublicKey{entity: publicOnly(el[0])}, nil
}

// ReadSecretKey reads exactly one secret key, armored or binary, and
// unlocks it with passphrase (nil or empty for an unprotected key).
func ReadSecretKey(r io.Reader, passphrase []byte) (*Key, error) {
	el, err := readEntities(r)
	if err != nil {
		return nil, err
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("pgp: the file holds %d keys; expected one secret key: %w", len(el), ErrBadKey)
	}
	e := el[0]
	if e.PrivateKey == nil {
		return nil, fmt.Errorf("pgp: the file holds a public key, not a secret key: %w", ErrBadKey)
	}
	if e.PrivateKey.Encrypted || anySubkeyEncrypted(e) {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("pgp: the secret key is protected by a passphrase: %w", ErrWrongPassphrase)
		}
		if err := e.DecryptPrivateKeys(passphrase); err != nil {
			return nil, fmt.Errorf("pgp: unlock secret key: %w", ErrWrongPassphrase)
		}
	}
	if e.PrivateKey.Dummy() {
		return nil, fmt.Errorf("pgp: the primary secret key is not in the file (gnu-dummy stub): %w", ErrBadKey)
	}
	return &Key{entity: e}, nil
}

func anySubkeyEncrypted(e *openpgp.Entity) bool {
	for _, sk := range e.Subkeys {
		if sk.PrivateKey != nil && sk.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}

// readEntities reads a key ring, armored or binary, bounded in size.
func readEntities(r io.Reader) (openpgp.EntityList, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxKeySize+1))
	if err != nil {
		return nil, fmt.Errorf("pgp: read key: %w", err)
	}
	if len(data) > maxKeySize {
		return nil, fmt.Errorf("pgp: key file larger than %d bytes: %w", maxKeySize, ErrBadKey)
	}
	var el openpgp.EntityList
	if bytes.Contains(data[:min(len(data), 4096)], []byte("-----BEGIN PGP")) {
		el, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
	} else {
		el, err = openpgp.ReadKeyRing(bytes.NewReader(data))
	}
	if err != nil {
		var ue pgperrors.UnsupportedError
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("pgp: unsupported key (%v): %w", err, ErrBadKey)
		}
		return nil, fmt.Errorf("pgp: %v: %w", err, ErrBadKey)
	}
	if len(el) == 0 {
		return nil, fmt.Errorf("pgp: no key found: %w", ErrBadKey)
	}
	return el, nil
}

// publicOnly returns a copy of e without private key material.
func publicOnly(e *openpgp.Entity) *openpgp.Entity {
	if e.PrivateKey == nil {
		return e
	}
	var buf bytes.Buffer
	if err := e.Serialize(&buf); err != nil {
		return e
	}
	el, err := openpgp.ReadKeyRing(&buf)
	if err != nil || len(el) != 1 {
		return e
	}
	return el[0]
}

// lock serializes the secret key locked with passphrase, armored.
func (k *Key) lock(passphrase []byte) ([]byte, error) {
	// Work on a copy so k stays unlocked.
	var raw bytes.Buffer
	if err := k.entity.SerializePrivateWithoutSigning(&raw, nil); err != nil {
		return nil, fmt.Errorf("pgp: serialize secret key: %w", err)
	}
	el, err := openpgp.ReadKeyRing(&raw)
	if err != nil || len(el) != 1 {
		return nil, fmt.Errorf("pgp: copy secret key: %v", err)
	}
	c := el[0]
	if err := c.EncryptPrivateKeys(passphrase, Config(nil)); err != nil {
		return nil, fmt.Errorf("pgp: lock secret key: %w", err)
	}
	var out bytes.Buffer
	aw, err := armor.Encode(&out, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := c.SerializePrivateWithoutSigning(aw, nil); err != nil {
		return nil, fmt.Errorf("pgp: serialize locked key: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// emailOf extracts the lower-cased address of a user ID, "" if none.
func emailOf(uid string) string {
	if i, j := strings.LastIndexByte(uid, '<'), strings.LastIndexByte(uid, '>'); i >= 0 && j > i {
		return normalizeAddress(uid[i+1 : j])
	}
	return normalizeAddress(uid)
}

// normalizeAddress returns the lower-cased bare address of s, "" if s is
// not an address.
func normalizeAddress(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return ""
	}
	return strings.ToLower(a.Address)
}

// NormalizeAddress returns the lower-cased bare e-mail address of s
// ("Dr A <A@x.nz>" → "a@x.nz"), "" if s is not an address.
func NormalizeAddress(s string) string { return normalizeAddress(s) }
