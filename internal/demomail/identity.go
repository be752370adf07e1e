package demomail

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
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

// SendOptions returns the options to submit as the account with the given
// address: implicit TLS to the demo server, the demo CA trusted, AUTH PLAIN
// with the account's password, REQUIRETLS required.
func (s *System) SendOptions(address string) (send.Options, error) {
	a, ok := s.Account(address)
	if !ok {
		return send.Options{}, fmt.Errorf("demomail: no demo account %q", address)
	}
	return send.Options{
		Server:     s.SMTPAddr,
		Security:   send.ImplicitTLS,
		RootCAs:    s.RootCAs(),
		Auth:       send.PasswordAuth(a.Address, a.Password),
		RequireTLS: true,
		Timeout:    30 * time.Second,
	}, nil
}

// Send signs m with the sender's demo key, encrypts it to the recipients'
// pinned demo keys (to all of them, or refuses), and submits it to the demo
// server as the sender with send.SendProtected, streaming, with progress as
// for send.Options. m.From must be a demo identity.
func (s *System) Send(ctx context.Context, m *send.Message, progress func(sent int64)) (*send.Result, error) {
	id, ok := s.Identity(m.From.Address)
	if !ok {
		return nil, fmt.Errorf("demomail: %s is not a demo identity", m.From.Address)
	}
	opts, err := s.SendOptions(id.Address)
	if err != nil {
		return nil, err
	}
	opts.Progress = progress
	prot, err := s.Protect(m)
	if err != nil {
		return nil, err
	}
	return send.SendProtected(ctx, opts, m, prot)
}

// Protect plans how a demo send of m is protected: signed with the
// sender's demo key and encrypted to the recipients' pinned demo keys (to
// all of them, or refused). m.From must be a demo identity. Compose the
// message with send.ComposeProtected (e.g. into the outbox).
func (s *System) Protect(m *send.Message) (send.Protection, error) {
	id, ok := s.Identity(m.From.Address)
	if !ok {
		return send.Protection{}, fmt.Errorf("demomail: %s is not a demo identity", m.From.Address)
	}
	signer, err := id.Store.SecretKey(id.Fingerprint)
	if err != nil {
		return send.Protection{}, fmt.Errorf("demomail: signing key: %w", err)
	}
	return send.PlanProtection(m, send.EncryptAlways, signer, id.Store)
}

// Verify verifies a received message as the identity with the given
// address would: with its key store (the other identity pinned) and its
// secret key for decryption. Documents go to sink (nil discards them).
func (s *System) Verify(ctx context.Context, address string, raw io.Reader, sink receive.DocumentSink) (*receive.Report, error) {
	id, ok := s.Identity(address)
	if !ok {
		return nil, fmt.Errorf("demomail: %s is not a demo identity", address)
	}
	key, err := id.Store.SecretKey(id.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("demomail: key: %w", err)
	}
	return receive.Verify(ctx, raw, receive.VerifyOptions{Store: id.Store, Secret: []*pgp.Key{key}, Sink: sink})
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
