package send

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// dotBodies are message bodies that stress the DATA encoding: leading
// dots, a "." alone, the end-of-data sequence inside the body, bare CR and
// LF, no final line end, a very long line, nothing at all.
var dotBodies = []struct {
	name string
	body string
}{
	{"empty", ""},
	{"plain, CRLF", "Subject: x\r\n\r\nhello\r\n"},
	{"no final line end", "Subject: x\r\n\r\nhello"},
	{"leading dots", ".a\r\n..b\r\n...\r\n"},
	{"a dot alone", "Subject: x\r\n\r\n.\r\nafter\r\n"},
	{"a dot alone, last", "Subject: x\r\n\r\n.\r\n"},
	{"a dot alone, no line end", "Subject: x\r\n\r\n."},
	{"end of data inside", "a\r\n.\r\nQUIT\r\n"},
	{"starts with a dot", ".\r\n"},
	{"bare LF", "a\nb\n.\nc\n"},
	{"bare LF, last", "a\n."},
	{"bare CR", "a\rb\r.\rc"},
	{"ends in CR", "a\r\nb\r"},
	{"ends in CR CR", "a\r\nb\r\r"},
	{"CR CR LF", "a\r\r\n.b\r\r\n"},
	{"LF CR", "a\n\r.\n\r"},
	{"dot after CR", "a\r.b\r\n"},
	{"very long line", strings.Repeat("x", 300_000) + "\r\n." + strings.Repeat(".", 70_000)},
	{"long line ending in CR", strings.Repeat("y", 40_000) + "\r"},
}

// dataWire is a raw SMTP server over implicit TLS that records, byte for
// byte, what the client sends between the 354 reply and the end of data
// ("\r\n.\r\n", or ".\r\n" first), and answers it with final.
type dataWire struct {
	// final is written after the end of data; "" writes nothing. With
	// hangUp the connection is then closed.
	final  string
	hangUp bool
	// early, if set, is written right after 354, before the data (a
	// server that answers mid-data); the data is still read.
	early string

	mu    sync.Mutex
	wires [][]byte // one per DATA, the end of data included
	ended bool

	srv *rawSrv
}

func (d *dataWire) start(t *testing.T) string {
	t.Helper()
	leaf, err := testCA().Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	d.srv = startRaw(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, cfg)
		if tc.Handshake() != nil {
			return
		}
		io.WriteString(tc, "220 mx.test ESMTP\r\n")
		r := bufio.NewReader(tc)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			switch verb := strings.ToUpper(strings.Fields(line + " x")[0]); verb {
			case "EHLO", "HELO":
				io.WriteString(tc, "250-mx.test\r\n250 PIPELINING\r\n")
			case "MAIL", "RCPT", "RSET", "NOOP":
				io.WriteString(tc, "250 2.0.0 OK\r\n")
			case "DATA":
				io.WriteString(tc, "354 go on\r\n")
				if d.early != "" {
					io.WriteString(tc, d.early)
				}
				// Line by line (a line ends at LF), not byte by byte: a
				// slow server here makes the client's wait for the reply
				// time out on a loaded machine.
				var wire []byte
				for {
					line, err := r.ReadSlice('\n')
					wire = append(wire, line...)
					if err == bufio.ErrBufferFull {
						continue
					}
					if err != nil {
						return
					}
					if bytes.Equal(wire, []byte(".\r\n")) || bytes.HasSuffix(wire, []byte("\r\n.\r\n")) {
						break
					}
				}
				d.mu.Lock()
				d.wires = append(d.wires, wire)
				d.ended = true
				d.mu.Unlock()
				if d.final != "" {
					io.WriteString(tc, d.final)
				}
				if d.hangUp {
					return
				}
			case "QUIT":
				io.WriteString(tc, "221 2.0.0 Bye\r\n")
				return
			default:
				io.WriteString(tc, "500 5.5.1 what\r\n")
			}
		}
	})
	return d.srv.addr
}

// idle waits until the server has handled every connection so far: what
// it recorded is then all the client sent.
func (d *dataWire) idle() { d.srv.idle() }

func (d *dataWire) last(t *testing.T) []byte {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.wires) == 0 {
		t.Fatal("the server received no complete DATA")
	}
	return d.wires[len(d.wires)-1]
}

