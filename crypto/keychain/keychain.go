// Package keychain stores securesend's secrets (SMTP/IMAP passwords, OAuth
// refresh tokens, key passphrases, at-rest encryption keys) in the operating
// system's keychain: the Secret Service on Linux, the macOS Keychain and the
// Windows Credential Manager, through github.com/zalando/go-keyring.
//
// There is no fallback: when the keychain is missing or locked every call
// fails with ErrUnavailable, and nothing is ever written to a file. Entries
// are namespaced by a service name derived from the securesend home (see
// internal/home), so two homes never see each other's secrets.
package keychain

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/zalando/go-keyring"
)

var (
	// ErrNotFound means there is no secret under that name.
	ErrNotFound = errors.New("keychain: no such secret")
	// ErrUnavailable means the OS keychain could not be reached or is locked.
	ErrUnavailable = errors.New("the OS keychain is not available or is locked; securesend keeps secrets only there, so unlock it (or start a Secret Service such as gnome-keyring) and try again")
	// ErrTooBig means the platform refused a secret of that size.
	ErrTooBig = errors.New("keychain: secret too large for this platform's keychain")
)

// Keychain reads and writes the secrets of one securesend home.
type Keychain struct {
	service string
	// part is the largest number of bytes one keychain entry holds on
	// this platform (0: no limit); a longer secret is kept in parts.
	part int
}

// New returns the keychain namespace service (see home.Home.KeychainService).
func New(service string) *Keychain {
	return &Keychain{service: service, part: maxBlob}
}

// maxParts bounds how many entries one secret may take: 16 parts of
// Windows' 2560 bytes are 40 KiB, far more than any password, OAuth
// refresh token or passphrase.
const maxParts = 16

// partName is the entry that holds part i (2, 3, ...) of the secret
// stored under name; part 1 is the entry name itself, so a secret that
// fits in one entry is stored exactly as before.
func partName(name string, i int) string { return fmt.Sprintf("%s#part%d", name, i) }

// Service is the namespace this keychain stores under.
func (k *Keychain) Service() string { return k.service }

// Get returns the secret stored under name.
func (k *Keychain) Get(name string) (string, error) {
	if err := checkSessionBus(); err != nil {
		return "", fmt.Errorf("keychain: read %q: %w", name, err)
	}
	s, err := keyring.Get(k.service, name)
	if err != nil {
		return "", k.wrap("read", name, err)
	}
	// A full first part may have more parts after it (see Set).
	for i := 2; k.part > 0 && len(s) == (i-1)*k.part && i <= maxParts; i++ {
		p, err := keyring.Get(k.service, partName(name, i))
		if errors.Is(err, keyring.ErrNotFound) {
			break
		}
		if err != nil {
			return "", k.wrap("read", name, err)
		}
		s += p
	}
	return s, nil
}

// Set stores secret under name, replacing any earlier value.
func (k *Keychain) Set(name, secret string) error {
	if err := checkSessionBus(); err != nil {
		return fmt.Errorf("keychain: store %q: %w", name, err)
	}
	parts := []string{secret}
	if k.part > 0 && len(secret) > k.part {
		// Windows' Credential Manager holds at most 2560 bytes per
		// credential (CRED_MAX_CREDENTIAL_BLOB_SIZE); a longer secret
		// (a long OAuth refresh token) is split over several entries.
		parts = parts[:0]
		for rest := secret; rest != ""; {
			n := min(k.part, len(rest))
			parts = append(parts, rest[:n])
			rest = rest[n:]
		}
		if len(parts) > maxParts {
			return fmt.Errorf("keychain: store %q: %w (%d bytes; at most %d)", name, ErrTooBig, len(secret), maxParts*k.part)
		}
	}
	// The further parts first, the entry that names the secret last.
	for i := len(parts); i >= 1; i-- {
		entry := name
		if i > 1 {
			entry = partName(name, i)
		}
		if err := keyring.Set(k.service, entry, parts[i-1]); err != nil {
			return k.wrap("store", name, err)
		}
	}
	if k.part > 0 {
		// Parts left over from a longer secret stored before.
		return k.deleteParts(name, len(parts)+1)
	}
	return nil
}

// deleteParts removes the parts from first on of the secret under name.
func (k *Keychain) deleteParts(name string, first int) error {
	for i := first; i <= maxParts; i++ {
		err := keyring.Delete(k.service, partName(name, i))
		if errors.Is(err, keyring.ErrNotFound) {
			return nil
		}
		if err != nil {
			return k.wrap("delete", name, err)
		}
	}
	return nil
}

// Delete removes the secret under name. Deleting a missing secret is not an
// error.
func (k *Keychain) Delete(name string) error {
	if err := checkSessionBus(); err != nil {
		return fmt.Errorf("keychain: delete %q: %w", name, err)
	}
	err := keyring.Delete(k.service, name)
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return k.wrap("delete", name, err)
	}
	if k.part > 0 {
		return k.deleteParts(name, 2)
	}
	return nil
}

// LookupKey returns the 32-byte key stored under name by Key, or an error
// wrapping ErrNotFound when there is none; unlike Key it never creates one.
func (k *Keychain) LookupKey(name string) ([]byte, error) {
	s, err := k.Get(name)
	if err != nil {
		return nil, err
	}
	key, derr := base64.StdEncoding.DecodeString(s)
	if derr != nil || len(key) != 32 {
		return nil, fmt.Errorf("keychain: entry %q is not a 32-byte key", name)
	}
	return key, nil
}

// Key returns the 32-byte random key stored under name, creating and storing
// a new one on first use. It is meant for at-rest encryption keys.
func (k *Keychain) Key(name string) ([]byte, error) {
	key, err := k.LookupKey(name)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("keychain: random key: %w", err)
	}
	if err := k.Set(name, base64.StdEncoding.EncodeToString(key)); err != nil {
		return nil, err
	}
	return key, nil
}

// wrap classifies err without ever including the secret itself.
func (k *Keychain) wrap(op, name string, err error) error {
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return fmt.Errorf("keychain: %s %q: %w", op, name, ErrNotFound)
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("keychain: %s %q: %w", op, name, ErrTooBig)
	default:
		return fmt.Errorf("keychain: %s %q: %w (%v)", op, name, ErrUnavailable, err)
	}
}
