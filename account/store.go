package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/filelock"
	"github.com/securesend/securesend/internal/home"
)

// Secrets is the keychain as this package uses it; *keychain.Keychain
// implements it. Errors must wrap keychain.ErrNotFound or
// keychain.ErrUnavailable.
type Secrets interface {
	Get(name string) (string, error)
	Set(name, secret string) error
	Delete(name string) error
}

// Keychain entry names of an account's secrets.
func (a *Account) passwordKey() string     { return "account/" + a.Name + "/password" }
func (a *Account) refreshTokenKey() string { return "account/" + a.Name + "/oauth-refresh-token" }
func (a *Account) clientSecretKey() string { return "account/" + a.Name + "/oauth-client-secret" }

func (a *Account) secretKeys() []string {
	return []string{a.passwordKey(), a.refreshTokenKey(), a.clientSecretKey()}
}

// FileName is the name of the settings file in the securesend home.
const FileName = "accounts.json"

// file is the on-disk form of accounts.json.
type file struct {
	Version  int       `json:"version"`
	Accounts []Account `json:"accounts"`
}

// Store is the set of accounts of one securesend home: settings in
// accounts.json, secrets in the keychain.
type Store struct {
	path    string
	secrets Secrets
	mu      sync.Mutex
}

// NewStore returns the store of h whose secrets live in secrets (normally
// keychain.New(h.KeychainService())).
func NewStore(h home.Home, secrets Secrets) *Store {
	return &Store{path: h.Path(FileName), secrets: secrets}
}

// Secrets is the keychain the store uses.
func (s *Store) Secrets() Secrets { return s.secrets }

// Credentials are the secrets given when an account is added.
type Credentials struct {
	// Password is required for AuthPassword.
	Password string
	// ClientSecret is the OAuth client secret, for providers that need one.
	ClientSecret string
}

// List returns the accounts sorted by name.
func (s *Store) List() ([]Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.read()
	if err != nil {
		return nil, err
	}
	return f.Accounts, nil
}

// Get returns the account called name, or an error wrapping ErrNotFound.
func (s *Store) Get(name string) (*Account, error) {
	accts, err := s.List()
	if err != nil {
		return nil, err
	}
	for i := range accts {
		if accts[i].Name == name {
			return &accts[i], nil
		}
	}
	return nil, fmt.Errorf("account %q: %w", name, ErrNotFound)
}

// Add validates a and stores it: the credentials go to the keychain first,
// and only then are the settings written. A password account needs a
// password. With the keychain unavailable nothing is stored.
func (s *Store) Add(a Account, c Credentials) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if a.Auth == AuthPassword && c.Password == "" {
		return fmt.Errorf("account %s: a password is needed for password sign-in", a.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.read()
	if err != nil {
		return err
	}
	for _, b := range f.Accounts {
		if b.Name == a.Name {
			return fmt.Errorf("account %q: %w", a.Name, ErrExists)
		}
	}
	// Make sure the keychain works even when there is nothing to store yet
	// (an OAuth account signs in later): fail now, not at the first send.
	if _, err := s.secrets.Get(a.refreshTokenKey()); err != nil && !errors.Is(err, keychain.ErrNotFound) {
		return fmt.Errorf("account %s: %w", a.Name, err)
	}
	// Leftovers of an earlier account of the same name must not be reused.
	for _, k := range a.secretKeys() {
		if err := s.secrets.Delete(k); err != nil {
			return fmt.Errorf("account %s: %w", a.Name, err)
		}
	}
	stored := []string{}
	undo := func() {
		for _, k := range stored {
			s.secrets.Delete(k) //nolint:errcheck // best effort; the original error is reported.
		}
	}
	for _, kv := range []struct{ key, val string }{{a.passwordKey(), c.Password}, {a.clientSecretKey(), c.ClientSecret}} {
		if kv.val == "" {
			continue
		}
		if err := s.secrets.Set(kv.key, kv.val); err != nil {
			undo()
			return fmt.Errorf("account %s: %w", a.Name, err)
		}
		stored = append(stored, kv.key)
	}
	f.Accounts = append(f.Accounts, a)
	if err := s.write(f); err != nil {
		undo()
		return err
	}
	return nil
}

// Remove deletes the account's keychain entries and then its settings. If
// the keychain cannot be reached, the account is kept and the error says so.
func (s *Store) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.read()
	if err != nil {
		return err
	}
	idx := -1
	for i := range f.Accounts {
		if f.Accounts[i].Name == name {
			idx = i
		}
	}
	if idx < 0 {
		return fmt.Errorf("account %q: %w", name, ErrNotFound)
	}
	a := f.Accounts[idx]
	for _, k := range a.secretKeys() {
		if err := s.secrets.Delete(k); err != nil {
			return fmt.Errorf("account %s: remove secrets: %w", name, err)
		}
	}
	f.Accounts = append(f.Accounts[:idx], f.Accounts[idx+1:]...)
	return s.write(f)
}

