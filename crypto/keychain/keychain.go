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
}

// New returns the keychain namespace service (see home.Home.KeychainService).
func New(service string) *Keychain {
	return &Keychain{service: service}
}

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
	return s, nil
}

// Set stores secret under name, replacing any earlier value.
func (k *Keychain) Set(name, secret string) error {
	if err := checkSessionBus(); err != nil {
		return fmt.Errorf("keychain: store %q: %w", name, err)
	}
	if err := keyring.Set(k.service, name, secret); err != nil {
		return k.wrap("store", name, err)
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
