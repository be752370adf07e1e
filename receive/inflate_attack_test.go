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
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
)

// inflateKit builds decrypted OpenPGP packet streams by hand: literal
// data signed by alice (one-pass signature and signature packets made
// from a real detached signature), compressed packets with any framing.
type inflateKit struct {
	t     *testing.T
	alice *pgp.Key
}

// pkt frames body as a new-format packet of tag with a five-octet length.
func pkt(tag byte, body []byte) []byte {
	h := []byte{0xc0 | tag, 255, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(h[2:], uint32(len(body)))
	return append(h, body...)
}

// lit is a binary literal data packet of data (no file name, time 0).
func lit(data string) []byte {
	return pkt(11, append([]byte{'b', 0, 0, 0, 0, 0}, data...))
}

// deflate compresses payload with OpenPGP algorithm algo (1 ZIP, 2 ZLIB).
func deflate(t *testing.T, algo byte, payload []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	if algo == 1 {
		w, _ = flate.NewWriter(&b, flate.BestSpeed)
	} else {
		w = zlib.NewWriter(&b)
	}
	w.Write(payload)
	w.Close()
	return b.Bytes()
}

// comp is a compressed data packet: algorithm octet, the deflated
// payload, then trailing bytes inside the packet.
func comp(t *testing.T, algo byte, payload, trailing []byte) []byte {
	t.Helper()
	body := append([]byte{algo}, deflate(t, algo, payload)...)
	return pkt(8, append(body, trailing...))
}

// signed returns alice's one-pass signature packet and signature packet
// over data (a binary signature, as in a one-pass signed message).
func (k inflateKit) signed(data string) (ops, sig []byte) {
	k.t.Helper()
	var b bytes.Buffer
	if err := openpgp.DetachSign(&b, k.alice.Entity(), strings.NewReader(data), pgp.Config(nil)); err != nil {
		k.t.Fatal(err)
	}
	p, err := packet.Read(bytes.NewReader(b.Bytes()))
	if err != nil {
		k.t.Fatal(err)
	}
	s := p.(*packet.Signature)
	var o bytes.Buffer
	op := &packet.OnePassSignature{Version: 3, SigType: s.SigType, Hash: s.Hash, PubKeyAlgo: s.PubKeyAlgo, KeyId: *s.IssuerKeyId, IsLast: true}
	if err := op.Serialize(&o); err != nil {
		k.t.Fatal(err)
	}
	return o.Bytes(), b.Bytes()
}

// oldPath is what go-crypto's own reader (the path before inflateFirst)
// decides on the decrypted stream raw: whether it reads without error,
// whether the signature is good by alice, and the literal data.
func (k inflateKit) oldPath(raw []byte) (ok, good bool, body []byte) {
	ring := openpgp.EntityList{k.alice.Entity()}
	md, err := openpgp.ReadMessage(bytes.NewReader(raw), ring, nil, pgp.Config(nil))
	if err != nil {
		return false, false, nil
	}
	body, err = io.ReadAll(md.UnverifiedBody)
	if err != nil {
		return false, false, nil
	}
	return true, md.IsSigned && md.SignedBy != nil && md.SignatureError == nil, body
}

const (
	attackNote  = "Content-Type: text/plain\r\n\r\nDispense 30 tablets of TEST ONLY.\r\n"
	attackNote2 = "Content-Type: text/plain\r\n\r\nDispense 300 tablets of TEST ONLY.\r\n"
)

// TestAttackInflateFirst attacks the decompression step of verification
// (inflateFirst) with crafted decrypted packet streams, each encrypted to
// bob in SEIPD v1 (so the MDC is right) and read by receive.Verify. The
// verdict is never more accepting than go-crypto's own reading of the same
// stream (failed read: nothing released; bad signature: not verified), and
// what a verified message shows is exactly what go-crypto's reader
// returns as the signed literal data. want pins the verdict of this code.
func TestAttackInflateFirst(t *testing.T) {
	alice, bob, store := compressedCast(t)
	k := inflateKit{t: t, alice: alice}
	ops, sig := k.signed(attackNote)
	_, sig2 := k.signed(attackNote2)
	msg := append(append(append([]byte(nil), ops...), lit(attackNote)...), sig...)
	litPkt := lit(attackNote)
	half := len(litPkt) / 2
	// A literal packet cut in the middle of the compressed stream, its
	// end (and the signature) after the compressed packet.
	straddle := append(comp(t, 1, append(append([]byte(nil), ops...), litPkt[:half]...), nil), append(append([]byte(nil), litPkt[half:]...), sig...)...)
	// A packet header cut at the end of the compressed stream.
	hdrStraddle := append(comp(t, 1, append(append(append([]byte(nil), ops...), litPkt...), sig[:1]...), nil), sig[1:]...)
	badAdler := comp(t, 2, msg, nil)
	badAdler[len(badAdler)-1] ^= 0xff
	truncated := comp(t, 1, msg, nil)
	truncated = pkt(8, truncated[6:len(truncated)-20])
	overlong := append(append([]byte(nil), ops...), lit(attackNote)...)
	binary.BigEndian.PutUint32(overlong[len(ops)+2:], uint32(len(attackNote)+6+len(sig)+100))
	overlong = append(overlong, sig...)
	marker := []byte{0xca, 3, 'P', 'G', 'P'}

	cases := []struct {
		name string
		raw  []byte
		want receive.Verdict
	}{
		{"baseline ZIP", comp(t, 1, msg, nil), receive.Verified},
		{"baseline ZLIB", comp(t, 2, msg, nil), receive.Verified},
		{"second literal after the compressed packet", append(comp(t, 1, msg, nil), lit(attackNote2)...), receive.CannotDecrypt},
		{"second good signature after", append(comp(t, 1, msg, nil), sig...), receive.CannotDecrypt},
		{"signature of other data after", append(comp(t, 1, msg, nil), sig2...), receive.CannotDecrypt},
		{"second compressed packet after", append(comp(t, 1, msg, nil), comp(t, 1, append(append(append([]byte(nil), ops...), lit(attackNote2)...), sig2...), nil)...), receive.CannotDecrypt},
		{"garbage after", append(comp(t, 1, msg, nil), "garbage after the packet"...), receive.CannotDecrypt},
		{"signature outside the compressed packet", append(comp(t, 1, append(append([]byte(nil), ops...), litPkt...), nil), sig...), receive.CannotDecrypt},
		{"literal straddles the end of the compressed stream", straddle, receive.CannotDecrypt},
		{"header straddles the end of the compressed stream", hdrStraddle, receive.CannotDecrypt},
		{"compressed after a marker packet", append(append([]byte(nil), marker...), comp(t, 1, msg, nil)...), receive.Verified},
		{"compressed after a one-pass signature", append(append(append([]byte(nil), ops...), comp(t, 1, litPkt, nil)...), sig...), receive.Verified},
		{"trailing bytes inside the packet", comp(t, 1, msg, []byte("after the deflate stream")), receive.Verified},
		{"trailing packet inside the packet after the deflate stream", comp(t, 1, msg, lit(attackNote2)), receive.Verified},
		{"ZLIB with a bad Adler-32", badAdler, receive.CannotDecrypt},
		{"truncated deflate stream", truncated, receive.CannotDecrypt},
		{"literal length beyond the decompressed data", comp(t, 1, overlong, nil), receive.CannotDecrypt},
		{"old-format indeterminate length, packets after", append(append([]byte{0x80 | 8<<2 | 3, 1}, deflate(t, 1, msg)...), lit(attackNote2)...), receive.Verified},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, good, body := k.oldPath(tc.raw)
			rep := verify(t, encryptPackets(t, bob, tc.raw), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}})
			t.Logf("old path: read %v, good %v; now %s (%s)", ok, good, rep.Verdict, rep.Reason)
			if !ok && (rep.Verdict.Releasable() || rep.Note != "" || len(rep.Documents) != 0) {
				t.Errorf("go-crypto fails to read it, Verify releases it: %s", rep.Verdict)
			}
			if !good && rep.Verdict == receive.Verified {
				t.Errorf("go-crypto finds no good signature, Verify says verified")
			}
			if rep.Verdict == receive.Verified && (!bytes.HasPrefix(body, []byte("Content-Type: text/plain\r\n\r\n")) ||
				!strings.Contains(strings.ReplaceAll(string(body), "\r\n", "\n"), rep.Note) || !strings.Contains(rep.Note, "Dispense 30 tablets")) {
				t.Errorf("verified note %q, go-crypto's signed literal data %q", rep.Note, body)
			}
			if rep.Verdict != tc.want {
				t.Errorf("verdict %s (%s), want %s", rep.Verdict, rep.Reason, tc.want)
			}
		})
	}
}