// SetPassword replaces the account's password in the keychain.
func (s *Store) SetPassword(name, password string) error {
	a, err := s.Get(name)
	if err != nil {
		return err
	}
	if password == "" {
		return fmt.Errorf("account %s: empty password", name)
	}
	return s.secrets.Set(a.passwordKey(), password)
}

// RefreshStore returns where the OAuth refresh token of a lives: its
// keychain entry. For an account from a Store, it is also an
// oauth.RefreshLocker whose lock is a file next to accounts.json, so that
// every securesend process (the GUI, the CLI, the hot folder) refreshes the
// account's sign-in in turn.
func RefreshStore(a *Account, secrets Secrets) oauth.RefreshStore {
	rs := refreshStore{key: a.refreshTokenKey(), secrets: secrets}
	if a.lockDir == "" {
		return rs
	}
	return lockingRefreshStore{refreshStore: rs, lockPath: filepath.Join(a.lockDir, "account-"+a.Name+".oauth-lock")}
}

type refreshStore struct {
	key     string
	secrets Secrets
}

type lockingRefreshStore struct {
	refreshStore
	lockPath string
}

// refreshLockWait bounds the wait for another process's refresh.
const refreshLockWait = 2 * time.Minute

// LockRefresh takes the account's refresh lock (a lock file shared by all
// processes and by every Source in this one), waiting until ctx ends or
// for at most two minutes.
func (r lockingRefreshStore) LockRefresh(ctx context.Context) (func(), error) {
	ctx, cancel := context.WithTimeout(ctx, refreshLockWait)
	defer cancel()
	f, err := filelock.OpenFile(r.lockPath)
	if err != nil {
		return nil, fmt.Errorf("account: refresh lock %s: %w", r.lockPath, err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := filelock.TryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("account: refresh lock %s: %w", r.lockPath, err)
		}
		if ok {
			return func() {
				_ = filelock.Unlock(f)
				f.Close()
			}, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("account: refresh lock %s is held by another process: %w", r.lockPath, ctx.Err())
		case <-tick.C:
		}
	}
}

func (r refreshStore) Load() (string, error) {
	v, err := r.secrets.Get(r.key)
	if errors.Is(err, keychain.ErrNotFound) {
		return "", fmt.Errorf("oauth: %w", oauth.ErrSignInAgain)
	}
	return v, err
}

func (r refreshStore) Save(rt string) error { return r.secrets.Set(r.key, rt) }

// clientSecret reads the OAuth client secret; "" when there is none.
func clientSecret(a *Account, secrets Secrets) (string, error) {
	v, err := secrets.Get(a.clientSecretKey())
	if errors.Is(err, keychain.ErrNotFound) {
		return "", nil
	}
	return v, err
}

// password reads the account's password from the keychain.
func password(a *Account, secrets Secrets) (string, error) {
	v, err := secrets.Get(a.passwordKey())
	if errors.Is(err, keychain.ErrNotFound) {
		return "", fmt.Errorf("account %s: no password in the keychain; set it with 'securesend account password %s --password-stdin': %w", a.Name, a.Name, err)
	}
	if err != nil {
		return "", fmt.Errorf("account %s: %w", a.Name, err)
	}
	return v, nil
}

func (s *Store) read() (*file, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &file{Version: 1}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("account: read settings: %w", err)
	}
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("account: %s is damaged: %w", s.path, err)
	}
	for i := range f.Accounts {
		f.Accounts[i].lockDir = filepath.Dir(s.path)
	}
	return &f, nil
}

// write replaces accounts.json atomically, mode 0600.
func (s *Store) write(f *file) error {
	f.Version = 1
	sort.Slice(f.Accounts, func(i, j int) bool { return f.Accounts[i].Name < f.Accounts[j].Name })
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("account: encode settings: %w", err)
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	if err := atomicfile.WriteFile(s.path, append(data, '\n')); err != nil {
		return fmt.Errorf("account: write settings: %w", err)
	}
	return nil
}
