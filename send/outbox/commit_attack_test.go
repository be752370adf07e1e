package outbox_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/internal/smtptest"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// verdictServer is a go-smtp server over implicit TLS whose reply to the
// end of data is verdict (nil: 250); it counts the messages it received
// in full, whatever it answered.
type verdictServer struct {
	addr    string
	verdict error
	hangUp  bool // close the connection instead of replying

	mu       sync.Mutex
	received int
}

func (v *verdictServer) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &verdictSession{v: v, c: c}, nil
}

type verdictSession struct {
	v *verdictServer
	c *smtp.Conn
}

func (s *verdictSession) Reset()                               {}
func (s *verdictSession) Logout() error                        { return nil }
func (s *verdictSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *verdictSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *verdictSession) Data(r io.Reader) error               { return s.data(r) }
func (s *verdictSession) data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.v.mu.Lock()
	s.v.received++
	s.v.mu.Unlock()
	if s.v.hangUp {
		s.c.Conn().Close()
		return errors.New("hung up")
	}
	return s.v.verdict
}

func startVerdict(t *testing.T, f *fixture, v *verdictServer) {
	t.Helper()
	srv := smtp.NewServer(v)
	srv.Domain = "mx.test"
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{f.srv.leaf.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	v.addr = ln.Addr().String()
	smtptest.Serve(t, srv, ln) // not srv.Close: see smtptest
}

// TestAttackDeliveredNeverRetryable: through the outbox, with the commit
// point taken as desk takes it, whatever the server answers after
// receiving the whole message, a job the server may have accepted is
// never queued for another attempt without the user's confirmation: a
// success (250, and a 251 a server may send) is sent, a hang-up is
// possibly sent, a permanent refusal failed; only a 4xx is retried. Run
// due twice more (the clock far ahead): the server never gets a second
// copy except after a 4xx.
func TestAttackDeliveredNeverRetryable(t *testing.T) {
	for _, tc := range []struct {
		name    string
		verdict error
		hangUp  bool
		want    outbox.State
		copies  int // what the server received in the end
	}{
		{"250", nil, false, outbox.Sent, 1},
		{"251", &smtp.SMTPError{Code: 251, EnhancedCode: smtp.EnhancedCode{2, 1, 5}, Message: "forwarded"}, false, outbox.Sent, 1},
		{"hang-up after the dot", nil, true, outbox.PossiblySent, 1},
		{"554 after the dot", &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "no"}, false, outbox.Failed, 1},
		{"451 after the dot", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "later"}, false, outbox.Deferred, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, outbox.Options{})
			v := &verdictServer{verdict: tc.verdict, hangUp: tc.hangUp}
			startVerdict(t, f, v)
			submit := func(ctx context.Context, env send.Envelope, body io.Reader) (*send.Result, error) {
				opts := send.Options{Server: v.addr, RootCAs: f.srv.ca.Pool(), Timeout: 5 * time.Second,
					BeforeCommit: outbox.BeforeCommit(ctx)}
				return send.Submit(ctx, opts, env, body)
			}
			m, _ := f.message(20_000)
			id := f.enqueue(m)
			rec, _ := f.ob.Deliver(t.Context(), id, submit)
			if rec.State != tc.want {
				t.Fatalf("state %s (%s), want %s", rec.State, rec.LastError, tc.want)
			}
			for range 2 {
				f.clock.Advance(2 * time.Hour)
				if _, err := f.ob.RunDue(t.Context(), submit); err != nil {
					t.Fatal(err)
				}
			}
			v.mu.Lock()
			got := v.received
			v.mu.Unlock()
			if got != tc.copies {
				t.Errorf("the server received %d copies, want %d", got, tc.copies)
			}
			// A restart changes nothing.
			rec, err := f.open(outbox.Options{}).Get(id)
			if err != nil {
				t.Fatal(err)
			}
			if tc.copies == 1 && rec.State != tc.want {
				t.Errorf("after a restart: %s, want %s", rec.State, tc.want)
			}
		})
	}
}
