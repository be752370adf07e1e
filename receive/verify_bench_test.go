package receive_test

import (
	"context"
	"crypto/rand"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// bigMessage writes a message with one random document of size bytes,
// signed by alice (and encrypted to bob when encrypt), to a file in dir.
func bigMessage(tb testing.TB, ks keys, dir string, size int64, encrypt bool) string {
	tb.Helper()
	doc := filepath.Join(dir, "scan.pdf")
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
		Subject: "big", Documents: []send.Document{{Path: doc}}, MessageID: "big@clinic.test",
	}
	p := send.Protection{Signer: ks["alice"]}
	if encrypt {
		p.Recipients, p.Encrypt = []*pgp.PublicKey{ks["bob"].Public()}, true
	}
	path := filepath.Join(dir, "big.eml")
	out, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	if _, err := send.ComposeProtected(out, m, p); err != nil {
		tb.Fatal(err)
	}
	os.Remove(doc)
	return path
}

// BenchmarkVerify50MB measures decrypt+verify (and verify only) of a
// message with a 50 MB document read from disk, documents discarded.
func BenchmarkVerify50MB(b *testing.B) {
	ks := loadKeys(b)
	store := bobStore(b, ks)
	for _, encrypt := range []bool{true, false} {
		name := "decrypt+verify"
		if !encrypt {
			name = "verify"
		}
		b.Run(name, func(b *testing.B) {
			path := bigMessage(b, ks, b.TempDir(), 50<<20, encrypt)
			b.SetBytes(50 << 20)
			b.ReportAllocs()
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				rep, err := receive.Verify(context.Background(), f, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}})
				f.Close()
				if err != nil || rep.Verdict != receive.Verified {
					b.Fatalf("%v %+v", err, rep)
				}
			}
		})
	}
}

// TestVerify200MBBoundedHeap decrypts and verifies a message with a
// 200 MB document and checks the heap never grows by 32 MB or more: the
// content is streamed, not buffered.
func TestVerify200MBBoundedHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("writes ~600 MB of temporary files")
	}
	ks := loadKeys(t)
	store := bobStore(t, ks)
	path := bigMessage(t, ks, t.TempDir(), 200<<20, true)
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	peak := base.HeapAlloc
	sample := func() {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapAlloc)
	}
	sink := func(name, _ string, r io.Reader) (string, error) {
		buf := make([]byte, 1<<20)
		var n int64
		for {
			k, err := r.Read(buf)
			n += int64(k)
			if n%(8<<20) < int64(k) {
				sample()
			}
			if err == io.EOF {
				return "", nil
			}
			if err != nil {
				return "", err
			}
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := receive.Verify(context.Background(), f, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	sample()
	if rep.Verdict != receive.Verified || len(rep.Documents) != 1 || rep.Documents[0].Size != 200<<20 {
		t.Fatalf("%s (%s), documents %+v", rep.Verdict, rep.Reason, rep.Documents)
	}
	growth := int64(peak) - int64(base.HeapAlloc)
	t.Logf("heap growth while verifying 200 MB: %.1f MB", float64(growth)/(1<<20))
	if growth >= 32<<20 {
		t.Errorf("heap grew by %.1f MB (limit 32 MB)", float64(growth)/(1<<20))
	}
}
