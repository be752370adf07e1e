package pgp

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/filelock"
)

// Trust is how far the user trusts that a key belongs to its addresses.
type Trust string

const (
	// Pinned: the fingerprint was confirmed with its owner (or came from
	// the organisation's directory). Only pinned keys yield Verified.
	Pinned Trust = "pinned"
	// Unverified: imported but not (yet) confirmed.
	Unverified Trust = "unverified"
)

// Entry is one key in the store's index.
type Entry struct {
	Fingerprint Fingerprint `json:"fingerprint"`
	// Emails are the addresses the key is bound to (lower case).
	Emails  []string  `json:"emails"`
	UserIDs []string  `json:"user_ids"`
	Trust   Trust     `json:"trust"`
	Added   time.Time `json:"added"`
	// Secret marks the user's own key: its locked secret key is on disk
	// and its passphrase in the keychain. Own keys count as pinned.
	Secret bool `json:"secret,omitempty"`
}

// Secrets is the part of the OS keychain the store needs; *keychain.Keychain
// implements it. Get must wrap keychain.ErrNotFound for a missing entry.
type Secrets interface {
	Get(name string) (string, error)
	Set(name, secret string) error
	Delete(name string) error
}

// Store is the key store in one directory:
//
//	index.json            the Entry list
//	public/FPR.asc        armored public keys
//	secret/FPR.asc        own secret keys, locked with a random passphrase
//
// The passphrase of each secret key is in the keychain under
// "pgp-passphrase:FPR". Writers take turns, in one process and across
// processes (the GUI and a CLI command): every change of the index holds
// the lock file "lock". Readers need no lock: the index is replaced
// atomically.
type Store struct {
	dir     string
	secrets Secrets
	now     func() time.Time
	writer  *filelock.Mutex // the lock file "lock"
}

// lock takes the store's write lock, for this process and the others.
func (s *Store) lock() (unlock func(), err error) {
	unlock, err = s.writer.Lock()
	if err != nil {
		return nil, fmt.Errorf("pgp: key store: %w", err)
	}
	return unlock, nil
}

// OpenStore opens (creating if needed, mode 0700) the key store in dir.
// secrets may be nil when only public keys are used. now may be nil.
func OpenStore(dir string, secrets Secrets, now func() time.Time) (*Store, error) {
	for _, d := range []string{dir, filepath.Join(dir, "public"), filepath.Join(dir, "secret")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("pgp: key store: %w", err)
		}
	}
	if now == nil {
		now = time.Now
	}
	return &Store{dir: dir, secrets: secrets, now: now, writer: &filelock.Mutex{Path: filepath.Join(dir, "lock")}}, nil
}

// ImportOptions controls Import.
type ImportOptions struct {
	// Email, when set, is the address the key is to be used for; the key
	// is refused (ErrAddressNotInKey) unless one of its user IDs carries
	// it. When empty the key is bound to all addresses of its user IDs.
	Email string
	// Pin marks the key pinned (the user compared the fingerprint).
	Pin bool
}

// List returns all entries, own keys first, then by first address.
func (s *Store) List() ([]Entry, error) {
	es, err := s.load()
	if err != nil {
		return nil, err
	}
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Secret != es[j].Secret {
			return es[i].Secret
		}
		return strings.Join(es[i].Emails, ",") < strings.Join(es[j].Emails, ",")
	})
	return es, nil
}

