package pgpmime

import (
	"crypto"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/klauspost/compress/flate"
)

// signEncrypt returns a writer that signs what it is given (one-pass
// signature, binary literal data, signature: go-crypto's openpgp.Sign) and
// encrypts it to every entity of to (SEIPD v1 with MDC: go-crypto's
// packet.SerializeEncryptedKeyAEAD and packet.SerializeSymmetricallyEncrypted),
// writing the OpenPGP message to ct. It makes the same choices as
// go-crypto's openpgp.Encrypt (cipher, hash and compression from the
// intersection of the keys' preferences, the configured ones when they are
// in it) and writes the same packets, with one difference in how: when
// every key lists ZIP, the signed data is deflated Huffman-only by
// klauspost/compress (about twice the speed of compress/flate, which
// go-crypto uses and offers no way to replace) and framed here in 64 KiB
// partial-length chunks (go-crypto's framing passes the compressor's
// 240-byte writes on as 512-byte ones, each a separate SHA-1, CFB and
// allocation). The cipher mode, the MDC and the signature stay go-crypto's.
//
// Close must be called after the last write; it finishes every layer.
func signEncrypt(ct io.Writer, to openpgp.EntityList, signer *openpgp.Entity, hints *openpgp.FileHints, cfg *packet.Config) (io.WriteCloser, error) {
	if len(to) == 0 {
		return nil, errors.New("no encryption recipient")
	}
	if cfg.AEAD() != nil {
		// securesend writes SEIPD v1 only (GnuPG 2.2 cannot read v2).
		return nil, errors.New("AEAD (SEIPD v2) is not written by securesend")
	}
	ciphers := []uint8{uint8(packet.CipherAES256), uint8(packet.CipherAES128)}
	hashes := []uint8{hashID(crypto.SHA256), hashID(crypto.SHA384), hashID(crypto.SHA512), hashID(crypto.SHA3_256), hashID(crypto.SHA3_512)}
	compressions := []uint8{uint8(packet.CompressionNone), uint8(packet.CompressionZIP), uint8(packet.CompressionZLIB)}
	keys := make([]openpgp.Key, len(to))
	for i, e := range to {
		k, ok := e.EncryptionKey(cfg.Now())
		if !ok {
			return nil, fmt.Errorf("cannot encrypt a message to key id %s because it has no valid encryption keys", strconv.FormatUint(e.PrimaryKey.KeyId, 16))
		}
		keys[i] = k
		self, _ := e.PrimarySelfSignature()
		if self == nil {
			return nil, errors.New("entity without a self-signature")
		}
		ciphers = intersect(ciphers, self.PreferredSymmetric)
		hashes = intersect(hashes, self.PreferredHash)
		compressions = intersect(compressions, self.PreferredCompression)
	}
	// The fallbacks are RFC 9580's MUST algorithms, as go-crypto's.
	cipher := packet.CipherAES128
	if len(ciphers) > 0 {
		cipher = packet.CipherFunction(ciphers[0])
		if slices.Contains(ciphers, uint8(cfg.Cipher())) {
			cipher = cfg.Cipher()
		}
	}
	if len(hashes) == 0 {
		hashes = []uint8{hashID(crypto.SHA256)}
	}

	symKey := make([]byte, cipher.KeySize())
	if _, err := io.ReadFull(cfg.Random(), symKey); err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := packet.SerializeEncryptedKeyAEAD(ct, k.PublicKey, cipher, false, symKey, cfg); err != nil {
			return nil, err
		}
	}
	seipd, err := packet.SerializeSymmetricallyEncrypted(ct, cipher, false, packet.CipherSuite{}, symKey, cfg)
	if err != nil {
		return nil, err
	}
	layers := &layered{closers: []io.Closer{seipd}}
	var signed io.Writer = seipd
	if cfg.Compression() == packet.CompressionZIP && slices.Contains(compressions, uint8(packet.CompressionZIP)) {
		level := flate.HuffmanOnly
		if cfg.CompressionConfig != nil {
			level = cfg.CompressionConfig.Level
		}
		pw := newPartialWriter(seipd, packetTagCompressed, []byte{uint8(packet.CompressionZIP)})
		zw, err := flate.NewWriter(pw, level)
		if err != nil {
			return nil, err
		}
		layers.closers = append([]io.Closer{zw, pw}, layers.closers...)
		signed = zw
	}
	// openpgp.Encrypt chooses the signature's hash among the hashes every
	// recipient lists (SHA-256 when they share none), as acceptable for the
	// signing key, the configured one first; openpgp.Sign chooses among
	// the signer's own preferences instead. Sign is given a view of the
	// signer that lists exactly the recipients' hashes, so that it chooses
	// as Encrypt does.
	pt, err := openpgp.Sign(signed, withHashPrefs(signer, hashes), hints, cfg)
	if err != nil {
		return nil, err
	}
	layers.Writer = pt
	layers.closers = append([]io.Closer{pt}, layers.closers...)
	return layers, nil
}

