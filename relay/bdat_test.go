package relay

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// rawSession is a device's session spoken line by line (go-smtp's client
// has no BDAT): STARTTLS, signed in, with every reply checked.
type rawSession struct {
	t *testing.T
	c net.Conn
	*textproto.Conn
}

func rawSignedIn(t *testing.T, tr *testRelay) *rawSession {
	t.Helper()
	nc, err := net.Dial("tcp", tr.addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(60 * time.Second))
	s := &rawSession{t: t, c: nc, Conn: textproto.NewConn(nc)}
	t.Cleanup(func() { s.c.Close() })
	s.expect(220, "")
	s.cmd(250, "EHLO mfd.test")
	s.cmd(220, "STARTTLS")
	tc := tls.Client(nc, &tls.Config{InsecureSkipVerify: true}) // a test: the relay's own cert
	s.c, s.Conn = tc, textproto.NewConn(tc)
	s.cmd(250, "EHLO mfd.test")
	s.cmd(235, "AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00frontdesk\x00"+devicePassword)))
	return s
}

// cmd sends a command and checks its reply's code; it returns the reply.
func (s *rawSession) cmd(code int, format string, a ...any) string {
	s.t.Helper()
	if err := s.PrintfLine(format, a...); err != nil {
		s.t.Fatal(err)
	}
	return s.expect(code, format)
}

func (s *rawSession) expect(code int, what string) string {
	s.t.Helper()
	got, msg, err := s.ReadResponse(0)
	if err != nil && got == 0 {
		s.t.Fatalf("%s: %v", what, err)
	}
	if got != code {
		s.t.Fatalf("%s: %d %s, want %d", what, got, msg, code)
	}
	return msg
}

// bdat sends one BDAT chunk and returns its reply.
func (s *rawSession) bdat(chunk string, last bool) (int, string) {
	s.t.Helper()
	cmd := fmt.Sprintf("BDAT %d", len(chunk))
	if last {
		cmd += " LAST"
	}
	if _, err := fmt.Fprintf(s.W, "%s\r\n%s", cmd, chunk); err != nil {
		s.t.Fatal(err)
	}
	if err := s.W.Flush(); err != nil {
		s.t.Fatal(err)
	}
	code, msg, err := s.ReadResponse(0)
	if err != nil && code == 0 {
		s.t.Fatalf("%s: %v", cmd, err)
	}
	return code, msg
}

// TestRelayBDATSize: a message over the size limit sent with BDAT (RFC
// 3030), in one chunk or crossing it in a later one, gets 552 5.3.4 as
// with DATA, and is audited and logged as over the size limit. Before,
// go-smtp refused the chunk itself and the session saw only an aborted
// message: the audit said "the message could not be read". A message
// within the limit in chunks is queued; a SIZE declared over it is
// refused at MAIL.
func TestRelayBDATSize(t *testing.T) {
	const limit = 64 << 10
	pdf := scanPDF(t)
	small := mixedHeader + attachment("scan.pdf", pdf) + "--b--\r\n"
	big := mixedHeader + attachment("big.pdf", append(append([]byte(nil), pdf...), make([]byte, limit)...)) + "--b--\r\n"
	if len(small) >= limit/2 || len(big) <= limit {
		t.Fatalf("test messages of %d and %d bytes do not fit the limit of %d", len(small), len(big), limit)
	}
	for _, tc := range []struct {
		name   string
		chunks []string
		code   int // the reply to the last chunk
	}{
		{"one chunk over the limit", []string{big}, 552},
		{"crossing the limit in the second chunk", []string{big[:limit/2], big[limit/2:]}, 552},
		{"crossing the limit in the last chunk of three", []string{big[:limit/2], big[limit/2 : limit-10], big[limit-10:]}, 552},
		{"within the limit, in chunks", []string{small[:100], small[100:200], small[200:]}, 250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := startRelay(t, func(o *Options) { o.MaxMessageBytes = limit })
			s := rawSignedIn(t, tr)
			s.cmd(250, "MAIL FROM:<mfd@clinic.test>")
			s.cmd(250, "RCPT TO:<lab@results.example.nz>")
			var code int
			var msg string
			for i, ch := range tc.chunks {
				last := i == len(tc.chunks)-1
				code, msg = s.bdat(ch, last)
				if !last && code != 250 {
					break
				}
			}
			if code != tc.code {
				t.Fatalf("reply %d %s, want %d\nlog:\n%s", code, msg, tc.code, tr.log)
			}
			if tc.code == 250 {
				if n := len(tr.sub.submissions()); n != 1 {
					t.Fatalf("%d submissions, want 1", n)
				}
				return
			}
			if !strings.HasPrefix(msg, "5.3.4 ") || !strings.Contains(msg, "size limit of 64") {
				t.Errorf("reply %d %q, want 552 5.3.4 naming the limit", code, msg)
			}
			waitFor(t, func() bool { return len(tr.audit.all()) > 0 })
			ev := tr.audit.all()
			if len(ev) != 1 || ev[0].Kind != AuditRefused || !strings.Contains(ev[0].Fields["reason"], "over the size limit") {
				t.Errorf("audit %+v, want one relay.refused over the size limit", ev)
			}
			if log := tr.log.String(); !strings.Contains(log, "refused: message over the size limit") || strings.Contains(log, "could not be read") {
				t.Errorf("log:\n%s", log)
			}
			if n := len(tr.sub.submissions()); n != 0 {
				t.Errorf("%d submissions, want none", n)
			}
			if left := leftovers(t, tr); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
			// The session goes on: the next message is taken.
			s.cmd(250, "MAIL FROM:<mfd@clinic.test>")
			s.cmd(250, "RCPT TO:<lab@results.example.nz>")
			if code, msg := s.bdat(small, true); code != 250 {
				t.Errorf("the next message: %d %s", code, msg)
			}
		})
	}
	t.Run("declared with SIZE", func(t *testing.T) {
		tr := startRelay(t, func(o *Options) { o.MaxMessageBytes = limit })
		s := rawSignedIn(t, tr)
		msg := s.cmd(552, "MAIL FROM:<mfd@clinic.test> SIZE=%d", limit+1)
		if !strings.HasPrefix(msg, "5.3.4 ") {
			t.Errorf("reply %q", msg)
		}
		s.cmd(250, "MAIL FROM:<mfd@clinic.test> SIZE=%d", limit)
	})
}

