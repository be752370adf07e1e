package pgp

import (
	"crypto"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
)

// maxDecompressed bounds what a compressed OpenPGP packet may expand to, so
// a compression bomb ends in an error instead of filling memory or disk.
const maxDecompressed = 1 << 30

// Config returns the go-crypto configuration securesend uses for every
// operation: output GnuPG 2.2 reads (v4 keys, Ed25519 legacy + Curve25519
// ECDH, SEIPD v1 with MDC, AES-256, SHA-256, no compression) and bounded
// decompression on input. now may be nil (time.Now).
func Config(now func() time.Time) *packet.Config {
	limit := int64(maxDecompressed)
	return &packet.Config{
		DefaultHash:                crypto.SHA256,
		DefaultCipher:              packet.CipherAES256,
		DefaultCompressionAlgo:     packet.CompressionNone,
		Algorithm:                  packet.PubKeyAlgoEdDSA,
		Curve:                      packet.Curve25519,
		Time:                       now,
		MaxDecompressedMessageSize: &limit,
		S2KConfig: &s2k.Config{
			S2KMode:  s2k.IteratedSaltedS2K,
			Hash:     crypto.SHA256,
			S2KCount: 65536, // the passphrase is 32 random bytes; stretching adds nothing
		},
	}
}
