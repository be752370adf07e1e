package receive

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync/atomic"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Bounds on what an encrypted message may expand to (compression bombs).
// The plaintext of one message may be at most max(minExpansion,
// expansionRatio times the ciphertext read so far), and never more than
// maxDecompressedCap (VerifyOptions.MaxDecompressed lowers it).
const (
	maxDecompressedCap = 1 << 30
	minExpansion       = 64 << 20
	expansionRatio     = 32
	// compressionScan is how much of the decrypted packet stream is
	// looked at for nested compression before go-crypto reads it; and
	// compressionScanOut how much decompressed data that look may cost.
	compressionScan    = 64 << 10
	compressionScanOut = 1 << 20
)

// errExpansion: the plaintext grew beyond the expansion bound.
var errExpansion = errors.New("receive: the encrypted message expands beyond its bound")

// countingReader counts the bytes read through it. The count is read from
// another goroutine (expansionLimiter), hence atomic.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// expansionLimiter fails with errExpansion once more plaintext has come
// out of r than the bound allows for the ciphertext read so far (in). The
// ciphertext count runs ahead of the decompressor by the read-ahead of the
// decryption stage (under 1 MB), which the bound tolerates.
// Once exceeded it fails every read after (err): go-crypto ignores the
// errors of what it reads after the literal data, so the caller checks err.
type expansionLimiter struct {
	r    io.Reader
	in   *countingReader
	hard int64
	out  int64
	err  error
}

func (l *expansionLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	l.out += int64(n)
	limit := max(int64(minExpansion), expansionRatio*l.in.n.Load())
	if limit > l.hard {
		limit = l.hard
	}
	if l.out > limit {
		l.err = errExpansion
		return n, errExpansion
	}
	return n, err
}

// checkCompression looks at the start of the decrypted packet stream in
// br (without consuming it) the way go-crypto's message reader will walk
// it, and refuses a compressed packet inside a compressed packet: nested
// compression multiplies the expansion ratio (two ZLIB layers turn 2 KB
// into 60 MiB) and no OpenPGP implementation writes it. It returns a
// plain-language reason, or "" when the stream reaches its literal data
// with at most one compression layer. A stream whose literal data does not
// start within the first compressionScan bytes (compressionScanOut
// decompressed) is refused too: only a crafted message looks like that.
//
// textSig reports whether the last One-Pass Signature packet before the
// literal data announces a text signature (type 0x01): go-crypto's reader
// takes the hash, and the way it makes the literal data canonical before
// hashing it, from that packet, whatever the signature packet after the
// data says, so it decides which bytes a good signature covers. signers
// counts the One-Pass Signature packets before the literal data.
func checkCompression(br *bufio.Reader) (reason string, textSig bool, signers int) {
	head, err := br.Peek(compressionScan)
	complete := err != nil // the whole stream is in head
	packets := packet.NewReader(bytes.NewReader(head))
	layers := 0
	for {
		p, err := packets.Next()
		if err != nil {
			if complete {
				return "", textSig, signers // malformed: go-crypto's reader reports it
			}
			return "The encrypted message has an unusual structure (a long run of data before its content); it was not read.", false, 0
		}
		switch p := p.(type) {
		case *packet.Compressed:
			if layers++; layers > 1 {
				return "The encrypted message holds compressed data inside compressed data (a compression bomb?); it was not read.", false, 0
			}
			if err := packets.Push(io.LimitReader(p.Body, compressionScanOut)); err != nil {
				return "The encrypted message is damaged or malformed, so it cannot be decrypted.", false, 0
			}
		case *packet.OnePassSignature:
			textSig = p.SigType == packet.SigTypeText
			signers++
		case *packet.LiteralData:
			return "", textSig, signers
		}
	}
}
