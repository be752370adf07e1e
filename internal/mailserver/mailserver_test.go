package mailserver

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/smtp"
	"strings"
	"testing"
	"time"
)

// TestDeliveryOverSubmission sends one message with the standard library's
// SMTP client over the STARTTLS submission port and reads it back over IMAPS.
func TestDeliveryOverSubmission(t *testing.T) {
	s := StartT(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	from, to := s.Users[0], s.Users[1]
	body := fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: harness\r\nMessage-ID: <harness-1@example.test>\r\n\r\nhello from the harness\r\n", from, to)
	c, err := smtp.Dial(Addr(s.Submission))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pool, err := s.caPool()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartTLS(&tls.Config{RootCAs: pool, ServerName: Host}); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", from, s.Password, Host)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(from); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(to); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(body))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()

	msgs, err := s.WaitForMessages(ctx, to, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(msgs[0], []byte("hello from the harness")) {
		t.Errorf("delivered message lacks the body:\n%s", msgs[0])
	}
	ids := s.QueueIDs("harness-1@example.test")
	if len(ids) != 1 || !s.Delivered(ids[0]) {
		t.Errorf("queue ids %v not logged as delivered", ids)
	}
}

// TestSubmissionRefusesAuthWithoutTLS checks the submission port's policy:
// no AUTH offered before STARTTLS, and mail without AUTH is refused.
func TestSubmissionRefusesAuthWithoutTLS(t *testing.T) {
	s := StartT(t, Options{})
	c, err := smtp.Dial(Addr(s.Submission))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before STARTTLS")
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Error("STARTTLS not offered on the submission port")
	}
	if err := c.Mail(s.Users[0]); err == nil || !strings.Contains(err.Error(), "530") {
		t.Errorf("MAIL before STARTTLS: got %v, want a 530 refusal", err)
	}
}

// TestPlainPortOffersNoTLS checks that the plaintext-only port does not
// advertise STARTTLS, so clients can be tested against it.
func TestPlainPortOffersNoTLS(t *testing.T) {
	s := StartT(t, Options{})
	c, err := smtp.Dial(Addr(s.Plain))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered on the plaintext-only port")
	}
}

// TestStartFailureIsReported: a start that fails after its directory is
// made (here: the context ends before Dovecot runs) returns the error and
// leaves nothing behind. The error path used to read the logs of a nil
// server and panic, hiding the error (CI, e2e.TestKilledSendsAreRetried).
func TestStartFailureIsReported(t *testing.T) {
	RequireAvailable(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, err := Start(ctx, Options{})
	if err == nil {
		s.Stop()
		t.Fatal("started with a cancelled context")
	}
	if s != nil {
		t.Errorf("a server with the error: %+v", s)
	}
	if !strings.Contains(err.Error(), "dovecot") {
		t.Errorf("error does not say what failed: %v", err)
	}
}
