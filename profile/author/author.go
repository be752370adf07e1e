// Package author is the organisation administrator's side of the
// organisation profile: creating the admin key (with its passphrase kept
// in the OS keychain), writing, extending and signing a profile, reading
// a signed profile bundle from disk and finding the securesend source an
// installer is built from.
//
// It leaves the profile's format, signature and policy to package
// profile, and building installers to package packaging; the command
// line ("securesend admin") parses flags, calls it and prints.
package author

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/profile"
)

// The files GenerateKey writes.
const (
	// PublicKeyFile is the armored public admin key, pinned into
	// installers.
	PublicKeyFile = "admin-key.asc"
	// PrivateKeyFile is the armored private admin key, encrypted with
	// its passphrase; it belongs offline.
	PrivateKeyFile = "admin-key.private.asc"
)

// PassphraseEntry is the name of the keychain entry that holds the
// passphrase of the admin key with this fingerprint.
func PassphraseEntry(fingerprint string) string {
	return "admin-key-passphrase/" + profile.NormalizeFingerprint(fingerprint)
}

// Passphrase says where an admin key's passphrase comes from: Given when
// it is not empty, else the keychain entry PassphraseEntry in Keychain.
type Passphrase struct {
	Given    []byte
	Keychain *keychain.Keychain
}

// ErrNoPassphrase is returned when neither a passphrase is given nor one
// is kept in the keychain for the key.
var ErrNoPassphrase = errors.New("no passphrase for the admin key")

// ErrKeepPassphrase is returned when a generated passphrase could not be
// kept in the keychain; no key file is written then.
var ErrKeepPassphrase = errors.New("keep the passphrase in the keychain")

// resolve returns the passphrase for the admin key whose public part
// (or private part: both carry the fingerprint) is key.
func (p Passphrase) resolve(key []byte) ([]byte, error) {
	if len(p.Given) > 0 {
		return p.Given, nil
	}
	if p.Keychain == nil {
		return nil, ErrNoPassphrase
	}
	_, fp, err := profile.ParsePublicKey(key)
	if err != nil {
		return nil, err
	}
	s, err := p.Keychain.Get(PassphraseEntry(fp))
	if err != nil {
		return nil, fmt.Errorf("%w %s in the keychain (%v)", ErrNoPassphrase, fp, err)
	}
	return []byte(s), nil
}

// KeyFiles is an admin key GenerateKey wrote.
type KeyFiles struct {
	Fingerprint     string
	Public, Private string // paths
	// InKeychain is true when the passphrase was generated and is kept
	// only in the keychain.
	InKeychain bool
}

// GenerateKey creates the organisation admin key for name and email and
// writes PublicKeyFile (0644) and PrivateKeyFile (0600) into dir, refusing
// to replace existing files unless force. With pass.Given the private key
// is protected with it; otherwise a random 256-bit passphrase is
// generated and kept in pass.Keychain (PassphraseEntry) before any file
// is written, so a key is never written whose passphrase is lost.
func GenerateKey(dir, name, email string, pass Passphrase, force bool) (*KeyFiles, error) {
	if name == "" || email == "" {
		return nil, errors.New("the admin key needs a name and an e-mail address")
	}
	secret := pass.Given
	if len(secret) == 0 {
		if pass.Keychain == nil {
			return nil, ErrNoPassphrase
		}
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		secret = []byte(base64.RawStdEncoding.EncodeToString(raw))
	}
	k, err := profile.GenerateAdminKey(name, email, secret)
	if err != nil {
		return nil, err
	}
	files := &KeyFiles{Fingerprint: k.Fingerprint, Public: filepath.Join(dir, PublicKeyFile), Private: filepath.Join(dir, PrivateKeyFile)}
	if len(pass.Given) == 0 {
		if err := pass.Keychain.Set(PassphraseEntry(k.Fingerprint), string(secret)); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKeepPassphrase, err)
		}
		files.InKeychain = true
	}
	if err := WriteNew(files.Private, k.Private, 0o600, force); err != nil {
		return nil, err
	}
	if err := WriteNew(files.Public, k.Public, 0o644, force); err != nil {
		return nil, err
	}
	return files, nil
}

