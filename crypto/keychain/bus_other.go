//go:build !unix || darwin

package keychain

// checkSessionBus: only the Secret Service (other Unix systems) needs a
// D-Bus session bus.
func checkSessionBus() error { return nil }