// Entry returns the index entry of fpr.
func (s *Store) Entry(fpr Fingerprint) (Entry, error) {
	es, err := s.load()
	if err != nil {
		return Entry{}, err
	}
	for _, e := range es {
		if e.Fingerprint == fpr {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("pgp: key %s: %w", fpr.Grouped(), ErrNotFound)
}

// Public returns the public key fpr.
func (s *Store) Public(fpr Fingerprint) (*PublicKey, error) {
	if _, err := s.Entry(fpr); err != nil {
		return nil, err
	}
	f, err := os.Open(s.publicPath(fpr))
	if err != nil {
		return nil, fmt.Errorf("pgp: key store: %w", err)
	}
	defer f.Close()
	return ReadPublicKey(f)
}

// Import adds a correspondent's public key (armored or binary). A key
// already present is replaced (refreshing signatures, revocations) and
// keeps its trust unless Pin is set. Keys that are revoked or expired are
// stored but never used to encrypt.
func (s *Store) Import(r io.Reader, opts ImportOptions) (Entry, error) {
	k, err := ReadPublicKey(r)
	if err != nil {
		return Entry{}, err
	}
	return s.add(k, opts, false)
}

func (s *Store) add(k *PublicKey, opts ImportOptions, secret bool) (Entry, error) {
	emails := k.Emails()
	if len(emails) == 0 {
		return Entry{}, fmt.Errorf("pgp: import %s: %w", k.Fingerprint().Grouped(), ErrNoAddress)
	}
	if opts.Email != "" {
		addr := normalizeAddress(opts.Email)
		if !k.HasEmail(addr) {
			return Entry{}, fmt.Errorf("pgp: import %s for %s (key has %s): %w",
				k.Fingerprint().Grouped(), opts.Email, strings.Join(emails, ", "), ErrAddressNotInKey)
		}
		emails = []string{addr}
	}
	var buf bytes.Buffer
	if err := k.WriteArmored(&buf); err != nil {
		return Entry{}, err
	}
	unlock, err := s.lock()
	if err != nil {
		return Entry{}, err
	}
	defer unlock()
	es, err := s.load()
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Fingerprint: k.Fingerprint(), Emails: emails, UserIDs: k.UserIDs(), Trust: Unverified, Added: s.now().UTC(), Secret: secret}
	if opts.Pin || secret {
		e.Trust = Pinned
	}
	replaced := false
	for i, old := range es {
		if old.Fingerprint == e.Fingerprint {
			if old.Trust == Pinned {
				e.Trust = Pinned
			}
			e.Secret = old.Secret || secret
			e.Added = old.Added
			es[i] = e
			replaced = true
		}
	}
	if !replaced {
		es = append(es, e)
	}
	if err := writeFileAtomic(s.publicPath(e.Fingerprint), buf.Bytes()); err != nil {
		return Entry{}, err
	}
	if err := s.save(es); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Pin marks fpr pinned: the user compared its fingerprint with the owner.
func (s *Store) Pin(fpr Fingerprint) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	es, err := s.load()
	if err != nil {
		return err
	}
	for i := range es {
		if es[i].Fingerprint == fpr {
			es[i].Trust = Pinned
			return s.save(es)
		}
	}
	return fmt.Errorf("pgp: pin %s: %w", fpr.Grouped(), ErrNotFound)
}

// Delete removes fpr, and for an own key also the locked secret key and
// its keychain passphrase.
func (s *Store) Delete(fpr Fingerprint) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	es, err := s.load()
	if err != nil {
		return err
	}
	out := es[:0]
	var found *Entry
	for _, e := range es {
		if e.Fingerprint == fpr {
			found = &e
			continue
		}
		out = append(out, e)
	}
	if found == nil {
		return fmt.Errorf("pgp: delete %s: %w", fpr.Grouped(), ErrNotFound)
	}
	if found.Secret && s.secrets != nil {
		if err := s.secrets.Delete(passphraseName(fpr)); err != nil {
			return fmt.Errorf("pgp: delete %s: %w", fpr.Grouped(), err)
		}
	}
	if err := s.save(out); err != nil {
		return err
	}
	for _, p := range []string{s.publicPath(fpr), s.secretPath(fpr)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("pgp: delete %s: %w", fpr.Grouped(), err)
		}
	}
	return nil
}

// Generate creates the user's own key (see Generate) and stores it.
func (s *Store) Generate(name, email string) (Entry, error) {
	k, err := Generate(name, email, s.now())
	if err != nil {
		return Entry{}, err
	}
	return s.AddSecret(k)
}

// ImportSecret reads the user's existing secret key (e.g. from
// "gpg --export-secret-keys --armor"), unlocks it with passphrase, and
// stores it locked with a new random passphrase kept in the keychain.
func (s *Store) ImportSecret(r io.Reader, passphrase []byte) (Entry, error) {
	k, err := ReadSecretKey(r, passphrase)
	if err != nil {
		return Entry{}, err
	}
	if err := k.Public().UsableForSigning(s.now()); err != nil {
		return Entry{}, err
	}
	return s.AddSecret(k)
}

// AddSecret stores k as an own key: the secret key locked with a fresh
// 32-byte random passphrase on disk, the passphrase in the keychain.
func (s *Store) AddSecret(k *Key) (Entry, error) {
	if s.secrets == nil {
		return Entry{}, fmt.Errorf("pgp: store secret key: %w", keychain.ErrUnavailable)
	}
	fpr := k.Public().Fingerprint()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Entry{}, fmt.Errorf("pgp: random passphrase: %w", err)
	}
	pass := base64.RawStdEncoding.EncodeToString(raw)
	locked, err := k.lock([]byte(pass))
	if err != nil {
		return Entry{}, err
	}
	if err := s.secrets.Set(passphraseName(fpr), pass); err != nil {
		return Entry{}, fmt.Errorf("pgp: store secret key passphrase: %w", err)
	}
	if err := writeFileAtomic(s.secretPath(fpr), locked); err != nil {
		return Entry{}, err
	}
	return s.add(k.Public(), ImportOptions{}, true)
}

