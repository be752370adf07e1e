// Package pgp holds securesend's OpenPGP keys: the user's own key and a
// store of correspondents' public keys bound to e-mail addresses with a
// trust state (pinned or unverified).
//
// It is built directly on github.com/ProtonMail/go-crypto rather than on
// gopenpgp/v3: the RFC 3156 layer needs streaming primitives (an
// io.WriteCloser that signs and encrypts, a reader whose signature verdict
// arrives at EOF, a hash that can be fed while the MIME is parsed), and
// exact control of the packet.Config so that what we write is read by
// GnuPG 2.2 (v4 keys, EdDSA-legacy Ed25519 primary + ECDH Curve25519
// subkey, SEIPD v1 with MDC, no AEAD, SHA-256, no compression). gopenpgp
// wraps the same primitives behind handles and profiles we would have to
// map back.
//
// Key protection. The user's private key is never on disk unprotected. It
// is stored as an armored OpenPGP secret key locked (S2K iterated+salted,
// AES-256) with a 32-byte random passphrase, and that passphrase lives only
// in the OS keychain (see crypto/keychain). The key itself is not put in
// the keychain because an armored Ed25519+X25519 secret key with its
// self-signatures is close to, and with more user IDs or an imported RSA
// key well beyond, the ~2.5 KB blob limit of the Windows Credential
// Manager; a 44-character passphrase always fits. The locked file alone
// does not yield the key; the keychain entry alone is not a key.
//
// Fingerprints are shown grouped in blocks of four hex digits
// (Fingerprint.Grouped), the form people compare aloud.
package pgp
