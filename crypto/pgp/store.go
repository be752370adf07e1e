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
	"slices"
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
	// Emails are the addresses the key is bound to (lower case): the
	// ones the user named or confirmed. Only these count, to verify a
	// sender (when Trust is Pinned) and to choose a key to encrypt to. A
	// key is never bound to an address its user IDs do not carry.
	Emails []string `json:"emails"`
	// Claimed are all the addresses of the key's user IDs, bound or not:
	// what the key says about itself, which proves nothing.
	Claimed []string  `json:"claimed,omitempty"`
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
	// volatile stores skip the flushes to disk (OpenVolatileStore).
	volatile bool
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

// OpenVolatileStore opens a key store in dir as OpenStore does, for a
// store that does not outlive the process (demo mode's, in a temporary
// directory removed at exit): every change is still atomic for readers
// (a temporary file renamed into place) but is not flushed to disk, so a
// crash may lose it. Making the demo's two key stores at every start took
// 20 fsyncs, 50-150 ms of waiting on a busy disk before the first frame.
func OpenVolatileStore(dir string, secrets Secrets, now func() time.Time) (*Store, error) {
	s, err := OpenStore(dir, secrets, now)
	if err != nil {
		return nil, err
	}
	s.volatile = true
	return s, nil
}

// ImportOptions controls Import.
type ImportOptions struct {
	// Emails are the addresses to bind the key to; each must be carried
	// by one of the key's self-signed user IDs (else ErrAddressNotInKey).
	// With Pin, exactly these are pinned (plus those already pinned);
	// without, a key with exactly one address is bound (unverified) to it
	// on its first import, and a key with more addresses to none of them.
	// A re-import never binds more than it names.
	Emails []string
	// Pin marks the key pinned for Emails: the user compared the
	// fingerprint with the owner of each address. Without Emails, a key
	// with one address is pinned for it; one with more is refused
	// (*PinNeedsAddressError) unless it is already bound.
	Pin bool
	// Replace, with Pin, moves an address pinned to another key to this
	// one (the owner confirmed the new key replaces the old). Without it
	// such an address is refused (*PinConflictError).
	Replace bool
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
		return sortKey(es[i]) < sortKey(es[j])
	})
	return es, nil
}

func sortKey(e Entry) string {
	if len(e.Emails) > 0 {
		return strings.Join(e.Emails, ",")
	}
	return "~" + strings.Join(e.Claimed, ",")
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

// Import adds a correspondent's public key (armored or binary) and binds
// it to the addresses opts names (see ImportOptions). A key already
// present is replaced (refreshing signatures, revocations) and keeps its
// trust and its bound addresses: a re-import never widens them. Keys that
// are revoked or expired are stored but never used to encrypt.
func (s *Store) Import(r io.Reader, opts ImportOptions) (Entry, error) {
	k, err := ReadPublicKey(r)
	if err != nil {
		return Entry{}, err
	}
	return s.add(k, opts, false)
}

// namedAddresses normalizes the addresses named for k, refusing any that
// is not an address or that none of k's user IDs carries.
func namedAddresses(k *PublicKey, names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		addr := normalizeAddress(n)
		if addr == "" {
			return nil, fmt.Errorf("pgp: bind %s to %q: not an e-mail address: %w", k.Fingerprint().Grouped(), n, ErrAddressNotInKey)
		}
		if !k.HasEmail(addr) {
			return nil, fmt.Errorf("pgp: bind %s to %s (key has %s): %w",
				k.Fingerprint().Grouped(), addr, strings.Join(k.Emails(), ", "), ErrAddressNotInKey)
		}
		if !contains(out, addr) {
			out = append(out, addr)
		}
	}
	return out, nil
}

