package send

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/internal/mailserver"
)

// chunkingMessage is a message of about size bytes whose body has lines
// that DATA would have to dot-stuff ("." alone, ".." and ".x" at the start
// of a line), so that a byte-identical delivery shows BDAT sent it as it
// is, over several chunks.
func chunkingMessage(from, to, id string, size int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\nSubject: chunking\r\nMessage-Id: <%s>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n", from, to, id)
	const line = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; b.Len() < size; i++ {
		switch i % 97 {
		case 0:
			b.WriteString(".\r\n")
		case 1:
			b.WriteString("..\r\n")
		case 2:
			b.WriteString(".hidden line\r\n")
		default:
			b.WriteString(line + "\r\n")
		}
	}
	b.WriteString(".\r\nlast line\r\n")
	return b.Bytes()
}

// offersChunking asks the server at addr whether it offers CHUNKING after
// STARTTLS (the path Submit takes when it does).
func offersChunking(t *testing.T, srv *mailserver.Server, roots *x509.CertPool) bool {
	t.Helper()
	c, err := smtp.DialStartTLS(mailserver.Addr(srv.Submission), &tls.Config{RootCAs: roots, ServerName: mailserver.Host})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		t.Fatal(err)
	}
	ok, _ := c.Extension("CHUNKING")
	return ok
}

// TestBDATPostfix submits through a real Postfix, which offers CHUNKING,
// so Submit uses BDAT: with STARTTLS and with implicit TLS, a 3.5 MB
// message (four chunks) arrives byte-identical in Dovecot, lines starting
// with "." included; a body that fails after 2.5 MB is never delivered
// (no LAST chunk); and Postfix's size limit is reported as its 552.
func TestBDATPostfix(t *testing.T) {
	if err := mailserver.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no private Postfix/Dovecot (CI=true, so this is a failure, not a skip): %v", err)
		}
		t.Skipf("no private Postfix/Dovecot here: %v", err)
	}
	srv := mailserver.StartT(t, mailserver.Options{MessageSizeLimit: 6 << 20})
	from, to := srv.Users[0], srv.Users[1]
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(srv.CAPEM)
	if !offersChunking(t, srv, roots) {
		t.Fatal("Postfix does not offer CHUNKING: this test would not exercise BDAT")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := func(port int, sec Security) Options {
		return Options{Server: mailserver.Addr(port), Security: sec, RootCAs: roots, Auth: PasswordAuth(from, srv.Password)}
	}
	env := Envelope{From: from, To: []string{to}}

	delivered := 0
	for _, tt := range []struct {
		name string
		opts Options
	}{
		{"STARTTLS", opts(srv.Submission, StartTLS)},
		{"implicit TLS", opts(srv.SMTPS, ImplicitTLS)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg := chunkingMessage(from, to, fmt.Sprintf("bdat-%d@test", delivered), 3<<20+512<<10)
			if bytes.Count(msg, []byte("\r\n.\r\n")) < 100 {
				t.Fatal("the test message has too few lines DATA would dot-stuff")
			}
			var progress int64
			tt.opts.Progress = func(n int64) { progress = n }
			res, err := Submit(ctx, tt.opts, env, bytes.NewReader(msg))
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			if res.Size != int64(len(msg)) || progress != int64(len(msg)) {
				t.Errorf("size %d, progress %d, want %d", res.Size, progress, len(msg))
			}
			if res.Reply.Code != 250 || res.QueueID == "" {
				t.Errorf("reply %+v, queue ID %q", res.Reply, res.QueueID)
			}
			delivered++
			msgs, err := srv.WaitForMessages(ctx, to, delivered)
			if err != nil {
				t.Fatal(err)
			}
			got := msgs[len(msgs)-1]
			// Postfix may rewrite header fields (it adds Received); the
			// body must arrive exactly as sent.
			body := msg[bytes.Index(msg, []byte("\r\n\r\n")):]
			if gotBody := got[bytes.Index(got, []byte("\r\n\r\n")):]; !bytes.Equal(gotBody, body) {
				t.Errorf("the delivered body (%d bytes) differs from the %d bytes sent", len(gotBody), len(body))
			}
		})
	}

	t.Run("body fails after 2.5 MB", func(t *testing.T) {
		msg := chunkingMessage(from, to, "bdat-cut@test", 3<<20)
		body := io.MultiReader(bytes.NewReader(msg[:5<<19]), &failingReader{err: errors.New("disk read error")})
		_, err := Submit(ctx, opts(srv.Submission, StartTLS), env, body)
		var se *Error
		if !errors.Is(err, ErrInvalidMessage) || !errors.As(err, &se) || se.Stage != "data" {
			t.Fatalf("Submit = %v, want an unreadable body at stage data", err)
		}
		// A complete message after it: exactly one more arrives.
		if _, err := Submit(ctx, opts(srv.Submission, StartTLS), env, bytes.NewReader(chunkingMessage(from, to, "bdat-after@test", 1000))); err != nil {
			t.Fatal(err)
		}
		delivered++
		if err := srv.WaitQueueEmpty(ctx); err != nil {
			t.Fatal(err)
		}
		msgs, err := srv.WaitForMessages(ctx, to, delivered)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != delivered || bytes.Contains(bytes.Join(msgs, nil), []byte("bdat-cut@test")) {
			t.Errorf("%d messages in the mailbox, want %d, none of them the cut one", len(msgs), delivered)
		}
	})

	t.Run("552 over the size limit", func(t *testing.T) {
		msg := chunkingMessage(from, to, "bdat-big@test", 7<<20)
		_, err := Submit(ctx, opts(srv.Submission, StartTLS), env, bytes.NewReader(msg))
		var se *Error
		if !errors.Is(err, ErrPermanent) || !errors.As(err, &se) || se.Reply.Code != 552 || se.Reply.EnhancedCode != "5.3.4" {
			t.Fatalf("Submit = %v, want Postfix's permanent 552 5.3.4", err)
		}
		// With BDAT Postfix refuses the first chunk beyond its limit
		// ("Chunk exceeds message size limit"), before the rest is
		// uploaded; with DATA it would answer after the final dot
		// (stage data-reply).
		if se.Stage != "data" || !strings.Contains(se.Reply.Text, "Chunk") {
			t.Errorf("stage %q, reply %q: want a chunk refused at stage data", se.Stage, se.Reply.Text)
		}
	})
}
