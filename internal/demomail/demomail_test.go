package demomail

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/textproto"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

func start(t *testing.T) *System {
	t.Helper()
	s, err := Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func tlsConfig(s *System) *tls.Config {
	return &tls.Config{RootCAs: s.RootCAs(), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

const body = "From: clinician@demo.test\r\nTo: pharmacy@demo.test\r\nSubject: test\r\nMessage-ID: <1@demo.test>\r\n\r\nhello pharmacy\r\n"

func TestSendImplicitTLSThenFetch(t *testing.T) {
	s := start(t)
	c, err := smtp.DialTLS(s.SMTPAddr, tlsConfig(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("REQUIRETLS"); !ok {
		t.Error("REQUIRETLS not advertised")
	}
	// Sending before AUTH is refused.
	if err := c.Mail(Clinician, nil); err == nil {
		t.Fatal("MAIL FROM accepted without AUTH")
	}
	cl, _ := s.Account(Clinician)
	if err := c.Auth(sasl.NewPlainClient("", cl.Address, cl.Password)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(Clinician, &smtp.MailOptions{RequireTLS: true}); err != nil {
		t.Fatal(err)
	}
	err = c.Rcpt("someone@example.com", nil)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 {
		t.Fatalf("outside recipient: got %v, want 550", err)
	}
	if err := c.Rcpt(Pharmacy, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusText == "" || !strings.Contains(resp.StatusText, "queued as DEMO") {
		t.Errorf("data reply %q has no queue id", resp.StatusText)
	}
	_ = c.Quit()

	got, err := s.Fetch(context.Background(), Pharmacy)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("pharmacy inbox has %d messages, want 1", len(got))
	}
	raw := string(got[0].Raw)
	if !strings.Contains(raw, "hello pharmacy") || !strings.Contains(raw, "Received: ") {
		t.Errorf("delivered message:\n%s", raw)
	}
	if mine, err := s.Fetch(context.Background(), Clinician); err != nil || len(mine) != 0 {
		t.Errorf("clinician inbox: %d messages, %v", len(mine), err)
	}
}

func TestStartTLSRequiredBeforeAuth(t *testing.T) {
	s := start(t)
	// Plaintext EHLO: STARTTLS offered, AUTH not.
	tc, err := textproto.Dial("tcp", s.StartTLSAddr)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tc.ReadResponse(220); err != nil {
		t.Fatal(err)
	}
	id, _ := tc.Cmd("EHLO localhost")
	tc.StartResponse(id)
	_, ext, err := tc.ReadResponse(250)
	tc.EndResponse(id)
	tc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ext, "AUTH") || !strings.Contains(ext, "STARTTLS") {
		t.Fatalf("plaintext EHLO reply:\n%s", ext)
	}

	conn, err := net.Dial("tcp", s.StartTLSAddr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClientStartTLS(conn, tlsConfig(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, _ := s.Account(Clinician)
	if err := c.Auth(sasl.NewPlainClient("", cl.Address, "wrong")); err == nil {
		t.Error("wrong password accepted")
	}
	if err := c.Auth(sasl.NewPlainClient("", cl.Address, cl.Password)); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(Pharmacy, nil); err == nil {
		t.Error("MAIL FROM another account accepted")
	}
}

func TestCertificateFromOtherCARefused(t *testing.T) {
	s := start(t)
	other := start(t)
	_, err := smtp.DialTLS(s.SMTPAddr, tlsConfig(other))
	if err == nil {
		t.Fatal("TLS accepted with a certificate from another run's CA")
	}
}

func TestPasswordsRandomPerRun(t *testing.T) {
	a, b := start(t), start(t)
	if a.Accounts[0].Password == b.Accounts[0].Password || a.Accounts[0].Password == a.Accounts[1].Password {
		t.Error("passwords repeat")
	}
}

func TestCloseOnContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-s.done
	if _, err := s.Fetch(context.Background(), Pharmacy); err == nil {
		t.Error("fetch after close succeeded")
	}
}
