package receive_test

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
)

// TestAttackZIPBombs: send now compresses with ZIP (RFC 1951, algorithm
// 1), and keys made by pgp.Generate list it, so a sender to them may use
// it too. The expansion bound (max(64 MiB, 32 x the ciphertext read),
// MaxDecompressed) and the refusal of nested compression hold for ZIP as
// for ZLIB: a signed ZIP bomb at the best ratio is refused as a compression
// bomb, ZIP inside ZIP and ZIP inside ZLIB are refused before anything is
// expanded, and none of them releases a document.
func TestAttackZIPBombs(t *testing.T) {
	alice, bob, store := compressedCast(t)
	opts := receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}}

	// 80 MiB of zeros, ZIP at the best ratio (about 80 KB), signed by
	// the pinned sender and encrypted to bob.
	cfg := pgp.Config(nil)
	cfg.DefaultCompressionAlgo = packet.CompressionZIP
	cfg.CompressionConfig = &packet.CompressionConfig{Level: flate.BestCompression}
	var ct bytes.Buffer
	aw, err := armor.Encode(&ct, "PGP MESSAGE", nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := openpgp.Encrypt(aw, openpgp.EntityList{bob.Entity()}, alice.Entity(), &openpgp.FileHints{IsBinary: true}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Content-Type: text/plain\r\n\r\n")
	zeros := make([]byte, 1<<20)
	for range 80 {
		w.Write(zeros)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	aw.Close()
	if ct.Len() > 1<<20 {
		t.Fatalf("the bomb is %d bytes: not compressed with ZIP", ct.Len())
	}
	rep := verify(t, wrapEncrypted(outerAlice, ct.Bytes()), opts)
	if rep.Verdict != receive.CannotDecrypt || !strings.Contains(rep.Reason, "compression bomb") || len(rep.Documents) != 0 {
		t.Errorf("ZIP bomb: %s (%s), %d documents", rep.Verdict, rep.Reason, len(rep.Documents))
	}

	for _, tc := range []struct {
		name   string
		layers []packet.CompressionAlgo // innermost first
		nested bool
	}{
		{"ZIP inside ZIP", []packet.CompressionAlgo{packet.CompressionZIP, packet.CompressionZIP}, true},
		{"ZIP inside ZLIB", []packet.CompressionAlgo{packet.CompressionZIP, packet.CompressionZLIB}, true},
		{"ZLIB inside ZIP", []packet.CompressionAlgo{packet.CompressionZLIB, packet.CompressionZIP}, true},
		{"one ZIP layer", []packet.CompressionAlgo{packet.CompressionZIP}, false},
	} {
		rep := verify(t, compressedLayers(t, bob, tc.layers), opts)
		if tc.nested {
			if rep.Verdict != receive.CannotDecrypt || !strings.Contains(rep.Reason, "compressed data inside compressed data") {
				t.Errorf("%s: %s (%s)", tc.name, rep.Verdict, rep.Reason)
			}
		} else if rep.Verdict != receive.NotSigned {
			t.Errorf("%s: %s (%s), want it read (not signed)", tc.name, rep.Verdict, rep.Reason)
		}
	}
}

// compressedLayers returns a multipart/encrypted message to bob (not
// signed) whose plaintext is a literal data packet inside compressed
// packets of the given algorithms, innermost first.
func compressedLayers(t *testing.T, bob *pgp.Key, layers []packet.CompressionAlgo) []byte {
	t.Helper()
	var lit bytes.Buffer
	lw, err := packet.SerializeLiteral(nopCloser{&lit}, true, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(lw, "Content-Type: text/plain\r\n\r\nnested "+strings.Repeat("0", 4096)+"\r\n")
	lw.Close()
	data := lit.Bytes()
	for _, algo := range layers {
		var c bytes.Buffer
		cw, err := packet.SerializeCompressed(nopCloser{&c}, algo, nil)
		if err != nil {
			t.Fatal(err)
		}
		cw.Write(data)
		cw.Close()
		data = c.Bytes()
	}
	return encryptPackets(t, bob, data)
}
