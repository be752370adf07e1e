package receive_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// compressedCast: keys made by pgp.Generate, which list ZIP in their
// preferences, so that what send composes to them is compressed
// (Huffman-only ZIP inside the encryption). The fixture keys in testdata
// predate that and list none.
func compressedCast(tb testing.TB) (alice, bob *pgp.Key, store *pgp.Store) {
	tb.Helper()
	alice = pgptest.Key(tb, "Alice Test", "alice@clinic.test")
	bob = pgptest.Key(tb, "Bob Test", "bob@pharmacy.test")
	store, err := pgp.OpenStore(tb.TempDir(), nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := store.Import(bytes.NewReader(pgptest.Armored(tb, alice.Public())), pgp.ImportOptions{Pin: true}); err != nil {
		tb.Fatal(err)
	}
	return alice, bob, store
}

// zipMessage composes a signed and encrypted message from alice to
// bob with a random document of size bytes, in memory.
func zipMessage(tb testing.TB, alice, bob *pgp.Key, size int64) ([]byte, []send.DocumentInfo) {
	tb.Helper()
	doc := filepath.Join(tb.TempDir(), "scan.pdf")
	f, err := os.Create(doc)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	m := &send.Message{
		From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
		Subject: "compressed", Documents: []send.Document{{Path: doc}}, MessageID: "compressed@clinic.test",
	}
	var out bytes.Buffer
	infos, err := send.ComposeProtected(&out, m, send.Protection{Signer: alice, Recipients: []*pgp.PublicKey{bob.Public()}, Encrypt: true})
	if err != nil {
		tb.Fatal(err)
	}
	return out.Bytes(), infos
}

// TestVerifyCompressedOwnMessage: a message send compresses (ZIP,
// Huffman-only, inside the encryption) verifies with the document intact,
// and the decompression bound still applies to it: with MaxDecompressed
// below its plaintext size it is refused as a compression bomb.
func TestVerifyCompressedOwnMessage(t *testing.T) {
	alice, bob, store := compressedCast(t)
	const size = 3 << 20
	raw, infos := zipMessage(t, alice, bob, size)
	if r := float64(len(raw)) / size; r > 1.45 {
		t.Fatalf("%.3f bytes per document byte: the message is not compressed", r)
	}
	rep, err := receive.Verify(context.Background(), bytes.NewReader(raw), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != receive.Verified || len(rep.Documents) != 1 || rep.Documents[0].SHA256 != infos[0].SHA256 {
		t.Fatalf("verdict %s (%s), documents %+v, sent %+v", rep.Verdict, rep.Reason, rep.Documents, infos)
	}
	rep, err = receive.Verify(context.Background(), bytes.NewReader(raw), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}, MaxDecompressed: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != receive.CannotDecrypt || !strings.Contains(rep.Reason, "compression bomb") || len(rep.Documents) != 0 {
		t.Errorf("with MaxDecompressed 1 MiB: verdict %s (%s), %d documents; want CannotDecrypt, compression bomb, none", rep.Verdict, rep.Reason, len(rep.Documents))
	}
}

// BenchmarkVerifyCompressed50MB: decrypt+verify of a message send
// compressed (keys that list ZIP), to compare with BenchmarkVerify50MB's
// uncompressed "decrypt+verify".
func BenchmarkVerifyCompressed50MB(b *testing.B) {
	alice, bob, store := compressedCast(b)
	raw, _ := zipMessage(b, alice, bob, 50<<20)
	b.SetBytes(50 << 20)
	b.ReportAllocs()
	for b.Loop() {
		rep, err := receive.Verify(context.Background(), bytes.NewReader(raw), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{bob}})
		if err != nil || rep.Verdict != receive.Verified {
			b.Fatalf("%v %+v", err, rep)
		}
	}
}