// layered writes to its Writer and closes its closers in order, innermost
// (the signer) first.
type layered struct {
	io.Writer
	closers []io.Closer
}

func (l *layered) Close() error {
	for _, c := range l.closers {
		if err := c.Close(); err != nil {
			return err
		}
	}
	return nil
}

func intersect(a, b []uint8) []uint8 {
	return slices.DeleteFunc(a, func(v uint8) bool { return !slices.Contains(b, v) })
}

// hashIDs maps the hashes signEncrypt may choose to their OpenPGP ids
// (RFC 9580 section 9.5).
var hashIDs = map[crypto.Hash]uint8{
	crypto.SHA256: 8, crypto.SHA384: 9, crypto.SHA512: 10, crypto.SHA3_256: 12, crypto.SHA3_512: 14,
}

func hashID(h crypto.Hash) uint8 { return hashIDs[h] }

// withHashPrefs returns a copy of e whose self-signatures (the direct-key
// one and each identity's: whichever go-crypto takes as primary) list
// hashes as their preferred hashes. The keys, subkeys and every other
// field are e's own; e is not changed.
func withHashPrefs(e *openpgp.Entity, hashes []uint8) *openpgp.Entity {
	c := *e
	if e.SelfSignature != nil {
		s := *e.SelfSignature
		s.PreferredHash = hashes
		c.SelfSignature = &s
	}
	c.Identities = make(map[string]*openpgp.Identity, len(e.Identities))
	for name, id := range e.Identities {
		i := *id
		if id.SelfSignature != nil {
			s := *id.SelfSignature
			s.PreferredHash = hashes
			i.SelfSignature = &s
		}
		c.Identities[name] = &i
	}
	return &c
}

// packetTagCompressed is the tag of a Compressed Data packet (RFC 9580
// section 5.6).
const packetTagCompressed = 8

// partialChunk is the size of each partial body length chunk partialWriter
// writes: 2^16 bytes (at least 512, RFC 9580 section 4.2.1.4).
const partialChunkPower = 16

// partialWriter writes one OpenPGP packet in the new format with partial
// body lengths (RFC 9580 section 4.2.1.4): its header, then what it is
// given in 64 KiB chunks, each one write to w with its length octet in
// front, and on Close the rest with a definite length. Close does not
// close w.
type partialWriter struct {
	w   io.Writer
	buf []byte // buf[0] is the length octet of the chunk in buf[1:]
	hdr []byte // the packet header and body prefix, until the first write
	err error
}

func newPartialWriter(w io.Writer, tag byte, prefix []byte) *partialWriter {
	p := &partialWriter{w: w, buf: make([]byte, 1, 1+1<<partialChunkPower)}
	p.buf = append(p.buf, prefix...)
	p.hdr = []byte{0xc0 | tag}
	return p
}

func (p *partialWriter) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n := 0
	for len(b) > 0 {
		k := copy(p.buf[len(p.buf):cap(p.buf)], b)
		p.buf = p.buf[:len(p.buf)+k]
		b = b[k:]
		n += k
		if len(p.buf) == cap(p.buf) {
			p.buf[0] = 0xe0 + partialChunkPower
			if p.err = p.emit(p.buf); p.err != nil {
				return n, p.err
			}
			p.buf = p.buf[:1]
		}
	}
	return n, nil
}

// emit writes chunk (length octet included), after the header when it is
// the packet's first.
func (p *partialWriter) emit(chunk []byte) error {
	if p.hdr != nil {
		if _, err := p.w.Write(p.hdr); err != nil {
			return err
		}
		p.hdr = nil
	}
	_, err := p.w.Write(chunk)
	return err
}

// Close writes the last chunk with a definite length (RFC 9580 section
// 4.2.1.1-3; zero octets when the data was a multiple of the chunk size).
func (p *partialWriter) Close() error {
	if p.err != nil {
		return p.err
	}
	body := p.buf[1:]
	var length []byte
	switch n := len(body); {
	case n < 192:
		length = []byte{byte(n)}
	case n < 8384:
		n -= 192
		length = []byte{byte(n>>8) + 192, byte(n)}
	default:
		length = binary.BigEndian.AppendUint32([]byte{0xff}, uint32(n))
	}
	p.err = p.emit(append(length, body...))
	if p.err == nil {
		p.err = errors.New("pgpmime: write after close")
		return nil
	}
	return p.err
}
