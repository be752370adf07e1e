// Package home locates the one per-user directory where securesend keeps all
// of its state (configuration, keys, stores, logs), and derives the keychain
// namespace for it so that two homes never share keychain entries.
//
// The directory is $SECURESEND_HOME when set (tests, portable installs),
// otherwise "securesend" under os.UserConfigDir.
package home

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// EnvVar is the environment variable that overrides the home directory.
const EnvVar = "SECURESEND_HOME"

// Home is a resolved securesend home directory.
type Home struct {
	// Dir is the absolute path of the directory.
	Dir string
}

// Resolve returns the home selected by getenv (os.Getenv when nil). It does
// not create the directory; see Ensure.
func Resolve(getenv func(string) string) (Home, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	dir := getenv(EnvVar)
	if dir == "" {
		cfg, err := os.UserConfigDir()
		if err != nil {
			return Home{}, fmt.Errorf("home: no user config directory (set %s): %w", EnvVar, err)
		}
		dir = filepath.Join(cfg, "securesend")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Home{}, fmt.Errorf("home: %w", err)
	}
	return Home{Dir: abs}, nil
}

// Ensure creates the home directory (mode 0700) if it does not exist.
func (h Home) Ensure() error {
	if err := os.MkdirAll(h.Dir, 0o700); err != nil {
		return fmt.Errorf("home: create %s: %w", h.Dir, err)
	}
	return nil
}

// Path joins elem onto the home directory.
func (h Home) Path(elem ...string) string {
	return filepath.Join(append([]string{h.Dir}, elem...)...)
}

// Sub returns the directory elem below home, created with mode 0700.
func (h Home) Sub(elem ...string) (string, error) {
	p := h.Path(elem...)
	if err := os.MkdirAll(p, 0o700); err != nil {
		return "", fmt.Errorf("home: create %s: %w", p, err)
	}
	return p, nil
}

// KeychainService is the keychain service name for this home:
// "securesend:" followed by a short hash of the directory, so that entries
// of two homes never collide.
func (h Home) KeychainService() string {
	sum := sha256.Sum256([]byte(h.Dir))
	return "securesend:" + hex.EncodeToString(sum[:6])
}