// Own returns the entry of the user's own key (the first one added).
func (s *Store) Own() (Entry, error) {
	es, err := s.load()
	if err != nil {
		return Entry{}, err
	}
	for _, e := range es {
		if e.Secret {
			return e, nil
		}
	}
	return Entry{}, ErrNoSecretKey
}

// SecretKey unlocks the own key fpr ("" for the first own key) with the
// passphrase from the keychain.
func (s *Store) SecretKey(fpr Fingerprint) (*Key, error) {
	if fpr == "" {
		e, err := s.Own()
		if err != nil {
			return nil, err
		}
		fpr = e.Fingerprint
	}
	e, err := s.Entry(fpr)
	if err != nil {
		return nil, err
	}
	if !e.Secret {
		return nil, fmt.Errorf("pgp: key %s is not one of yours: %w", fpr.Grouped(), ErrNoSecretKey)
	}
	if s.secrets == nil {
		return nil, fmt.Errorf("pgp: unlock %s: %w", fpr.Grouped(), keychain.ErrUnavailable)
	}
	pass, err := s.secrets.Get(passphraseName(fpr))
	if errors.Is(err, keychain.ErrNotFound) {
		return nil, fmt.Errorf("pgp: unlock %s: %w", fpr.Grouped(), ErrSecretLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("pgp: unlock %s: %w", fpr.Grouped(), err)
	}
	f, err := os.Open(s.secretPath(fpr))
	if err != nil {
		return nil, fmt.Errorf("pgp: unlock %s: %w", fpr.Grouped(), err)
	}
	defer f.Close()
	return ReadSecretKey(f, []byte(pass))
}

// Lookup returns the key to encrypt to addr: a key bound to addr that is
// usable for encryption now, preferring pinned keys, then the newest. It
// returns ErrNotFound when the store has no key for addr, or the reason
// (ErrRevoked, ErrExpired, ErrNotUsable) when keys exist but none is
// usable.
func (s *Store) Lookup(addr string) (*PublicKey, Entry, error) {
	addr = normalizeAddress(addr)
	es, err := s.load()
	if err != nil {
		return nil, Entry{}, err
	}
	sort.SliceStable(es, func(i, j int) bool {
		if (es[i].Trust == Pinned) != (es[j].Trust == Pinned) {
			return es[i].Trust == Pinned
		}
		return es[i].Added.After(es[j].Added)
	})
	var lastErr error
	for _, e := range es {
		if addr == "" || !contains(e.Emails, addr) {
			continue
		}
		k, err := s.Public(e.Fingerprint)
		if err != nil {
			lastErr = err
			continue
		}
		if err := k.UsableForEncryption(s.now()); err != nil {
			lastErr = err
			continue
		}
		return k, e, nil
	}
	if lastErr != nil {
		return nil, Entry{}, fmt.Errorf("pgp: no usable key for %s: %w", addr, lastErr)
	}
	return nil, Entry{}, fmt.Errorf("pgp: no key for %s: %w", addr, ErrNotFound)
}

// All returns every public key in the store with its entry, for signature
// verification.
func (s *Store) All() ([]*PublicKey, []Entry, error) {
	es, err := s.load()
	if err != nil {
		return nil, nil, err
	}
	var keys []*PublicKey
	var ents []Entry
	for _, e := range es {
		k, err := s.Public(e.Fingerprint)
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
		ents = append(ents, e)
	}
	return keys, ents, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func passphraseName(fpr Fingerprint) string { return "pgp-passphrase:" + string(fpr) }

func (s *Store) publicPath(fpr Fingerprint) string {
	return filepath.Join(s.dir, "public", string(fpr)+".asc")
}

func (s *Store) secretPath(fpr Fingerprint) string {
	return filepath.Join(s.dir, "secret", string(fpr)+".asc")
}

func (s *Store) indexPath() string { return filepath.Join(s.dir, "index.json") }

func (s *Store) load() ([]Entry, error) {
	data, err := os.ReadFile(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pgp: key store index: %w", err)
	}
	var es []Entry
	if err := json.Unmarshal(data, &es); err != nil {
		return nil, fmt.Errorf("pgp: key store index %s is corrupt: %w", s.indexPath(), err)
	}
	return es, nil
}

func (s *Store) save(es []Entry) error {
	if es == nil {
		es = []Entry{}
	}
	data, err := json.MarshalIndent(es, "", "  ")
	if err != nil {
		return fmt.Errorf("pgp: key store index: %w", err)
	}
	return writeFileAtomic(s.indexPath(), append(data, '\n'))
}

// writeFileAtomic replaces path with data (mode 0600), atomically and
// durably.
func writeFileAtomic(path string, data []byte) error {
	if err := atomicfile.WriteFile(path, data); err != nil {
		return fmt.Errorf("pgp: key store: %w", err)
	}
	return nil
}
