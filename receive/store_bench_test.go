package receive_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// BenchmarkCommit stores small signed and encrypted messages (alice to
// bob, a 2 KB document each) with the real Verify, into an empty store and
// into one that already holds 2,000 and 10,000 items: the cost per message
// must not depend on the size of the store. bench/inbox-store runs the
// same with 1,000 and 10,000 messages and against the old store.
func BenchmarkCommit(b *testing.B) {
	ks := loadKeys(b)
	keyStore := bobStore(b, ks)
	verify := func(ctx context.Context, raw io.Reader, sink receive.DocumentSink) (*receive.Report, error) {
		return receive.Verify(ctx, raw, receive.VerifyOptions{Store: keyStore, Secret: []*pgp.Key{ks["bob"]}, Sink: sink})
	}
	for _, prefill := range []int{0, 2000, 10000} {
		b.Run(fmt.Sprintf("items=%d", prefill), func(b *testing.B) {
			key := make([]byte, atrest.KeySize)
			rand.Read(key)
			st, err := receive.OpenStore(filepath.Join(b.TempDir(), "inbox"), key, nil)
			if err != nil {
				b.Fatal(err)
			}
			fill(b, st, prefill)
			msgs := make([][]byte, b.N)
			for i := range msgs {
				msgs[i] = benchMessage(b, ks, i)
			}
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				staged, err := st.Stage(bytes.NewReader(msgs[i]))
				if err != nil {
					b.Fatal(err)
				}
				it, added, err := st.Commit(context.Background(), staged, receive.Source{Account: "bench"}, verify)
				if err != nil || !added || it.Verdict != receive.Verified {
					b.Fatalf("commit %d: %+v %v %v", i, it, added, err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// fill adds n items without verification (a verifier that reports every
// message unsigned): the index holds them as it would verified ones.
func fill(b *testing.B, st *receive.Store, n int) {
	b.Helper()
	unsigned := func(_ context.Context, raw io.Reader, _ receive.DocumentSink) (*receive.Report, error) {
		io.Copy(io.Discard, raw)
		return &receive.Report{Verdict: receive.NotSigned, From: "alice@clinic.test"}, nil
	}
	for i := range n {
		staged, err := st.Stage(bytes.NewReader(fmt.Appendf(nil, "Message-ID: <fill-%d@clinic.test>\r\n\r\nfill %d\r\n", i, i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := st.Commit(context.Background(), staged, receive.Source{Account: "bench"}, unsigned); err != nil {
			b.Fatal(err)
		}
	}
}

// benchMessage is message i: signed by alice, encrypted to bob, with a
// random 2 KB document.
func benchMessage(b *testing.B, ks keys, i int) []byte {
	b.Helper()
	doc := filepath.Join(b.TempDir(), "script.pdf")
	content := make([]byte, 2048)
	rand.Read(content)
	copy(content, "%PDF-1.4\n")
	if err := os.WriteFile(doc, content, 0o600); err != nil {
		b.Fatal(err)
	}
	m := &send.Message{
		From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
		Subject: "Prescription", Note: "Please dispense as written.", Documents: []send.Document{{Path: doc}},
		MessageID: fmt.Sprintf("bench-%d-%d@clinic.test", time.Now().UnixNano(), i),
	}
	var buf bytes.Buffer
	if _, err := send.ComposeProtected(&buf, m, send.Protection{Signer: ks["alice"], Recipients: []*pgp.PublicKey{ks["bob"].Public()}, Encrypt: true}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}