func (s *Store) add(k *PublicKey, opts ImportOptions, secret bool) (Entry, error) {
	claimed := k.Emails()
	if len(claimed) == 0 {
		return Entry{}, fmt.Errorf("pgp: import %s: %w", k.Fingerprint().Grouped(), ErrNoAddress)
	}
	named, err := namedAddresses(k, opts.Emails)
	if err != nil {
		return Entry{}, err
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
	i := indexOf(es, k.Fingerprint())
	if i < 0 {
		es = append(es, Entry{Fingerprint: k.Fingerprint(), Trust: Unverified, Added: s.now().UTC()})
		i = len(es) - 1
		if !opts.Pin && !secret && len(named) == 0 && len(claimed) == 1 && !pinnedElsewhere(es, i, claimed[0]) {
			// A key with a single address, first imported: bound to it,
			// unverified (to encrypt to; never Verified until pinned),
			// unless the user pinned another key for that address: then
			// it only claims it (an impostor, or a new key of the owner
			// that needs its own pin with Replace).
			named = claimed
		}
	}
	e := &es[i]
	e.UserIDs, e.Claimed = k.UserIDs(), claimed
	e.Emails = append([]string(nil), e.Emails...)
	switch {
	case secret:
		// The user's own key: they hold it, so all its addresses are theirs.
		e.Secret, e.Trust = true, Pinned
		e.Emails = union(e.Emails, claimed)
	case opts.Pin:
		if err := pinEntry(es, i, k, named, opts.Replace); err != nil {
			return Entry{}, err
		}
	case pinned(*e):
		for _, a := range named {
			if !contains(e.Emails, a) {
				return Entry{}, fmt.Errorf("pgp: import %s for %s (pinned for %s): %w",
					k.Fingerprint().Grouped(), a, strings.Join(e.Emails, ", "), ErrBindNeedsPin)
			}
		}
	default:
		e.Emails = union(e.Emails, named)
	}
	out := *e
	if err := s.writeFile(s.publicPath(out.Fingerprint), buf.Bytes()); err != nil {
		return Entry{}, err
	}
	if err := s.save(es); err != nil {
		return Entry{}, err
	}
	return out, nil
}

// pinned reports whether e counts as pinned: pinned by the user, or the
// user's own key.
func pinned(e Entry) bool { return e.Trust == Pinned || e.Secret }

// pinnedElsewhere reports whether addr is pinned to an entry of es other
// than es[i].
func pinnedElsewhere(es []Entry, i int, addr string) bool {
	for j, o := range es {
		if j != i && pinned(o) && contains(o.Emails, addr) {
			return true
		}
	}
	return false
}

// pinEntry pins es[i] (the entry of k) for named, the addresses the user
// confirmed: with none named, the addresses it is already bound to, or
// else the key's only address. An entry that was not pinned before is
// bound to exactly these; a pinned one keeps its addresses and gains
// these. An address pinned to another key is a *PinConflictError unless
// replace, which unbinds it from the other key (never from an own key).
func pinEntry(es []Entry, i int, k *PublicKey, named []string, replace bool) error {
	e := &es[i]
	if len(named) == 0 {
		var bound []string // still carried by a user ID
		for _, a := range e.Emails {
			if k.HasEmail(a) {
				bound = append(bound, a)
			}
		}
		switch claimed := k.Emails(); {
		case len(bound) > 0:
			named = bound
		case len(claimed) == 1:
			named = claimed
		default:
			return &PinNeedsAddressError{Fingerprint: e.Fingerprint, Addresses: claimed}
		}
	}
	var before []string // addresses pinned to this key already
	if pinned(*e) {
		before = e.Emails
	}
	for _, a := range named {
		for j := range es {
			o := &es[j]
			if j == i || !pinned(*o) || !contains(o.Emails, a) {
				continue
			}
			conflict := &PinConflictError{Address: a, Other: o.Fingerprint, OtherIsOwn: o.Secret}
			if o.Secret || (!replace && !contains(before, a)) {
				return conflict
			}
			if replace {
				o.Emails = remove(o.Emails, a)
			}
		}
	}
	e.Emails = union(append([]string(nil), before...), named)
	e.Trust = Pinned
	return nil
}

// Pin marks fpr pinned, the user having compared its fingerprint with its
// owner, for the addresses it is bound to (a key imported with Emails),
// or else for its only address. A key with more than one address and none
// bound is refused with *PinNeedsAddressError: use PinAddress. An address
// pinned to another key is refused with *PinConflictError.
func (s *Store) Pin(fpr Fingerprint) error {
	return s.pin(fpr, nil, false)
}

// PinAddress pins fpr for addr, which one of its user IDs must carry
// (else ErrAddressNotInKey): the user compared the fingerprint with the
// owner of addr. The key's other pinned addresses stay; an unpinned key's
// unconfirmed bindings are dropped. If addr is pinned to another key, it
// is moved to fpr when replace is set, else *PinConflictError is returned.
// The addresses of the user's own keys are never moved.
func (s *Store) PinAddress(fpr Fingerprint, addr string, replace bool) error {
	return s.PinAddresses(fpr, []string{addr}, replace)
}

// PinAddresses is PinAddress for several addresses at once: all are
// pinned, or (on any error) none.
func (s *Store) PinAddresses(fpr Fingerprint, addrs []string, replace bool) error {
	if len(addrs) == 0 {
		return fmt.Errorf("pgp: pin %s: no address named: %w", fpr.Grouped(), ErrAddressNotInKey)
	}
	return s.pin(fpr, addrs, replace)
}

func (s *Store) pin(fpr Fingerprint, addrs []string, replace bool) error {
	k, err := s.Public(fpr)
	if err != nil {
		return err
	}
	named, err := namedAddresses(k, addrs)
	if err != nil {
		return err
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	es, err := s.load()
	if err != nil {
		return err
	}
	i := indexOf(es, fpr)
	if i < 0 {
		return fmt.Errorf("pgp: pin %s: %w", fpr.Grouped(), ErrNotFound)
	}
	if err := pinEntry(es, i, k, named, replace); err != nil {
		return err
	}
	return s.save(es)
}

// PinnedFor returns the entries pinned for addr (own keys included). More
// than one means a conflict the user must resolve (PinAddress with
// replace, or Delete) before mail from addr can be Verified.
func (s *Store) PinnedFor(addr string) ([]Entry, error) {
	return s.boundTo(addr, true)
}

// BoundTo returns the entries bound to addr, pinned or not (what
// "keys export ADDRESS" exports), pinned ones first.
func (s *Store) BoundTo(addr string) ([]Entry, error) {
	out, err := s.boundTo(addr, false)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return pinned(out[i]) && !pinned(out[j]) })
	return out, nil
}