// goSMTPData sends body with go-smtp's own client and DataWriter.
func goSMTPData(t *testing.T, addr string, body []byte) {
	t.Helper()
	c, err := smtp.DialTLS(addr, &tls.Config{RootCAs: testCA().Pool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail(attackEnvelope.From, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(attackEnvelope.To[0], nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
}

// TestAttackDotStuffingWire: the DATA stream Submit writes itself (so that
// it can stop right before the final ".") is, byte for byte, the one
// go-smtp's DataWriter writes for the same body, commit point or not; and
// a go-smtp server stores the same message from both.
func TestAttackDotStuffingWire(t *testing.T) {
	for _, tc := range dotBodies {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)

			ref := &dataWire{final: "250 2.0.0 Ok: queued as REF\r\n"}
			goSMTPData(t, ref.start(t), body)
			want := ref.last(t)

			for _, hook := range []bool{false, true} {
				d := &dataWire{final: "250 2.0.0 Ok: queued as OURS\r\n"}
				opts := Options{Server: d.start(t), RootCAs: testCA().Pool(), Timeout: 5 * time.Second}
				if hook {
					opts.BeforeCommit = func() error { return nil }
				}
				if _, err := Submit(context.Background(), opts, attackEnvelope, bytes.NewReader(body)); err != nil {
					t.Fatalf("Submit (commit point %v): %v", hook, err)
				}
				if got := d.last(t); !bytes.Equal(got, want) {
					t.Errorf("commit point %v: DATA stream differs from go-smtp's\n got %q\nwant %q", hook, clip(got), clip(want))
				}
			}

		})
	}
}

func clip(b []byte) []byte {
	if len(b) > 200 {
		return append(append(append([]byte(nil), b[:100]...), "…"...), b[len(b)-100:]...)
	}
	return b
}

// TestAttackRepliesAfterCommit: whatever the server answers after the
// final "." (or not), Submit's error says what the outbox needs: success
// only on a 2xx, a 4xx/5xx verdict as a reply (retry or fail: the server
// refused it), and anything else — silence, a hang-up, garbage, a reply
// that is neither success nor failure — as a temporary failure at stage
// "data-reply" without a reply code, which the outbox makes possibly
// sent. Never a permanent failure for a message the server may have
// accepted.
func TestAttackRepliesAfterCommit(t *testing.T) {
	for _, tc := range []struct {
		name   string
		d      *dataWire
		ok     bool
		code   int  // reply code of the *Error
		temp   bool // ErrTemporary
		ending bool // the final "." went out
		// silent: no final reply comes, so the client's timeout ends
		// the wait; kept short. Every other case waits for what the
		// server does, with room for a loaded machine.
		silent bool
	}{
		{"250", &dataWire{final: "250 2.0.0 Ok: queued as X1\r\n"}, true, 0, false, true, false},
		{"251, another success", &dataWire{final: "251 2.1.5 Ok, forwarded\r\n"}, true, 0, false, true, false},
		{"multi-line 250", &dataWire{final: "250-2.0.0 Ok\r\n250 2.0.0 queued as X2\r\n"}, true, 0, false, true, false},
		{"552 after the dot", &dataWire{final: "552 5.3.4 too big\r\n"}, false, 552, false, true, false},
		{"554 after the dot", &dataWire{final: "554 5.7.1 rejected\r\n"}, false, 554, false, true, false},
		{"451 after the dot", &dataWire{final: "451 4.3.0 try later\r\n"}, false, 451, true, true, false},
		{"no reply, hang-up", &dataWire{hangUp: true}, false, 0, true, true, false},
		{"no reply at all", &dataWire{}, false, 0, true, true, true},
		{"garbage", &dataWire{final: "hello there\r\n"}, false, 0, true, true, false},
		{"354 again", &dataWire{final: "354 more please\r\n"}, false, 0, true, true, false},
		{"a 1xx", &dataWire{final: "199 hm\r\n"}, false, 0, true, true, false},
		{"554 mid-data", &dataWire{early: "554 5.7.1 go away\r\n", final: "250 2.0.0 Ok\r\n"}, false, 554, false, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.d
			timeout := 30 * time.Second
			if tc.silent {
				timeout = 2 * time.Second
			}
			opts := Options{Server: d.start(t), RootCAs: testCA().Pool(), Timeout: timeout}
			committed := 0
			opts.BeforeCommit = func() error { committed++; return nil }
			_, err := Submit(context.Background(), opts, attackEnvelope, bytes.NewReader(attackBody(100_000)))
			if committed != 1 {
				t.Errorf("commit point reached %d times", committed)
			}
			d.idle()
			d.mu.Lock()
			ended := d.ended
			d.mu.Unlock()
			if ended != tc.ending {
				t.Errorf("end of data sent: %v, want %v", ended, tc.ending)
			}
			if tc.ok {
				if err != nil {
					t.Fatalf("Submit: %v, want success", err)
				}
				return
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("Submit = %v, want *Error", err)
			}
			if se.Stage != "data-reply" || se.Reply.Code != tc.code || se.Temporary() != tc.temp {
				t.Errorf("stage %q, reply %d, temporary %v (%v); want data-reply, %d, %v", se.Stage, se.Reply.Code, se.Temporary(), err, tc.code, tc.temp)
			}
			if !tc.temp && se.Reply.Code == 0 {
				t.Errorf("a permanent failure without the server's verdict: %v", err)
			}
		})
	}
}

