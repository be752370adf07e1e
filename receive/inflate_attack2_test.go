package receive_test

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	kflate "github.com/klauspost/compress/flate"
	kzlib "github.com/klauspost/compress/zlib"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
)

// zeroDeflate returns a raw deflate stream of prefix followed by mib MiB
// of zeros (mib >= 2), at about 1000:1: one flushed block of 1 MiB of
// zeros (back references only, so valid after any zeros) repeated, then
// an empty final block.
func zeroDeflate(t *testing.T, prefix []byte, mib int) []byte {
	t.Helper()
	var out bytes.Buffer
	zw, _ := flate.NewWriter(&out, flate.BestCompression)
	block := make([]byte, 1<<20)
	zw.Write(prefix)
	zw.Write(block)
	zw.Flush()
	mark := out.Len()
	zw.Write(block)
	zw.Flush()
	zeroBlock := bytes.Clone(out.Bytes()[mark:])
	for range mib - 2 {
		out.Write(zeroBlock)
	}
	out.Write([]byte{0x03, 0x00})
	return out.Bytes()
}

// TestAttackInflateTrailingPacketBomb: inside the compressed packet, after
// the signed message (one-pass signature, literal data, signature), a
// packet that go-crypto reads on (a Padding packet, legal anywhere in RFC
// 9580; a non-critical unknown packet, skipped) holding 96 MiB of zeros
// in about 100 KB. go-crypto's signature loop reads it to its end, so it
// is inflated, outside the literal data the expansion bound used to
// count: the message expands 1000-fold, beyond max(64 MiB, 32 x
// ciphertext), and must be refused as a compression bomb (row 6), not
// verified.
func TestAttackInflateTrailingPacketBomb(t *testing.T) {
	alice, bob, store := compressedCast(t)
	k := inflateKit{t: t, alice: alice}
	ops, sig := k.signed(attackNote)
	msg := append(append(append([]byte(nil), ops...), lit(attackNote)...), sig...)
	const mib = 96
	for _, tc := range []struct {
		name string
		tag  byte
	}{
		{"padding packet", 21},
		{"unknown non-critical packet", 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []byte{0xc0 | tc.tag, 255, 0, 0, 0, 0}
			binary.BigEndian.PutUint32(hdr[2:], mib<<20)
			raw := pkt(8, append([]byte{1}, zeroDeflate(t, append(bytes.Clone(msg), hdr...), mib)...))
			ct := encryptPackets(t, bob, raw)
			start := time.Now()
			rep := verify(t, ct, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}})
			t.Logf("%d KB of ciphertext: %s (%s) in %v", len(ct)>>10, rep.Verdict, rep.Reason, time.Since(start))
			if rep.Verdict != receive.CannotDecrypt || !strings.Contains(rep.Reason, "compression bomb") || rep.Note != "" || len(rep.Documents) != 0 {
				t.Errorf("%s (%s), note %q", rep.Verdict, rep.Reason, rep.Note)
			}
		})
	}
	// The same message with a small padding packet is an ordinary message.
	pad := pkt(21, make([]byte, 4096))
	raw := comp(t, 1, append(bytes.Clone(msg), pad...), nil)
	if rep := verify(t, encryptPackets(t, bob, raw), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}}); rep.Verdict != receive.Verified {
		t.Errorf("small padding packet: %s (%s)", rep.Verdict, rep.Reason)
	}
}

// TestAttackInflateTruncatedBody: a compressed packet in partial lengths
// whose deflate stream ends cleanly inside the first chunk but whose
// decrypted stream ends before that chunk does (the packet is cut short,
// under a good MDC): a broken stream, cannot-decrypt, however the error
// falls between the reads go-crypto makes.
func TestAttackInflateTruncatedBody(t *testing.T) {
	alice, bob, store := compressedCast(t)
	k := inflateKit{t: t, alice: alice}
	ops, sig := k.signed(attackNote)
	msg := append(append(append([]byte(nil), ops...), lit(attackNote)...), sig...)
	for _, algo := range []byte{1, 2} {
		for _, trailing := range []int{0, 1, 100} {
			body := append(append([]byte{algo}, deflate(t, algo, msg)...), bytes.Repeat([]byte{0xAA}, trailing)...)
			// One partial chunk of 4096 bytes (more than body), then nothing.
			raw := append([]byte{0xc0 | 8, 224 + 12}, body...)
			rep := verify(t, encryptPackets(t, bob, raw), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}})
			if rep.Verdict != receive.CannotDecrypt || rep.Note != "" || len(rep.Documents) != 0 {
				t.Errorf("algo %d, %d bytes after the deflate stream: %s (%s)", algo, trailing, rep.Verdict, rep.Reason)
			}
			// A fixed length beyond the end of the stream likewise.
			fixed := pkt(8, body)
			binary.BigEndian.PutUint32(fixed[2:], uint32(len(body)+50))
			rep = verify(t, encryptPackets(t, bob, fixed), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}})
			if rep.Verdict != receive.CannotDecrypt || rep.Note != "" || len(rep.Documents) != 0 {
				t.Errorf("algo %d, fixed length cut short, %d bytes after the deflate stream: %s (%s)", algo, trailing, rep.Verdict, rep.Reason)
			}
		}
	}
}

