package send

import (
	"context"
	"io"
	netmail "net/mail"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// writeLargeFile writes size bytes of a repeated pseudo-random 1 MiB block.
func writeLargeFile(t testing.TB, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "large-scan.tiff")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	block := randomBytes(42, "II*\x00", 1<<20)
	if _, err := io.CopyN(f, &repeatReader{block: block}, size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

type repeatReader struct {
	block []byte
	off   int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := copy(p, r.block[r.off:])
	r.off = (r.off + n) % len(r.block)
	return n, nil
}

func largeMessage(path string) *Message {
	return &Message{
		From:      netmail.Address{Address: "clinic@test"},
		To:        []netmail.Address{{Address: "ward@test"}},
		Subject:   "Large scan",
		Documents: []Document{{Path: path}},
	}
}

// BenchmarkSendLarge sends a 32 MiB document over implicit TLS to the
// in-process server, which hashes and discards it.
func BenchmarkSendLarge(b *testing.B) {
	const size = 32 << 20
	be := &backend{}
	opts := startServer(b, be, serverConfig{implicit: true, requireTLS: true})
	m := largeMessage(writeLargeFile(b, size))
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Send(context.Background(), opts, m); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSendLargeBoundedMemory sends 200 MB and checks that the heap grows by
// less than 32 MB: the document is streamed, never held in memory. The
// heap is sampled while the message is in flight (client and in-process
// server together).
func TestSendLargeBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 200 MB; skipped with -short")
	}
	const size = 200 << 20
	be := &backend{}
	opts := startServer(t, be, serverConfig{implicit: true})
	m := largeMessage(writeLargeFile(t, size))

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var (
		mu   sync.Mutex
		peak uint64
		wg   sync.WaitGroup
	)
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	res, err := Send(context.Background(), opts, m)
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	if res.Documents[0].Size != size || be.lastLen != res.Size || res.Size < size*4/3 {
		t.Fatalf("sent %d bytes of document, %d on the wire, server got %d", res.Documents[0].Size, res.Size, be.lastLen)
	}
	growth := int64(peak) - int64(before.HeapInuse)
	t.Logf("200 MB document, %d bytes on the wire: peak heap in use %.1f MB (baseline %.1f MB, growth %.1f MB), total allocated %.1f MB",
		res.Size, mb(peak), mb(before.HeapInuse), float64(growth)/(1<<20), mb(after.TotalAlloc-before.TotalAlloc))
	if growth > 32<<20 {
		t.Errorf("heap grew by %.1f MB while sending 200 MB; want < 32 MB", float64(growth)/(1<<20))
	}
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }
