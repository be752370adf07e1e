package send

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostile is a scripted SMTP server for the attack tests: it says what a
// hostile server (or a man in the middle, before TLS) chooses, and
// records every byte the client sent, in the clear and inside TLS.
type hostile struct {
	implicit  bool        // TLS from the first byte; else STARTTLS
	tls       *tls.Config // server TLS config; a cert for 127.0.0.1 from testCA if nil
	plainEHLO string      // extensions before TLS, e.g. "STARTTLS CHUNKING"
	// startTLS is the reply to STARTTLS, raw ("220 go ahead\r\n" if
	// empty); after it the server starts TLS unless plainAfter is set.
	startTLS string
	// plainAfter, if set, is written in the clear (after a pause, so that
	// it is not read ahead with the 220) instead of starting TLS.
	plainAfter string
	tlsEHLO    string // extensions inside TLS, e.g. "CHUNKING PIPELINING SIZE 100000000"
	// bdat answers BDAT chunk i (from 0) of n bytes, after reading it; it
	// returns the raw reply and whether to close the connection instead
	// of going on. nil: "250 2.0.0 OK" (with a queue ID for LAST).
	bdat func(i, n int, last bool) (reply string, hangUp bool)
	// bdatCut, if > 0, closes the connection after that many bytes of
	// the first chunk were read (a server that dies mid-chunk).
	bdatCut int

	mu       sync.Mutex
	clear    bytes.Buffer // every byte from the client before TLS
	afterTLS bytes.Buffer // raw bytes from the client after STARTTLS's reply, before the TLS server reads them
	cmds     []string     // command lines inside TLS
	chunks   []int        // BDAT sizes received in full
	gotLast  bool         // the chunk marked LAST arrived in full
	gotDot   bool         // the final "." of DATA arrived
	body     bytes.Buffer // the chunks or the DATA body
	handshk  *tls.ClientHelloInfo

	srv *rawSrv
}

// idle waits until the server has handled every connection so far: what
// it recorded is then all the client sent.
func (h *hostile) idle() { h.srv.idle() }

// recConn records what is read from the client into buf while rec is set.
type recConn struct {
	net.Conn
	h   *hostile
	buf *bytes.Buffer
}

func (r *recConn) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.h.mu.Lock()
	if r.buf != nil {
		r.buf.Write(p[:n])
	}
	r.h.mu.Unlock()
	return n, err
}

func (h *hostile) start(t *testing.T) string {
	t.Helper()
	cfg := h.tls
	if cfg == nil {
		leaf, err := testCA().Issue("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		cfg = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	}
	cfg = cfg.Clone()
	inner := cfg.GetConfigForClient
	cfg.GetConfigForClient = func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		h.mu.Lock()
		h.handshk = chi
		h.mu.Unlock()
		if inner != nil {
			return inner(chi)
		}
		return nil, nil
	}
	h.srv = startRaw(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		rc := &recConn{Conn: c, h: h, buf: &h.clear}
		var conn net.Conn = rc
		if !h.implicit {
			r := bufio.NewReader(rc)
			io.WriteString(c, "220 mx.test ESMTP\r\n")
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
				case strings.HasPrefix(cmd, "EHLO"):
					io.WriteString(c, ehlo(h.plainEHLO))
					continue
				case cmd == "STARTTLS":
				default:
					io.WriteString(c, "503 5.5.1 STARTTLS first\r\n")
					continue
				}
				break
			}
			reply := h.startTLS
			if reply == "" {
				reply = "220 2.0.0 go ahead\r\n"
			}
			io.WriteString(c, reply)
			if !strings.HasPrefix(reply, "220") {
				io.Copy(io.Discard, r) // record whatever else the client says in the clear
				return
			}
			h.mu.Lock()
			rc.buf = &h.afterTLS
			h.mu.Unlock()
			if h.plainAfter != "" {
				time.Sleep(100 * time.Millisecond)
				io.WriteString(c, h.plainAfter)
				io.Copy(io.Discard, r)
				return
			}
			conn = &bufferedConn{Conn: rc, r: r}
		}
		tc := tls.Server(conn, cfg)
		if err := tc.Handshake(); err != nil {
			return
		}
		h.mu.Lock()
		rc.buf = nil
		h.mu.Unlock()
		if h.implicit {
			io.WriteString(tc, "220 mx.test ESMTP\r\n")
		}
		h.session(tc)
	})
	return h.srv.addr
}