// TestRelayBDATAborted: a device that stops a BDAT transfer with RSET
// has nothing queued and nothing audited as refused (it was not refused:
// the log says it stopped), and its connection is closed, so that its
// next message, on a new connection, is queued and answered for itself.
// Before, the stopped message was audited as refused ("could not be
// read") and its answer (554) went to the next message on the
// connection, which was queued all the same.
func TestRelayBDATAborted(t *testing.T) {
	pdf := scanPDF(t)
	small := mixedHeader + attachment("scan.pdf", pdf) + "--b--\r\n"
	tr := startRelay(t, nil)
	for i := range 3 {
		s := rawSignedIn(t, tr)
		s.cmd(250, "MAIL FROM:<mfd@clinic.test>")
		s.cmd(250, "RCPT TO:<lab@results.example.nz>")
		if code, msg := s.bdat(small[:len(small)/2], false); code != 250 {
			t.Fatalf("first chunk: %d %s", code, msg)
		}
		_ = s.PrintfLine("RSET")
		if code, msg, err := s.ReadResponse(0); err == nil && code != 250 {
			t.Fatalf("RSET: %d %s", code, msg)
		}
		_ = s.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var ne net.Error
		if _, _, err := s.ReadResponse(0); err == nil || (errors.As(err, &ne) && ne.Timeout()) {
			t.Fatalf("the connection stayed open after a stopped BDAT transfer: %v", err)
		}
		s.c.Close()
		s = rawSignedIn(t, tr)
		s.cmd(250, "MAIL FROM:<mfd@clinic.test>")
		s.cmd(250, "RCPT TO:<lab@results.example.nz>")
		code, msg := s.bdat(small, true)
		if code != 250 || !strings.Contains(msg, fmt.Sprintf("job%04d", i+1)) {
			t.Fatalf("round %d: the next message: %d %s\nlog:\n%s", i, code, msg, tr.log)
		}
		s.c.Close()
	}
	if n := len(tr.sub.submissions()); n != 3 {
		t.Errorf("%d submissions, want 3", n)
	}
	for _, ev := range tr.audit.all() {
		if ev.Kind != AuditReceived {
			t.Errorf("audit %+v", ev)
		}
	}
	if log := tr.log.String(); !strings.Contains(log, "stopped sending the message before its end") || !strings.Contains(log, "closed the connection") {
		t.Errorf("log:\n%s", log)
	}
}