// TestAttackInflatePartial: a compressed packet in partial lengths whose
// deflate stream ends in the middle of a chunk, followed in the packet
// by bytes that are not deflate data, reads as go-crypto reads it.
func TestAttackInflatePartial(t *testing.T) {
	alice, bob, store := compressedCast(t)
	k := inflateKit{t: t, alice: alice}
	note := attackNote + strings.Repeat("TEST ONLY ", 200) + "\r\n"
	ops, sig := k.signed(note)
	msg := append(append(append([]byte(nil), ops...), lit(note)...), sig...)
	body := append(append([]byte{1}, deflate(t, 1, msg)...), bytes.Repeat([]byte{0xAA}, 700)...)
	// 512-byte partial chunks, the last one a fixed length (one or two
	// octets: a one-octet length of 192 or more would be another partial
	// length, the packet then cut short, see TestAttackInflateTruncatedBody).
	raw := []byte{0xc0 | 8}
	for len(body) > 512 {
		raw = append(append(raw, 224+9), body[:512]...)
		body = body[512:]
	}
	raw = append(append(raw, bodyLength(len(body))...), body...)
	ok, good, _ := k.oldPath(raw)
	rep := verify(t, encryptPackets(t, bob, raw), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}})
	if !ok || !good || rep.Verdict != receive.Verified {
		t.Errorf("old path read %v good %v; Verify %s (%s)", ok, good, rep.Verdict, rep.Reason)
	}
}

