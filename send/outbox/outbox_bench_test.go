package outbox_test

import (
	"context"
	"crypto/rand"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"testing"

	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// BenchmarkEnqueue composes a message with a 10 MB scan straight into the
// encrypted outbox (compose, base64, encrypt, fsync, rename).
func BenchmarkEnqueue(b *testing.B) {
	ob := benchOutbox(b)
	m, size := benchScanMessage(b)
	b.SetBytes(size)
	for b.Loop() {
		id, err := ob.Enqueue(b.Context(), jobOf(m), func(w io.Writer) ([]send.DocumentInfo, error) { return send.Compose(w, m) })
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		ob.Cancel(id)
		ob.Remove(id)
		b.StartTimer()
	}
}

// BenchmarkDeliver delivers a queued message with a 10 MB scan to a
// SubmitFunc that reads the body to io.Discard: the outbox's own cost of a
// delivery (claim, records written and fsynced, the stored message
// decrypted), without the network. SetBytes is the scan's size, as in
// BenchmarkEnqueue; about 1.37 times as much is decrypted.
func BenchmarkDeliver(b *testing.B) {
	ob := benchOutbox(b)
	m, size := benchScanMessage(b)
	discard := func(_ context.Context, _ send.Envelope, body io.Reader) (*send.Result, error) {
		_, err := io.Copy(io.Discard, body)
		return &send.Result{}, err
	}
	b.SetBytes(size)
	for b.Loop() {
		b.StopTimer()
		id, err := ob.Enqueue(b.Context(), jobOf(m), func(w io.Writer) ([]send.DocumentInfo, error) { return send.Compose(w, m) })
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := ob.Deliver(b.Context(), id, discard); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		ob.Remove(id)
		b.StartTimer()
	}
}

// BenchmarkList lists an outbox of 200 jobs (each record decrypted).
func BenchmarkList(b *testing.B) {
	ob := benchOutbox(b)
	job := outbox.Job{Envelope: send.Envelope{From: testFrom, To: []string{testTo}}, MessageID: "bench@clinic.example"}
	for range 200 {
		if _, err := ob.Enqueue(b.Context(), job, func(w io.Writer) ([]send.DocumentInfo, error) {
			_, err := io.WriteString(w, "Subject: x\r\n\r\nbody\r\n")
			return nil, err
		}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		recs, err := ob.List()
		if err != nil || len(recs) != 200 {
			b.Fatal(len(recs), err)
		}
	}
}

// benchOutbox opens an empty outbox with a random key in a temporary
// directory.
func benchOutbox(b *testing.B) *outbox.Outbox {
	b.Helper()
	key := make([]byte, 32)
	rand.Read(key)
	ob, err := outbox.Open(filepath.Join(b.TempDir(), "outbox"), key, outbox.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return ob
}

// benchScanMessage returns a message with a 10 MB scan (a PDF header and
// random bytes) as its document, and the scan's size.
func benchScanMessage(b *testing.B) (*send.Message, int64) {
	b.Helper()
	doc := make([]byte, 10<<20)
	copy(doc, "%PDF-1.4\n")
	rand.Read(doc[9:])
	path := filepath.Join(b.TempDir(), "scan.pdf")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		b.Fatal(err)
	}
	m := &send.Message{
		From: mail.Address{Address: testFrom}, To: []mail.Address{{Address: testTo}},
		Subject: testSubject, MessageID: "bench@clinic.example",
		Documents: []send.Document{{Path: path, ContentType: "application/pdf"}},
	}
	return m, int64(len(doc))
}
