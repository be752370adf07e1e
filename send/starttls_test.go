package send

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestStartTLSInjection: a server (or a man in the middle) that sends
// plaintext right after its 220 reply to STARTTLS, hoping the client reads
// it as the first reply inside TLS (the classic STARTTLS command
// injection), here a 421. Submit makes its own TLS client after STARTTLS
// and never uses what go-smtp's reader read ahead in the clear: the client
// says EHLO inside TLS and gets the real reply (which offers no AUTH, so it
// stops at stage auth), never the injected 421.
func TestStartTLSInjection(t *testing.T) {
	leaf, err := testCA().Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		inside []string // the lines the client sent inside TLS
	)
	addr := rawServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		io.WriteString(c, "220 mx.test ESMTP\r\n")
		r.ReadString('\n')
		io.WriteString(c, "250-mx.test\r\n250 STARTTLS\r\n")
		r.ReadString('\n')
		io.WriteString(c, "220 2.0.0 Ready to start TLS\r\n421 4.7.0 injected\r\n")
		tc := tls.Server(&bufferedConn{Conn: c, r: r}, &tls.Config{Certificates: []tls.Certificate{leaf.TLS}})
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		tr := bufio.NewReader(tc)
		for _, reply := range []string{"250 mx.test\r\n", "221 2.0.0 Bye\r\n"} {
			line, err := tr.ReadString('\n')
			if err != nil {
				return
			}
			mu.Lock()
			inside = append(inside, strings.TrimSpace(line))
			mu.Unlock()
			io.WriteString(tc, reply)
		}
	})
	opts := Options{Server: addr, Security: StartTLS, RootCAs: testCA().Pool(), Auth: PasswordAuth(testUser, testPassword), Timeout: 5 * time.Second}
	_, err = Submit(context.Background(), opts, Envelope{From: "a@test", To: []string{"b@test"}}, strings.NewReader("Subject: x\r\n\r\nx\r\n"))
	t.Logf("Submit: %v", err)
	var se *Error
	if !errors.As(err, &se) || se.Stage != "auth" || se.Reply.Code == 421 || strings.Contains(err.Error(), "injected") {
		t.Errorf("Submit = %v (stage %q), want a failure at stage auth, not the injected 421", err, stageOf(se))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(inside) == 0 || !strings.HasPrefix(inside[0], "EHLO ") {
		t.Errorf("inside TLS the client sent %q, want EHLO first", inside)
	}
}

// bufferedConn reads through r (which may hold bytes read ahead of c).
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

func stageOf(e *Error) string {
	if e == nil {
		return ""
	}
	return e.Stage
}