// TestAttackInflateBomb: a hand-made ZLIB bomb through inflateFirst stops
// at the bound (here MaxDecompressed, 1 MiB) as a compression bomb and
// releases nothing.
func TestAttackInflateBomb(t *testing.T) {
	alice, bob, store := compressedCast(t)
	k := inflateKit{t: t, alice: alice}
	note := "Content-Type: text/plain\r\n\r\n" + strings.Repeat("0", 8<<20)
	ops, sig := k.signed(note)
	msg := append(append(append([]byte(nil), ops...), lit(note)...), sig...)
	for _, algo := range []byte{1, 2} {
		rep := verify(t, encryptPackets(t, bob, comp(t, algo, msg, nil)),
			receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}, MaxDecompressed: 1 << 20})
		if rep.Verdict != receive.CannotDecrypt || !strings.Contains(rep.Reason, "compression bomb") || rep.Note != "" || len(rep.Documents) != 0 {
			t.Errorf("algo %d: %s (%s)", algo, rep.Verdict, rep.Reason)
		}
	}
}

// TestAttackInflateTamper: one ciphertext byte changed inside the
// compressed packet or in the MDC after it fails the integrity check:
// cannot-decrypt, nothing released.
func TestAttackInflateTamper(t *testing.T) {
	alice, bob, store := compressedCast(t)
	k := inflateKit{t: t, alice: alice}
	ops, sig := k.signed(attackNote)
	raw := comp(t, 1, append(append(append([]byte(nil), ops...), lit(attackNote)...), sig...), nil)
	for _, where := range []struct {
		name string
		back int // bytes from the end of the binary ciphertext
	}{
		{"inside the compressed packet", 22 + len(raw)/2},
		{"last byte of the compressed packet", 23},
		{"in the MDC after it", 5},
	} {
		msg := encryptPackets(t, bob, raw)
		msg = flipCiphertext(t, msg, where.back)
		rep := verify(t, msg, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}})
		if rep.Verdict != receive.CannotDecrypt || rep.Note != "" || len(rep.Documents) != 0 {
			t.Errorf("%s: %s (%s), note %q", where.name, rep.Verdict, rep.Reason, rep.Note)
		}
	}
}

