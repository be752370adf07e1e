//go:build unix

package outbox_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net/mail"
	"testing"
	"time"

	"github.com/securesend/securesend/internal/mailserver"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// TestCrashPostfix: the child is killed after the real Postfix accepted
// the message (implicit TLS, SASL) and before the outcome was recorded.
// After the restart the job is possibly sent and waits; once confirmed it
// is resent with the same Message-ID, and the mailbox holds two copies
// with that one Message-ID, for the receiver to de-duplicate.
func TestCrashPostfix(t *testing.T) {
	pf := mailserver.StartT(t, mailserver.Options{})
	f := newFixture(t, outbox.Options{})
	tg := target{addr: mailserver.Addr(pf.SMTPS), caPEM: pf.CAPEM, user: pf.Users[0], password: pf.Password, from: pf.Users[0], to: pf.Users[1]}
	run := runChild(t, f, tg, "after-submit", f.dir, -1)
	if !run.enqueued || run.done {
		t.Fatalf("child did not stop after submitting (enqueued %v, done %v)", run.enqueued, run.done)
	}
	ob := f.open(outbox.Options{})
	recs, err := ob.List()
	if err != nil || len(recs) != 1 || recs[0].State != outbox.PossiblySent {
		t.Fatalf("after restart: %+v, %v", recs, err)
	}
	id := recs[0].ID
	submit := func(ctx context.Context, env send.Envelope, body io.Reader) (*send.Result, error) {
		return send.Submit(ctx, send.Options{Server: tg.addr, RootCAs: poolOf(t, pf.CAPEM), Auth: send.PasswordAuth(tg.user, tg.password), Timeout: 30 * time.Second}, env, body)
	}
	if recs, err := ob.RunDue(t.Context(), submit); err != nil || len(recs) != 0 {
		t.Fatalf("RunDue resent a possibly-sent job: %+v, %v", recs, err)
	}
	if _, err := ob.ConfirmResend(id); err != nil {
		t.Fatal(err)
	}
	rec, err := ob.Deliver(t.Context(), id, submit)
	if err != nil || rec.State != outbox.Sent || rec.Result.QueueID == "" {
		t.Fatalf("confirmed resend: %+v, %v", rec, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	msgs, err := pf.WaitForMessages(ctx, tg.to, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		msg, err := mail.ReadMessage(bytes.NewReader(m))
		if err != nil || msg.Header.Get("Message-Id") != "<"+rec.MessageID+">" {
			t.Fatalf("delivered Message-ID %q, want <%s> (%v)", msg.Header.Get("Message-Id"), rec.MessageID, err)
		}
	}
	if !pf.Delivered(rec.Result.QueueID) {
		t.Errorf("Postfix did not log queue id %s as delivered", rec.Result.QueueID)
	}
}

func poolOf(t *testing.T, pem []byte) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate")
	}
	return p
}
