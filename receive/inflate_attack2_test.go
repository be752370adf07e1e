package receive_test

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
)

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
