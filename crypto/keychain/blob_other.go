//go:build !windows

package keychain

// maxBlob: the Secret Service and the macOS Keychain have no limit that a
// securesend secret comes near, so a secret is always one entry.
const maxBlob = 0
