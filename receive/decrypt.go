package receive

import (
	"errors"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// errNotEncrypted: the OpenPGP message in a multipart/encrypted body is
// not encrypted.
var errNotEncrypted = errors.New("receive: OpenPGP message is not encrypted")

// openEncrypted reads the session key packets of an encrypted OpenPGP
// message from r, decrypts the session key with one of the unlocked secret
// keys in ring, and returns the decrypted packet stream of the encrypted
// data packet (SEIPD; go-crypto checks its MDC or AEAD tags, see
// sealedReader). It is the first half of openpgp.ReadMessage, in the same
// order and with the same checks (no passphrases: without a key of ours
// it is ErrKeyIncorrect, as ReadMessage without a prompt), so that the
// decryption can run on a goroutine of its own and the second half
// (openpgp.ReadMessage of the decrypted packets: decompression, signature
// hashing) on another.
func openEncrypted(r io.Reader, ring openpgp.EntityList, cfg *packet.Config) (io.ReadCloser, error) {
	type envelope struct {
		key openpgp.Key
		ek  *packet.EncryptedKey
	}
	var envelopes []envelope
	var edp packet.EncryptedDataPacket
	packets := packet.NewReader(r)
	for edp == nil {
		p, err := packets.Next()
		if err != nil {
			return nil, err
		}
		switch p := p.(type) {
		case *packet.EncryptedKey:
			switch p.Algo {
			case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSAEncryptOnly, packet.PubKeyAlgoElGamal, packet.PubKeyAlgoECDH,
				packet.PubKeyAlgoX25519, packet.PubKeyAlgoX448,
				packet.PubKeyAlgoMlkem768X25519, packet.PubKeyAlgoMlkem1024X448:
			default:
				continue
			}
			keys := ring.KeysById(p.KeyId)
			if p.KeyId == 0 {
				keys = ring.DecryptionKeys()
			}
			for _, k := range keys {
				envelopes = append(envelopes, envelope{k, p})
			}
		case *packet.SymmetricallyEncrypted:
			if !p.IntegrityProtected && !cfg.AllowUnauthenticatedMessages() {
				return nil, pgperrors.UnsupportedError("message is not integrity protected")
			}
			edp = p
		case *packet.AEADEncrypted:
			edp = p
		case *packet.Compressed, *packet.LiteralData, *packet.OnePassSignature:
			return nil, errNotEncrypted
		}
	}
	for _, e := range envelopes {
		if e.key.PrivateKey == nil || e.key.PrivateKey.Encrypted {
			continue
		}
		if len(e.ek.Key) == 0 {
			if err := e.ek.Decrypt(e.key.PrivateKey, cfg); err != nil {
				continue
			}
		}
		decrypted, err := edp.Decrypt(e.ek.CipherFunc, e.ek.Key)
		if err != nil && err != pgperrors.ErrKeyIncorrect {
			return nil, err
		}
		if decrypted != nil {
			return decrypted, nil
		}
	}
	return nil, pgperrors.ErrKeyIncorrect
}

// sealedReader reads the decrypted packet stream of an encrypted data
// packet. At its end it closes the stream, which is where go-crypto checks
// the SEIPDv1 MDC (SHA-1 over the plaintext) or the final AEAD tag: a
// failed check is returned instead of io.EOF, and recorded in err. It is
// read on a goroutine of its own (readAhead); err may be read once that
// goroutine has ended (aheadReader.Close).
type sealedReader struct {
	rc   io.ReadCloser
	err  error // the first error other than io.EOF
	done bool  // the stream ended and was checked
}

func (s *sealedReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.done {
		return 0, io.EOF
	}
	n, err := s.rc.Read(p)
	if err == io.EOF {
		s.done = true
		if cerr := s.rc.Close(); cerr != nil {
			err = cerr
		}
	}
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}