// WriteNew writes data to path with mode, refusing to replace an
// existing file unless force.
func WriteNew(path string, data []byte, mode os.FileMode, force bool) error {
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if !force {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, mode)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists (use --force to replace it)", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteExample writes the commented example profile for the organisation
// org to path (see WriteNew).
func WriteExample(path, org string, force bool) error {
	return WriteNew(path, profile.Example(org), 0o644, force)
}

// ErrInvalidProfile wraps why a profile file does not parse.
var ErrInvalidProfile = errors.New("fix the profile first")

// AddRecipient appends a directory entry for r to the profile file at
// path and returns the profile with it. The file must parse before, and
// must parse with the entry (its key an OpenPGP public key with an
// identity for r.Email and an encryption subkey); otherwise it is left
// unchanged. The file is replaced atomically, keeping its mode.
func AddRecipient(path string, r profile.Recipient) (*profile.Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if _, err := profile.Parse(data); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidProfile, err)
	}
	next := append(append([]byte(nil), data...), profile.RecipientTOML(r)...)
	p, err := profile.Parse(next)
	if err != nil {
		return nil, fmt.Errorf("not added: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(path, next); err != nil {
		return nil, err
	}
	if err := os.Chmod(path, fi.Mode().Perm()); err != nil {
		return nil, err
	}
	return p, nil
}

// SignFile checks the profile at path and writes its detached signature
// with the private admin key in keyFile to sigFile; the passphrase comes
// from pass. It returns the signed profile.
func SignFile(path, keyFile, sigFile string, pass Passphrase) (*profile.Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	secret, err := pass.resolve(key)
	if err != nil {
		return nil, err
	}
	sig, err := profile.Sign(data, key, secret)
	if err != nil {
		return nil, err
	}
	p, err := profile.Parse(data)
	if err != nil { // Sign checked it; a file changed in between
		return nil, err
	}
	if err := atomicfile.WriteFile(sigFile, sig); err != nil {
		return nil, err
	}
	return p, os.Chmod(sigFile, 0o644)
}

// Bundle names a signed profile on disk: the profile, its detached
// signature (Profile+".sig" when empty; a missing signature file reads as
// unsigned), the public admin key and the fingerprint the key must have
// (the key file's own when empty).
type Bundle struct {
	Profile, Signature, Key, Fingerprint string
}

// Read reads the bundle's files.
func (b Bundle) Read() (profile.Baked, error) {
	sigPath := b.Signature
	if sigPath == "" {
		sigPath = b.Profile + ".sig"
	}
	data, err := os.ReadFile(b.Profile)
	if err != nil {
		return profile.Baked{}, err
	}
	sig, err := os.ReadFile(sigPath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return profile.Baked{}, err
	}
	key, err := os.ReadFile(b.Key)
	if err != nil {
		return profile.Baked{}, err
	}
	fp := b.Fingerprint
	if fp == "" {
		if _, fp, err = profile.ParsePublicKey(key); err != nil {
			return profile.Baked{}, err
		}
	}
	return profile.Baked{Profile: data, Signature: sig, AdminKey: key, Fingerprint: profile.NormalizeFingerprint(fp)}, nil
}

// Verify reads the bundle and checks that its profile is valid and
// signed by its admin key; it returns the bundle as read and the profile.
func (b Bundle) Verify() (profile.Baked, *profile.Profile, error) {
	baked, err := b.Read()
	if err != nil {
		return profile.Baked{}, nil, err
	}
	p, err := profile.Verify(baked.Profile, baked.Signature, baked.AdminKey, baked.Fingerprint)
	return baked, p, err
}

// Load reads and verifies the bundle as the app loads a baked profile
// (no rollback floor: it is a file under review, not the one in force);
// the result's Source is the profile's path.
func (b Bundle) Load() (*profile.Loaded, error) {
	baked, err := b.Read()
	if err != nil {
		return nil, err
	}
	l, err := profile.Load(profile.LoadOptions{Baked: baked})
	if err != nil {
		return nil, err
	}
	l.Source = b.Profile
	return l, nil
}

// ModulePath is the securesend Go module.
const ModulePath = "github.com/securesend/securesend"

// FindSource walks up from dir to the root of the securesend module (the
// directory whose go.mod declares ModulePath), which installers are built
// from.
func FindSource(dir string) (string, error) {
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && declaresModule(data) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("the securesend source was not found above the current directory; give it with --src")
		}
		dir = parent
	}
}

// declaresModule reports whether go.mod data declares ModulePath.
func declaresModule(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == ModulePath {
			return true
		}
	}
	return false
}
