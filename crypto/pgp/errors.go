package pgp

import "errors"

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
)