// TestAttackDropAfterCommit: the connection dropped exactly at the commit
// point (after every byte, before the final "."): nothing goes out after
// it, and the failure is at stage "data", which the outbox retries (the
// server discards an unterminated message).
func TestAttackDropAfterCommit(t *testing.T) {
	d := &dataWire{final: "250 2.0.0 Ok\r\n"}
	addr := d.start(t)
	var conn net.Conn
	opts := Options{Server: addr, RootCAs: testCA().Pool(), Timeout: 30 * time.Second,
		Dial: func(ctx context.Context, network, a string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, a)
			conn = c
			return c, err
		}}
	opts.BeforeCommit = func() error { conn.Close(); return nil }
	_, err := Submit(context.Background(), opts, attackEnvelope, bytes.NewReader(attackBody(50_000)))
	var se *Error
	if !errors.As(err, &se) || se.Stage != "data" || !se.Temporary() {
		t.Fatalf("Submit = %v (%+v), want a temporary failure at stage data", err, se)
	}
	d.idle()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ended {
		t.Error("the server received the end of data")
	}
}

// TestAttackCancelAtCommit: ctx cancelled inside the commit point: the
// final "." never goes out, and the failure is retryable.
func TestAttackCancelAtCommit(t *testing.T) {
	d := &dataWire{final: "250 2.0.0 Ok\r\n"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := Options{Server: d.start(t), RootCAs: testCA().Pool(), Timeout: 30 * time.Second,
		BeforeCommit: func() error { cancel(); return nil }}
	_, err := Submit(ctx, opts, attackEnvelope, bytes.NewReader(attackBody(50_000)))
	var se *Error
	if !errors.As(err, &se) || se.Stage == "data-reply" || !se.Temporary() {
		t.Fatalf("Submit = %v, want a temporary failure before the end of data", err)
	}
	d.idle()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ended {
		t.Error("the server received the end of data after ctx was cancelled at the commit point")
	}
}

// TestAttackRepliesAfterBDATLast: the same rule for the reply to "BDAT 0
// LAST": any 2xx is success, a refusal is the verdict, anything else
// leaves the message possibly accepted (no reply code, temporary).
func TestAttackRepliesAfterBDATLast(t *testing.T) {
	for _, tc := range []struct {
		reply string
		ok    bool
		code  int
		temp  bool
	}{
		{"250 2.0.0 Ok: queued as B1\r\n", true, 0, false},
		{"251 2.1.5 Ok, forwarded\r\n", true, 0, false},
		{"552 5.3.4 too big\r\n", false, 552, false},
		{"451 4.3.0 later\r\n", false, 451, true},
		{"354 more\r\n", false, 0, true},
		{"garbage\r\n", false, 0, true},
		{"", false, 0, true}, // hang-up
	} {
		t.Run(strings.TrimSpace(tc.reply), func(t *testing.T) {
			h := &hostile{implicit: true, tlsEHLO: "CHUNKING PIPELINING", bdat: func(i, n int, last bool) (string, bool) {
				if last {
					return tc.reply, tc.reply == ""
				}
				return "250 2.0.0 chunk OK\r\n", false
			}}
			opts := Options{Server: h.start(t), RootCAs: testCA().Pool(), Timeout: 30 * time.Second,
				BeforeCommit: func() error { return nil }}
			res, err := Submit(context.Background(), opts, attackEnvelope, bytes.NewReader(attackBody(bdatChunk+100)))
			if tc.ok {
				if err != nil {
					t.Fatalf("Submit: %v, want success", err)
				}
				if got := strconv.Itoa(res.Reply.Code); got != tc.reply[:3] {
					t.Errorf("reply %+v, want code %s", res.Reply, tc.reply[:3])
				}
				return
			}
			var se *Error
			if !errors.As(err, &se) || se.Stage != "data-reply" || se.Reply.Code != tc.code || se.Temporary() != tc.temp {
				t.Fatalf("Submit = %v (%+v), want data-reply, code %d, temporary %v", err, se, tc.code, tc.temp)
			}
		})
	}
}
