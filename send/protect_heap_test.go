package send_test

import (
	"net/mail"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/send"
)

// heapSampler is an io.Writer that discards what it gets and records the
// largest HeapAlloc seen, sampled every 8 MB written.
type heapSampler struct {
	n, next int64
	peak    uint64
}

func (h *heapSampler) Write(p []byte) (int, error) {
	h.n += int64(len(p))
	if h.n >= h.next {
		h.sample()
		h.next = h.n + 8<<20
	}
	return len(p), nil
}

func (h *heapSampler) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.peak = max(h.peak, m.HeapAlloc)
}

// TestComposeProtected200MBBoundedHeap signs and encrypts a 200 MB
// document and checks the heap never grows by 32 MB or more: the document
// is streamed through the signer and the encryptor, never held whole.
func TestComposeProtected200MBBoundedHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 200 MB temporary file; skipped with -short")
	}
	alice := pgptest.Key(t, "Alice", "alice@clinic.test")
	bob := pgptest.Key(t, "Bob", "bob@pharmacy.test")
	doc := filepath.Join(t.TempDir(), "scan.pdf")
	writeRandomFile(t, doc, 200<<20)
	m := &send.Message{
		From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
		Subject: "big", Documents: []send.Document{{Path: doc}}, MessageID: "big@clinic.test",
	}
	p := send.Protection{Signer: alice, Recipients: []*pgp.PublicKey{bob.Public()}, Encrypt: true}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	out := &heapSampler{peak: base.HeapAlloc}
	infos, err := send.ComposeProtected(out, m, p)
	if err != nil {
		t.Fatal(err)
	}
	out.sample()
	if len(infos) != 1 || infos[0].Size != 200<<20 {
		t.Fatalf("documents %+v", infos)
	}
	if out.n < 200<<20*4/3 {
		t.Fatalf("only %d bytes written", out.n)
	}
	growth := int64(out.peak) - int64(base.HeapAlloc)
	t.Logf("heap growth while signing and encrypting 200 MB: %.1f MB", float64(growth)/(1<<20))
	if growth >= 32<<20 {
		t.Errorf("heap grew by %.1f MB (limit 32 MB)", float64(growth)/(1<<20))
	}
}
