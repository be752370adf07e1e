package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// damagedPrefix is how a damaged stored message is reported in the job's
// LastError, whether the damage is found before the upload or during it.
const damagedPrefix = "the stored message is damaged or was altered, so it was not sent: outbox: " +
	"atrest: the stored data was altered or is incomplete; do not use it ("

// TestDamagedMidUpload: damage after the first chunk of a stored message
// is found while it is uploaded (one decrypting pass, no check before).
// The upload must be abandoned without the final "." (the server never
// completes the message), and the job must fail exactly as when the whole
// file was checked first: state failed, "damaged" text, no retry, audit
// send.failed.
func TestDamagedMidUpload(t *testing.T) {
	const tagLen = 16
	damage := map[string]func(t *testing.T, b []byte) []byte{
		"flip late": func(_ *testing.T, b []byte) []byte {
			b[len(b)-5000] ^= 1
			return b
		},
		"flip final tag": func(_ *testing.T, b []byte) []byte {
			b[len(b)-1] ^= 0x80
			return b
		},
		"truncate": truncate100,
		// Whole chunks, each with a valid tag, in a re-framed packet:
		// only the final tag over the length tells.
		"drop last chunk": func(t *testing.T, b []byte) []byte {
			skesk, body := splitMessage(t, b)
			chunk := 256<<10 + tagLen
			data := body[36 : len(body)-tagLen]
			last := (len(data) - 1) / chunk * chunk // start of the last chunk
			forged := append(bytes.Clone(body[:36+last-chunk]), body[36+last:]...)
			return append(pgptest.PacketBytes(3, skesk), pgptest.PacketBytes(18, forged)...)
		},
	}
	for name, spoil := range damage {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, outbox.Options{})
			id := f.enqueueSpoiled(2<<20, spoil) // about 2.7 MB stored: 11 chunks
			rec, err := f.ob.Deliver(t.Context(), id, f.srv.submit)
			if err == nil || rec.State != outbox.Failed {
				t.Fatalf("damaged: %v, %+v", err, rec)
			}
			if !strings.HasPrefix(rec.LastError, damagedPrefix) || rec.LastError != err.Error() {
				t.Errorf("LastError %q\nerr %q\nwant prefix %q", rec.LastError, err, damagedPrefix)
			}
			if !rec.NextAttempt.IsZero() {
				t.Errorf("a retry is scheduled at %v", rec.NextAttempt)
			}
			if n := len(f.srv.messages()); n != 0 {
				t.Fatalf("the server accepted %d message(s)", n)
			}
			// It was really streamed, and abandoned mid-DATA.
			// (The server notices the closed connection on its own time.)
			ab := f.srv.abortedUploads()
			for deadline := time.Now().Add(10 * time.Second); len(ab) == 0 && time.Now().Before(deadline); ab = f.srv.abortedUploads() {
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("upload abandoned after %d of %d bytes", ab, rec.Size)
			if len(ab) != 1 || ab[0] < 256<<10 {
				t.Errorf("aborted uploads (bytes received) = %v, want one after the first chunk", ab)
			}
			if got := f.auditKinds(); got[len(got)-1] != audit.SendFailed {
				t.Errorf("audit = %v", got)
			}
			// Not retried.
			f.clock.Advance(2 * time.Hour)
			f.runDue()
			if f.srv.attemptCount() != 1 || len(f.srv.messages()) != 0 {
				t.Errorf("retried: %d attempts, %d accepted", f.srv.attemptCount(), len(f.srv.messages()))
			}
			if got := f.get(id); got.State != outbox.Failed || got.LastError != rec.LastError {
				t.Errorf("after RunDue: %s %q", got.State, got.LastError)
			}
		})
	}
}

// TestDamagedFirstChunk: damage in the first chunk (and so any damage of a
// small message's content) is found by atrest.Decrypt before any network
// I/O, with the same text.
func TestDamagedFirstChunk(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	id := f.enqueueSpoiled(2<<20, func(_ *testing.T, b []byte) []byte { b[1000] ^= 1; return b })
	rec, err := f.ob.Deliver(t.Context(), id, f.srv.submit)
	if err == nil || rec.State != outbox.Failed || !strings.HasPrefix(rec.LastError, damagedPrefix) {
		t.Fatalf("damaged: %v, %+v", err, rec)
	}
	if f.srv.attemptCount() != 0 {
		t.Fatal("a damaged message reached the server")
	}
}

// TestDamagedSubmitIgnoresError: a SubmitFunc that completes the message
// although the body failed (send.Submit never does) does not make the job
// sent.
func TestDamagedSubmitIgnoresError(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	id := f.enqueueSpoiled(2<<20, truncate100)
	sloppy := func(_ context.Context, _ send.Envelope, body io.Reader) (*send.Result, error) {
		io.Copy(io.Discard, body) // error ignored
		return &send.Result{}, nil
	}
	rec, err := f.ob.Deliver(t.Context(), id, sloppy)
	if err == nil || rec.State != outbox.Failed || !strings.HasPrefix(rec.LastError, damagedPrefix) ||
		!strings.Contains(rec.LastError, "incomplete message") {
		t.Fatalf("damaged: %v, %+v", err, rec)
	}
}

// TestDamagedErrorFromSubmit: the error send.Submit returns for a failing
// body (kind ErrInvalidMessage, stage "data") wraps atrest.ErrTampered,
// which is what the outbox recognises.
func TestDamagedErrorFromSubmit(t *testing.T) {
	f := newFixture(t, outbox.Options{})
	id := f.enqueueSpoiled(2<<20, truncate100)
	var subErr error
	spy := func(ctx context.Context, env send.Envelope, body io.Reader) (*send.Result, error) {
		res, err := f.srv.submit(ctx, env, body)
		subErr = err
		return res, err
	}
	if _, err := f.ob.Deliver(t.Context(), id, spy); err == nil {
		t.Fatal("no error")
	}
	var se *send.Error
	if !errors.As(subErr, &se) || se.Stage != "data" || !errors.Is(subErr, send.ErrInvalidMessage) || !errors.Is(subErr, atrest.ErrTampered) {
		t.Fatalf("send.Submit returned %v (%#v)", subErr, se)
	}
}

// splitMessage returns the bodies of the two packets of a stored file: the
// session key packet and the SEIPD packet.
func splitMessage(t *testing.T, b []byte) (skesk, seipd []byte) {
	t.Helper()
	tag1, skesk, rest := pgptest.SplitPacket(t, b)
	tag2, seipd, rest := pgptest.SplitPacket(t, rest)
	if tag1 != 3 || tag2 != 18 || len(rest) != 0 {
		t.Fatalf("packets %d, %d, %d bytes after", tag1, tag2, len(rest))
	}
	return skesk, seipd
}
