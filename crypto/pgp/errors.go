package pgp

import (
	"errors"
	"fmt"
	"strings"
)

// Errors callers branch on with errors.Is. Messages are meant for users.
var (
	// ErrNotFound: no key with that fingerprint or address in the store.
	ErrNotFound = errors.New("no such key in the key store")
	// ErrAddressNotInKey: the key's user IDs do not include the address it
	// would be bound to.
	ErrAddressNotInKey = errors.New("the key's user IDs do not include that e-mail address")
	// ErrNoAddress: the key has no user ID with an e-mail address.
	ErrNoAddress = errors.New("the key has no user ID with an e-mail address")
	// ErrExpired: the key (or its encryption subkey) has expired.
	ErrExpired = errors.New("the key has expired")
	// ErrRevoked: the key has been revoked by its owner.
	ErrRevoked = errors.New("the key has been revoked")
	// ErrNotUsable: the key has no valid encryption or signing (sub)key.
	ErrNotUsable = errors.New("the key has no usable encryption or signing subkey")
	// ErrBadKey: the input is not a readable OpenPGP key.
	ErrBadKey = errors.New("not a readable OpenPGP key")
	// ErrWrongPassphrase: the passphrase does not unlock the secret key.
	ErrWrongPassphrase = errors.New("the passphrase does not unlock the secret key")
	// ErrNoSecretKey: the store holds no secret key of the user's own.
	ErrNoSecretKey = errors.New("no key of your own yet; create one with 'securesend keys generate' or import one with 'securesend keys import --secret'")
	// ErrSecretLocked: the secret key's passphrase is missing from the OS
	// keychain, so the on-disk copy cannot be unlocked.
	ErrSecretLocked = errors.New("the passphrase for your secret key is missing from the OS keychain, so the key cannot be unlocked")
	// ErrPinNeedsAddress: a key with more than one address was to be
	// pinned without naming the addresses to bind (see PinNeedsAddressError).
	ErrPinNeedsAddress = errors.New("the key has more than one address; name the ones to pin it for")
	// ErrPinConflict: the address is already pinned to another key (see
	// PinConflictError).
	ErrPinConflict = errors.New("the address is already pinned to another key")
	// ErrBindNeedsPin: an address was to be added to a pinned key without
	// pinning: every address of a pinned key must be confirmed.
	ErrBindNeedsPin = errors.New("the key is pinned; binding it to another address needs the fingerprint compared again and --pin")
)

// PinNeedsAddressError is returned when a key that carries more than one
// address is pinned without naming which addresses it is pinned for: each
// must be confirmed, since a key may claim any address about itself. It
// matches ErrPinNeedsAddress with errors.Is.
type PinNeedsAddressError struct {
	Fingerprint Fingerprint
	// Addresses are the key's addresses (lower case).
	Addresses []string
}

func (e *PinNeedsAddressError) Error() string {
	return fmt.Sprintf("pgp: key %s has %d addresses (%s); a key may claim any address about itself, so name each address you confirmed with its owner: --email ADDRESS (repeat for more than one)",
		e.Fingerprint.Grouped(), len(e.Addresses), strings.Join(e.Addresses, ", "))
}

// Is reports whether target is ErrPinNeedsAddress.
func (e *PinNeedsAddressError) Is(target error) bool { return target == ErrPinNeedsAddress }

// PinConflictError is returned when an address is to be pinned to a key
// while another key is pinned for it. It matches ErrPinConflict with
// errors.Is.
type PinConflictError struct {
	// Address is the contested address (lower case).
	Address string
	// Other is the key the address is pinned to now.
	Other Fingerprint
	// OtherIsOwn marks Other as one of the user's own keys: its addresses
	// are never moved to another key, even with Replace.
	OtherIsOwn bool
}

func (e *PinConflictError) Error() string {
	if e.OtherIsOwn {
		return fmt.Sprintf("pgp: %s is bound to your own key %s; it cannot be pinned to another key", e.Address, e.Other.Grouped())
	}
	return fmt.Sprintf("pgp: %s is already pinned to another key, %s; if the owner confirmed that the new key replaces it, pin again with --replace (or delete the other key)",
		e.Address, e.Other.Grouped())
}

// Is reports whether target is ErrPinConflict.
func (e *PinConflictError) Is(target error) bool { return target == ErrPinConflict }