// flipCiphertext flips one bit of the binary OpenPGP message armored in
// msg, back bytes before its end, and armors it again.
func flipCiphertext(t *testing.T, msg []byte, back int) []byte {
	t.Helper()
	start := bytes.Index(msg, []byte("-----BEGIN PGP MESSAGE-----"))
	end := bytes.Index(msg, []byte("-----END PGP MESSAGE-----"))
	end += len("-----END PGP MESSAGE-----")
	blk, err := armor.Decode(bytes.NewReader(msg[start:end]))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := io.ReadAll(blk.Body)
	if err != nil {
		t.Fatal(err)
	}
	ct[len(ct)-back] ^= 0x01
	var b bytes.Buffer
	w, _ := armor.Encode(&b, "PGP MESSAGE", nil)
	w.Write(ct)
	w.Close()
	return append(append(bytes.Clone(msg[:start]), bytes.ReplaceAll(b.Bytes(), []byte("\n"), []byte("\r\n"))...), msg[end:]...)
}

// TestAttackInflateAfterMessage: data inside the compressed packet after
// the signed message (a second literal packet, garbage, 1 GiB of zeros
// that go-crypto never reads) is refused as malformed without inflating
// it: cannot-decrypt, nothing released, well under a second.
func TestAttackInflateAfterMessage(t *testing.T) {
	alice, bob, store := compressedCast(t)
	k := inflateKit{t: t, alice: alice}
	ops, sig := k.signed(attackNote)
	msg := append(append(append([]byte(nil), ops...), lit(attackNote)...), sig...)
	// The message, then 1 GiB of zeros: one flushed deflate block of 1 MiB
	// of zeros (back references only, so valid after any zeros) repeated.
	var zeros bytes.Buffer
	zw, _ := flate.NewWriter(&zeros, flate.BestCompression)
	block := make([]byte, 1<<20)
	zw.Write(msg)
	zw.Write(block)
	zw.Flush()
	mark := zeros.Len()
	zw.Write(block)
	zw.Flush()
	zeroBlock := bytes.Clone(zeros.Bytes()[mark:])
	for range 1022 {
		zeros.Write(zeroBlock)
	}
	zeros.Write([]byte{0x03, 0x00}) // an empty final block
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"second literal packet", comp(t, 1, append(append([]byte(nil), msg...), lit(attackNote2)...), nil)},
		{"garbage", comp(t, 2, append(append([]byte(nil), msg...), "garbage"...), nil)},
		{"1 GiB of zeros", pkt(8, append([]byte{1}, zeros.Bytes()...))},
	} {
		start := time.Now()
		rep := verify(t, encryptPackets(t, bob, tc.raw), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}})
		// "malformed", not "a compression bomb": refused before the
		// zeros were inflated up to the bound.
		if rep.Verdict != receive.CannotDecrypt || !strings.Contains(rep.Reason, "damaged or malformed") || rep.Note != "" || len(rep.Documents) != 0 {
			t.Errorf("%s: %s (%s)", tc.name, rep.Verdict, rep.Reason)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%s: took %v", tc.name, d)
		}
	}
}
