package demomail

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
)

// Identity is a demo account with its OpenPGP key store: its own secret key
// and the other demo identity's public key, pinned.
type Identity struct {
	Account
	// Store is this identity's key store (in a temporary directory, with
	// the key passphrases in memory).
	Store *pgp.Store
	// Fingerprint is this identity's own key.
	Fingerprint pgp.Fingerprint
}

// makeIdentities generates a key per account in dir and pins each
// identity's key in the other's store.
func makeIdentities(dir string, accounts []Account, now func() time.Time) (map[string]*Identity, error) {
	ids := map[string]*Identity{}
	for _, a := range accounts {
		st, err := pgp.OpenVolatileStore(filepath.Join(dir, strings.Split(a.Address, "@")[0]), NewSecrets(), now)
		if err != nil {
			return nil, fmt.Errorf("demomail: key store: %w", err)
		}
		e, err := st.Generate(a.Name, a.Address)
		if err != nil {
			return nil, fmt.Errorf("demomail: key: %w", err)
		}
		ids[a.Address] = &Identity{Account: a, Store: st, Fingerprint: e.Fingerprint}
	}
	for _, a := range ids {
		pub, err := a.Store.Public(a.Fingerprint)
		if err != nil {
			return nil, fmt.Errorf("demomail: key: %w", err)
		}
		var armored bytes.Buffer
		if err := pub.WriteArmored(&armored); err != nil {
			return nil, fmt.Errorf("demomail: key: %w", err)
		}
		for _, b := range ids {
			if b == a {
				continue
			}
			if _, err := b.Store.Import(bytes.NewReader(armored.Bytes()), pgp.ImportOptions{Emails: []string{a.Address}, Pin: true}); err != nil {
				return nil, fmt.Errorf("demomail: pin key: %w", err)
			}
		}
	}
	return ids, nil
}

// Identity returns the demo identity with the given address.
func (s *System) Identity(address string) (*Identity, bool) {
	id, ok := s.identities[strings.ToLower(address)]
	return id, ok
}

// Secrets keeps secrets (key passphrases, the demo account's password) in
// memory for the demo's stores, which live only for the session: demo mode
// never touches the OS keychain. It implements pgp.Secrets and
// account.Secrets.
type Secrets struct {
	mu sync.Mutex
	m  map[string]string
}

// NewSecrets returns an empty in-memory secret store.
func NewSecrets() *Secrets { return &Secrets{m: map[string]string{}} }

func (m *Secrets) Get(name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.m[name]
	if !ok {
		return "", fmt.Errorf("demo secrets: %s: %w", name, keychain.ErrNotFound)
	}
	return v, nil
}

func (m *Secrets) Set(name, secret string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.m[name] = secret
	return nil
}

func (m *Secrets) Delete(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, name)
	return nil
}

func removeAll(dir string) {
	if dir != "" {
		os.RemoveAll(dir)
	}
}