// TestAttackInflateSignedOnly: a signed-only message (multipart/signed)
// never reaches inflateFirst or any decompressor: its signature part must
// be a bare Signature packet, so one wrapped in a compressed packet (here
// holding alice's good signature) is refused as no signature, and content
// compressed in an OpenPGP packet is just bytes, shown only as unsigned
// text would be.
func TestAttackInflateSignedOnly(t *testing.T) {
	alice, _, store := compressedCast(t)
	inner := "Content-Type: text/plain\r\n\r\nDispense 30 tablets of TEST ONLY.\r\n"
	var det bytes.Buffer
	if err := openpgp.DetachSign(&det, alice.Entity(), strings.NewReader(inner), pgp.Config(nil)); err != nil {
		t.Fatal(err)
	}
	var arm bytes.Buffer
	aw, _ := armor.Encode(&arm, "PGP SIGNATURE", nil)
	aw.Write(comp(t, 1, det.Bytes(), nil))
	aw.Close()
	rep := verify(t, assembleSigned(outerAlice, inner, arm.String()), receive.VerifyOptions{Store: store})
	if rep.Verdict == receive.Verified || rep.Note != "" {
		t.Errorf("compressed signature packet: %s (%s), note %q", rep.Verdict, rep.Reason, rep.Note)
	}
	// The same signature bare is good (the test's control).
	var good bytes.Buffer
	aw, _ = armor.Encode(&good, "PGP SIGNATURE", nil)
	aw.Write(det.Bytes())
	aw.Close()
	if rep := verify(t, assembleSigned(outerAlice, inner, good.String()), receive.VerifyOptions{Store: store}); rep.Verdict != receive.Verified {
		t.Errorf("bare signature: %s (%s)", rep.Verdict, rep.Reason)
	}
}

// bodyLength encodes n as a new-format packet body length (RFC 9580
// section 4.2.1) of one, two or five octets.
func bodyLength(n int) []byte {
	switch {
	case n < 192:
		return []byte{byte(n)}
	case n < 8384:
		n -= 192
		return []byte{byte(n>>8) + 192, byte(n)}
	default:
		return binary.BigEndian.AppendUint32([]byte{255}, uint32(n))
	}
}

// FuzzInflateDifferential: inflateFirst decompresses with klauspost/compress
// where go-crypto (the old path, and the fallback) uses compress/flate and
// compress/zlib. The two must agree on every stream: the same output (up to
// where one of them fails), and klauspost's never succeeding where the
// standard library's fails (which would make the new path more accepting
// than go-crypto's).
func FuzzInflateDifferential(f *testing.F) {
	f.Add(byte(1), []byte{0x03, 0x00})
	f.Add(byte(2), []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	for _, payload := range []string{"", "a", attackNote, strings.Repeat("TEST ONLY ", 300)} {
		for _, level := range []int{flate.HuffmanOnly, flate.BestSpeed, flate.BestCompression} {
			var fb, zb bytes.Buffer
			fw, _ := flate.NewWriter(&fb, level)
			zw, _ := zlib.NewWriterLevel(&zb, level)
			for _, w := range []io.WriteCloser{fw, zw} {
				w.Write([]byte(payload))
				w.Close()
			}
			f.Add(byte(1), fb.Bytes())
			f.Add(byte(2), zb.Bytes())
		}
	}
	f.Fuzz(func(t *testing.T, algo byte, data []byte) {
		read := func(std bool) ([]byte, error) {
			var r io.Reader
			var err error
			switch {
			case algo&1 == 1 && std:
				r = flate.NewReader(bytes.NewReader(data))
			case algo&1 == 1:
				r = kflate.NewReader(bytes.NewReader(data))
			case std:
				r, err = zlib.NewReader(bytes.NewReader(data))
			default:
				r, err = kzlib.NewReader(bytes.NewReader(data))
			}
			if err != nil {
				return nil, err
			}
			return io.ReadAll(io.LimitReader(r, 1<<20))
		}
		so, serr := read(true)
		ko, kerr := read(false)
		// Before an error, the two may have passed on different amounts
		// of output (buffering), but never different bytes.
		n := min(len(so), len(ko))
		if !bytes.Equal(so[:n], ko[:n]) || (serr == nil && kerr == nil && len(so) != len(ko)) {
			t.Fatalf("algo %d: outputs differ (%d and %d bytes; errors %v, %v)", algo&1, len(so), len(ko), serr, kerr)
		}
		if serr != nil && kerr == nil {
			t.Fatalf("algo %d: compress fails (%v), klauspost reads it", algo&1, serr)
		}
	})
}