// boundTo returns the entries whose addresses include addr (normalized;
// none for an empty or unparsable one), only the pinned ones when
// pinnedOnly, in the store's order.
func (s *Store) boundTo(addr string, pinnedOnly bool) ([]Entry, error) {
	addr = normalizeAddress(addr)
	es, err := s.load()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, e := range es {
		if addr != "" && (!pinnedOnly || pinned(e)) && contains(e.Emails, addr) {
			out = append(out, e)
		}
	}
	return out, nil
}

func indexOf(es []Entry, fpr Fingerprint) int {
	for i, e := range es {
		if e.Fingerprint == fpr {
			return i
		}
	}
	return -1
}

// union returns list with the elements of add not yet in it appended.
func union(list, add []string) []string {
	for _, a := range add {
		if !contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}

// remove returns a copy of list without s.
func remove(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
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
	if err := s.writeFile(s.secretPath(fpr), locked); err != nil {
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

// Lookup returns the key to encrypt to addr: a key bound to addr (see
// Entry.Emails; claimed is not enough) whose user ID for addr is not
// revoked and that is usable for encryption now, preferring pinned keys,
// then the newest. When a key is pinned for addr only pinned keys are
// candidates: a pinned key that is revoked or expired is never replaced
// by an unpinned one that is merely bound to the address (an impostor's
// key imported earlier would otherwise receive the mail). It returns
// ErrNotFound when the store has no key for addr, or the reason
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
	anyPinned := slices.ContainsFunc(es, func(e Entry) bool { return pinned(e) && contains(e.Emails, addr) })
	var lastErr error
	for _, e := range es {
		if addr == "" || !contains(e.Emails, addr) || (anyPinned && !pinned(e)) {
			continue
		}
		k, err := s.Public(e.Fingerprint)
		if err != nil {
			lastErr = err
			continue
		}
		if !k.HasEmail(addr) {
			lastErr = fmt.Errorf("pgp: key %s no longer has a valid user ID for %s: %w", e.Fingerprint.Grouped(), addr, ErrNotUsable)
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
	return s.writeFile(s.indexPath(), append(data, '\n'))
}

// writeFile replaces path with data (mode 0600), atomically and durably,
// or, in a volatile store, atomically only.
func (s *Store) writeFile(path string, data []byte) error {
	write := atomicfile.WriteFile
	if s.volatile {
		write = replaceFile
	}
	if err := write(path, data); err != nil {
		return fmt.Errorf("pgp: key store: %w", err)
	}
	return nil
}

// replaceFile is atomicfile.WriteFile without its flushes: a temporary
// file (mode 0600) renamed over path.
func replaceFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing left
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return atomicfile.Rename(f.Name(), path)
}
