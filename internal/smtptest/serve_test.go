package smtptest

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

type session struct{ reading chan struct{} }

func (s *session) AuthPlain(string, string) error       { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *session) Reset()                               {}
func (s *session) Logout() error                        { return nil }
func (s *session) Data(r io.Reader) error {
	close(s.reading)
	_, err := io.Copy(io.Discard, r)
	return err
}

// TestStopMidChunk: stop while a BDAT chunk is being received (the case
// in which go-smtp's Server.Close races with the connection's goroutine)
// closes the client's connection and returns once the server is done;
// run under -race it reports nothing.
func TestStopMidChunk(t *testing.T) {
	for range 5 {
		reading := make(chan struct{})
		srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
			return &session{reading: reading}, nil
		}))
		srv.Domain = "mx.test"
		srv.AllowInsecureAuth = true
		// The chunk follows its command in the same write; go-smtp's
		// line limit counts it until the command is handled.
		srv.MaxLineLength = 1 << 20
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		stop := Serve(t, srv, ln)
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute))
		r := bufio.NewReader(c)
		expect := func(code string) {
			t.Helper()
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("waiting for %s: %v", code, err)
				}
				if !strings.HasPrefix(line, code) {
					t.Fatalf("got %q, want %s", line, code)
				}
				if line[3] == ' ' {
					return
				}
			}
		}
		expect("220")
		for _, cmd := range []string{"EHLO c.test", "MAIL FROM:<a@test>", "RCPT TO:<b@test>"} {
			io.WriteString(c, cmd+"\r\n")
			expect("250")
		}
		io.WriteString(c, "BDAT 1000000\r\n"+strings.Repeat("x", 10000))
		select {
		case <-reading:
		case <-time.After(30 * time.Second):
			line, _ := r.ReadString('\n')
			t.Fatalf("the backend's Data did not start; the server said %q", line)
		}
		done := make(chan struct{})
		go func() { stop(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			t.Fatal("stop did not return")
		}
		if _, err := io.Copy(io.Discard, r); err != nil && !strings.Contains(err.Error(), "reset") {
			t.Errorf("the client's connection: %v, want it closed", err)
		}
		stop() // a second call does nothing
	}
}
