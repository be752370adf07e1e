package send

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// TestAttackEndlessReply: a server that answers with a multi-line reply
// that never ends ("220-" or "250-" lines without a last line) must not
// keep the client reading until memory runs out. go-smtp's client reads a
// reply whole; before, Submit read all 64 MiB the server sent here (and
// would have read on). Now it stops after maxServerBytes with
// ErrServerTooMuch, for the greeting and for a later reply alike.
func TestAttackEndlessReply(t *testing.T) {
	leaf, err := testCA().Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	line := "-" + strings.Repeat("x", 990) + "\r\n"
	flood := func(w io.Writer, code string) int64 {
		var n int64
		for n < 64<<20 {
			k, err := io.WriteString(w, code+line)
			n += int64(k)
			if err != nil {
				break
			}
		}
		return n
	}
	for _, tc := range []struct {
		name  string
		serve func(tc *tls.Conn) int64
	}{
		{"greeting", func(tc *tls.Conn) int64 { return flood(tc, "220") }},
		{"EHLO reply", func(tc *tls.Conn) int64 {
			io.WriteString(tc, "220 mx.test ESMTP\r\n")
			buf := make([]byte, 512)
			tc.Read(buf) // EHLO
			return flood(tc, "250")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := make(chan int64, 1)
			addr := rawServer(t, func(c net.Conn) {
				c.SetDeadline(time.Now().Add(30 * time.Second))
				tc2 := tls.Server(c, cfg)
				if err := tc2.Handshake(); err != nil {
					sent <- 0
					return
				}
				sent <- tc.serve(tc2)
			})
			opts := Options{Server: addr, Security: ImplicitTLS, RootCAs: testCA().Pool(), Timeout: 20 * time.Second}
			_, err := Submit(context.Background(), opts, attackEnvelope, bytes.NewReader(attackBody(1000)))
			if !errors.Is(err, ErrServerTooMuch) {
				t.Fatalf("Submit = %v, want ErrServerTooMuch", err)
			}
			if n := <-sent; n >= 64<<20 {
				t.Errorf("the client read all %d bytes the server sent", n)
			}
		})
	}
}
