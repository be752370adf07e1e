// Package atrest encrypts securesend's files at rest (the outbox, sent
// copies, the inbox store) with a 256-bit key held in the OS keychain.
//
// The format is a standard OpenPGP symmetrically encrypted message
// (RFC 9580): a version 6 Symmetric-Key Encrypted Session Key packet
// followed by a version 2 Symmetrically Encrypted and Integrity Protected
// Data packet (AES-256, GCM, 256 KiB chunks), produced and parsed by
// github.com/ProtonMail/go-crypto. No cryptographic primitive is written
// here. Because the key is 32 random bytes, not a password, it is fed to a
// salted (not iterated) S2K as the passphrase: stretching it would only
// cost time.
//
// GCM (RFC 9580 AEAD mode 3) goes through the standard library's AES-GCM,
// which uses the CPU's AES and carry-less multiply instructions; go-crypto's
// OCB is pure Go and about ten times slower. The mode and the chunk size are
// recorded in every file, so files written with OCB (before this package
// switched to GCM) still decrypt; only new files are written with GCM. The
// chunk size bounds memory (one chunk buffered each way) and how much
// plaintext is held back until its chunk is authenticated; larger chunks
// are not faster.
//
// Promises:
//   - Encrypt and Decrypt stream: memory use does not grow with the size of
//     the data.
//   - Every chunk is authenticated before any of its plaintext is returned,
//     and so are the end and the total length: a file that was altered,
//     truncated or extended makes Decrypt's reader fail with ErrTampered, at
//     the latest when it reaches the end (the reader returns io.EOF only
//     after the final authentication tag has been checked). Callers must
//     read to io.EOF and discard everything on error.
//   - A wrong key fails with ErrWrongKey before any plaintext is returned.
//
// It refuses: keys that are not 32 bytes, unencrypted or
// non-integrity-protected input.
package atrest

import (
	"errors"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
)

// KeySize is the length in bytes of an at-rest key.
const KeySize = 32

var (
	// ErrKeySize means the key is not KeySize bytes long.
	ErrKeySize = errors.New("atrest: the key must be 32 bytes")
	// ErrWrongKey means the data was encrypted with another key (for
	// example the keychain entry was replaced), so it cannot be read.
	ErrWrongKey = errors.New("atrest: the stored data was encrypted with a different key (was the keychain entry replaced?)")
	// ErrNotEncrypted means the input is not an at-rest encrypted file.
	ErrNotEncrypted = errors.New("atrest: the data is not an encrypted securesend file")
	// ErrTampered means the data was altered, truncated or corrupted after
	// it was written; nothing read from it may be trusted.
	ErrTampered = errors.New("atrest: the stored data was altered or is incomplete; do not use it")
)

// chunkSize is the AEAD chunk size of new files. go-crypto's default;
// stated here because the format depends on it. 64 KiB to 1 MiB run at the
// same speed with GCM (BenchmarkEncrypt, BenchmarkDecrypt); 4 MiB is
// slower to write.
const chunkSize = 256 << 10

// config returns the OpenPGP configuration for writing.
func config() *packet.Config {
	return &packet.Config{
		DefaultCipher:          packet.CipherAES256,
		DefaultCompressionAlgo: packet.CompressionNone,
		AEADConfig:             &packet.AEADConfig{DefaultMode: packet.AEADModeGCM, ChunkSize: chunkSize},
		S2KConfig: &s2k.Config{
			S2KMode:                 s2k.SaltedS2K,
			PassphraseIsHighEntropy: true,
		},
	}
}

// Encrypt returns a writer that encrypts everything written to it with key
// and writes the ciphertext to w. Close must be called to write the final
// authentication tag; it does not close w.
func Encrypt(w io.Writer, key []byte) (io.WriteCloser, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	pt, err := openpgp.SymmetricallyEncrypt(w, key, &openpgp.FileHints{IsBinary: true}, config())
	if err != nil {
		return nil, fmt.Errorf("atrest: encrypt: %w", err)
	}
	return pt, nil
}

// Decrypt returns a reader of the plaintext of r, which must have been
// written by Encrypt with the same key. Errors while reading wrap
// ErrTampered; the plaintext read so far must then be discarded.
func Decrypt(r io.Reader, key []byte) (io.Reader, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	tried := false
	prompt := func(_ []openpgp.Key, symmetric bool) ([]byte, error) {
		if !symmetric || tried {
			return nil, ErrWrongKey
		}
		tried = true
		return key, nil
	}
	md, err := openpgp.ReadMessage(r, nil, prompt, &packet.Config{})
	switch {
	case errors.Is(err, ErrWrongKey):
		return nil, ErrWrongKey
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("%w (%v)", ErrTampered, err)
	case err != nil:
		// A failed tag in the first chunk (go-crypto reads it to parse the
		// literal packet) is DecryptWithSessionKeyError: the key was right,
		// since the session key packet decrypted, so the data is damaged.
		var se pgperrors.StructuralError
		var de pgperrors.DecryptWithSessionKeyError
		if errors.As(err, &se) || errors.As(err, &de) {
			return nil, fmt.Errorf("%w (%v)", ErrTampered, err)
		}
		return nil, fmt.Errorf("%w (%v)", ErrNotEncrypted, err)
	}
	if !md.IsSymmetricallyEncrypted || md.IsSigned {
		return nil, ErrNotEncrypted
	}
	return &reader{r: md.UnverifiedBody, src: r}, nil
}

// reader maps every read error except io.EOF to ErrTampered, and at the end
// of the plaintext checks that nothing follows the encrypted packet.
type reader struct {
	r   io.Reader // plaintext
	src io.Reader // ciphertext, positioned after the packet at the end
	err error
}

func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.r.Read(p)
	switch {
	case err == io.EOF:
		var one [1]byte
		if m, _ := io.ReadFull(r.src, one[:]); m > 0 {
			r.err = fmt.Errorf("%w (data after the end)", ErrTampered)
			return n, r.err
		}
		r.err = io.EOF
	case err != nil:
		r.err = fmt.Errorf("%w (%v)", ErrTampered, err)
	}
	return n, r.err
}