// ehlo makes a 250 EHLO reply listing exts (space-separated keywords;
// "SIZE 100" stays one line as "SIZE=100" is written "SIZE_100").
func ehlo(exts string) string {
	lines := []string{"mx.test"}
	for _, e := range strings.Fields(exts) {
		lines = append(lines, strings.ReplaceAll(e, "_", " "))
	}
	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		b.WriteString("250" + sep + l + "\r\n")
	}
	return b.String()
}

// session answers commands inside TLS.
func (h *hostile) session(c net.Conn) {
	r := bufio.NewReader(c)
	chunk := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		h.mu.Lock()
		h.cmds = append(h.cmds, cmd)
		h.mu.Unlock()
		f := strings.Fields(cmd)
		switch verb := strings.ToUpper(f[0]); {
		case verb == "EHLO":
			io.WriteString(c, ehlo(h.tlsEHLO))
		case verb == "AUTH":
			io.WriteString(c, "235 2.7.0 ok\r\n")
		case verb == "MAIL", verb == "RCPT", verb == "RSET", verb == "NOOP":
			io.WriteString(c, "250 2.0.0 OK\r\n")
		case verb == "DATA":
			io.WriteString(c, "354 go on\r\n")
			tr := bufio.NewReader(r)
			for {
				l, err := tr.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					h.mu.Lock()
					h.gotDot = true
					h.mu.Unlock()
					break
				}
				h.mu.Lock()
				h.body.WriteString(strings.TrimPrefix(l, "."))
				h.mu.Unlock()
			}
			r = tr
			io.WriteString(c, "250 2.0.0 Ok: queued as DATA1\r\n")
		case verb == "BDAT" && len(f) >= 2:
			n, err := strconv.Atoi(f[1])
			if err != nil {
				io.WriteString(c, "501 5.5.4 bad size\r\n")
				return
			}
			last := len(f) == 3 && strings.EqualFold(f[2], "LAST")
			want := n
			if h.bdatCut > 0 && chunk == 0 {
				want = h.bdatCut
			}
			buf := make([]byte, want)
			if _, err := io.ReadFull(r, buf); err != nil {
				return
			}
			if want < n {
				return // dies mid-chunk
			}
			h.mu.Lock()
			h.chunks = append(h.chunks, n)
			h.body.Write(buf)
			if last {
				h.gotLast = true
			}
			h.mu.Unlock()
			reply, hangUp := "250 2.0.0 chunk OK\r\n", false
			if last {
				reply = "250 2.0.0 Ok: queued as BDAT1\r\n"
			}
			if h.bdat != nil {
				reply, hangUp = h.bdat(chunk, n, last)
			}
			chunk++
			if reply != "" {
				io.WriteString(c, reply)
			}
			if hangUp {
				return
			}
		case verb == "QUIT":
			io.WriteString(c, "221 2.0.0 Bye\r\n")
			return
		default:
			io.WriteString(c, "500 5.5.1 what\r\n")
		}
	}
}

// commands returns the verbs the client sent inside TLS.
func (h *hostile) verbs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var v []string
	for _, c := range h.cmds {
		v = append(v, strings.ToUpper(strings.Fields(c)[0]))
	}
	return v
}

func (h *hostile) mailLine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.cmds {
		if strings.HasPrefix(strings.ToUpper(c), "MAIL ") {
			return c
		}
	}
	return ""
}
