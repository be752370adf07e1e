package send

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"
)

func TestSendHappyPath(t *testing.T) {
	for _, implicit := range []bool{true, false} {
		name := map[bool]string{true: "implicit TLS", false: "STARTTLS"}[implicit]
		t.Run(name, func(t *testing.T) {
			be := &backend{keep: true, dataErr: &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "Ok: queued as 4ABC123"}}
			opts := startServer(t, be, serverConfig{implicit: implicit, requireTLS: true})
			var progress []int64
			opts.Progress = func(n int64) { progress = append(progress, n) }
			m, files := testMessage(t)
			m.MessageID = ""
			res, err := Send(context.Background(), opts, m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			auths, mails, datas := be.counts()
			if auths != 1 || mails != 1 || datas != 1 {
				t.Fatalf("server saw %d AUTH, %d MAIL, %d DATA; want 1 each", auths, mails, datas)
			}
			if !be.mailOpt.RequireTLS || !res.RequireTLS {
				t.Errorf("REQUIRETLS not requested: server %v, result %v", be.mailOpt.RequireTLS, res.RequireTLS)
			}
			if res.QueueID != "4ABC123" || res.Reply.Code != 250 || res.Reply.EnhancedCode != "2.0.0" || res.Reply.Text != "Ok: queued as 4ABC123" {
				t.Errorf("reply %+v, queue id %q", res.Reply, res.QueueID)
			}
			if res.Security != map[bool]string{true: "tls", false: "starttls"}[implicit] || res.Server != opts.Server {
				t.Errorf("security %q server %q", res.Security, res.Server)
			}
			if res.TLS.Version != "TLS 1.3" || res.TLS.CipherSuite == "" || res.TLS.ServerName != "127.0.0.1" ||
				res.TLS.CertSubject == "" || !strings.Contains(res.TLS.CertIssuer, "securesend send test CA") ||
				len(res.TLS.CertSHA256) != 64 || res.TLS.CertExpiry.IsZero() {
				t.Errorf("TLS info incomplete: %+v", res.TLS)
			}
			if res.AuthMechanism != "PLAIN" {
				t.Errorf("auth mechanism %q", res.AuthMechanism)
			}
			if len(res.Accepted) != 3 || len(res.Rejected) != 0 {
				t.Errorf("accepted %v rejected %v", res.Accepted, res.Rejected)
			}
			for _, a := range res.Accepted {
				if want := (Reply{Code: 250, EnhancedCode: "2.0.0", Text: "I'll make sure <" + a.Address + "> gets this"}); a.Reply != want {
					t.Errorf("RCPT reply %+v, want %+v", a.Reply, want)
				}
			}
			if res.Size != be.lastLen || res.Size == 0 {
				t.Errorf("size %d, server received %d", res.Size, be.lastLen)
			}
			if len(progress) == 0 || progress[len(progress)-1] != res.Size {
				t.Errorf("progress did not reach the size: %v", progress)
			}
			if res.Started.IsZero() || res.Finished.Before(res.Started) {
				t.Errorf("times %v %v", res.Started, res.Finished)
			}
			if !validMessageID(res.MessageID) || !strings.HasSuffix(res.MessageID, "@clinic.example.nz") {
				t.Errorf("message id %q", res.MessageID)
			}
			if len(res.Documents) != 3 {
				t.Fatalf("documents %v", res.Documents)
			}

			// What arrived is what was sent.
			mr, err := mail.CreateReader(bytes.NewReader(be.last))
			if err != nil {
				t.Fatal(err)
			}
			if id, _ := mr.Header.MessageID(); id != res.MessageID {
				t.Errorf("delivered Message-ID %q, result %q", id, res.MessageID)
			}
			mr.NextPart() // note
			for i, d := range res.Documents {
				p, err := mr.NextPart()
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(p.Body)
				sum := sha256.Sum256(got)
				if !bytes.Equal(got, files[d.Name]) || hex.EncodeToString(sum[:]) != d.SHA256 {
					t.Errorf("document %d (%s) differs on arrival", i, d.Name)
				}
			}
		})
	}
}

// faultCase is one row of the fault table.
type faultCase struct {
	name      string
	server    serverConfig
	backend   func(b *backend)
	addr      func(t *testing.T) string // raw server instead of go-smtp
	opts      func(o *Options)
	to        []string
	docSize   int
	want      error
	stage     string
	replyCode int
	noAuth    bool // the server must not have seen AUTH
	noData    bool // the server must not have received a message
	partial   bool // a Result with accepted and rejected recipients
}

func TestSubmitFaults(t *testing.T) {
	otherCA := func() *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{mustLeaf(t, newCA(t), "127.0.0.1")}}
	}
	tests := []faultCase{
		{name: "no STARTTLS offered", server: serverConfig{noTLS: true}, want: ErrNoTLS, stage: "starttls", noAuth: true, noData: true},
		{name: "implicit TLS to plaintext server", server: serverConfig{noTLS: true}, opts: func(o *Options) { o.Security = ImplicitTLS },
			want: ErrNoTLS, stage: "tls", noAuth: true, noData: true},
		{name: "TLS 1.1 maximum", server: serverConfig{implicit: true, tls: &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11,
			Certificates: []tls.Certificate{mustLeaf(t, testCA(), "127.0.0.1")}}}, want: ErrTLSVersion, stage: "tls", noAuth: true, noData: true},
		{name: "TLS 1.2 server with 1.3 required", server: serverConfig{tls: &tls.Config{MaxVersion: tls.VersionTLS12,
			Certificates: []tls.Certificate{mustLeaf(t, testCA(), "127.0.0.1")}}}, opts: func(o *Options) { o.MinTLSVersion = tls.VersionTLS13 },
			want: ErrTLSVersion, stage: "tls", noAuth: true, noData: true},
		{name: "certificate for the wrong host", server: serverConfig{tls: &tls.Config{Certificates: []tls.Certificate{mustLeaf(t, testCA(), "mail.example.org")}}},
			want: ErrCertificate, stage: "tls", noAuth: true, noData: true},
		{name: "untrusted CA", server: serverConfig{tls: otherCA()}, want: ErrCertificate, stage: "tls", noAuth: true, noData: true},
		{name: "untrusted CA implicit", server: serverConfig{implicit: true, tls: otherCA()}, want: ErrCertificate, stage: "tls", noAuth: true, noData: true},
		{name: "untrusted CA, system roots only", server: serverConfig{implicit: true}, opts: func(o *Options) { o.RootCAs = nil },
			want: ErrCertificate, stage: "tls", noAuth: true, noData: true},
		{name: "expired certificate", server: serverConfig{tls: &tls.Config{Certificates: []tls.Certificate{expiredLeaf(t)}}},
			want: ErrCertificate, stage: "tls", noAuth: true, noData: true},
		{name: "insecure TLS config refused", server: serverConfig{implicit: true}, opts: func(o *Options) { o.TLSConfig = &tls.Config{InsecureSkipVerify: true} },
			want: ErrCertificate, stage: "tls", noAuth: true, noData: true},
		{name: "421 at greeting", addr: func(t *testing.T) string {
			return rawServer(t, func(c net.Conn) { io.WriteString(c, "421 4.3.2 Service shutting down\r\n") })
		}, want: ErrTemporary, stage: "greeting", replyCode: 421, noAuth: true, noData: true},
		{name: "STARTTLS refused with 454", addr: func(t *testing.T) string {
			return rawServer(t, func(c net.Conn) {
				r := bufio.NewReader(c)
				io.WriteString(c, "220 mx.test ESMTP\r\n")
				r.ReadString('\n')
				io.WriteString(c, "250-mx.test\r\n250 STARTTLS\r\n")
				r.ReadString('\n')
				io.WriteString(c, "454 4.7.0 TLS not available due to local problem\r\n")
				r.ReadString('\n')
			})
		}, want: ErrNoTLS, stage: "starttls", replyCode: 454, noAuth: true, noData: true},
		{name: "REQUIRETLS required but not offered", opts: func(o *Options) { o.RequireTLS = true },
			want: ErrRequireTLS, stage: "mail", noAuth: true, noData: true},
		{name: "535 authentication failed", backend: func(b *backend) { b.password = "something else" },
			want: ErrAuth, stage: "auth", replyCode: 535, noData: true},
		{name: "no usable auth mechanism", opts: func(o *Options) {
			o.Auth = func([]string) (_ sasl_Client, _ string, err error) { return nil, "", errors.New("no XOAUTH2 offered") }
		}, want: ErrAuth, stage: "auth", noAuth: true, noData: true},
		{name: "550 for one of two recipients", to: []string{"ok@test", "gone@test"},
			backend: func(b *backend) {
				b.rcptErr = map[string]error{"gone@test": &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}}
			}, want: ErrRecipientsRejected, stage: "rcpt", replyCode: 550, partial: true},
		{name: "451 for one of two recipients", to: []string{"ok@test", "busy@test"},
			backend: func(b *backend) {
				b.rcptErr = map[string]error{"busy@test": &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try later"}}
			}, want: ErrRecipientsRejected, stage: "rcpt", replyCode: 451, partial: true},
		{name: "all recipients rejected", to: []string{"a@test", "b@test"},
			backend: func(b *backend) {
				e := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
				b.rcptErr = map[string]error{"a@test": e, "b@test": e}
			}, want: ErrPermanent, stage: "rcpt", replyCode: 550, noData: true},
		{name: "all recipients deferred", to: []string{"a@test", "b@test"},
			backend: func(b *backend) {
				e := &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try later"}
				b.rcptErr = map[string]error{"a@test": e, "b@test": e}
			}, want: ErrTemporary, stage: "rcpt", replyCode: 451, noData: true},
		{name: "connection cut in the middle of DATA", docSize: 8 << 20,
			backend: func(b *backend) {
				b.onData = func(c *smtp.Conn, r io.Reader) error {
					io.CopyN(io.Discard, r, 64<<10)
					c.Conn().Close()
					return errors.New("cut")
				}
			}, want: ErrTemporary, stage: "data", noData: true},
		{name: "connection dropped after the final dot, before the reply",
			backend: func(b *backend) {
				b.onData = func(c *smtp.Conn, r io.Reader) error {
					io.Copy(io.Discard, r)
					c.Conn().Close()
					return errors.New("dropped")
				}
			}, want: ErrTemporary, stage: "data-reply", noData: true},
		{name: "server stops reading during DATA", docSize: 16 << 20,
			backend: func(b *backend) {
				stall := make(chan struct{})
				b.cleanup = func() { close(stall) }
				b.onData = func(c *smtp.Conn, r io.Reader) error {
					<-stall
					return errors.New("stalled")
				}
			}, opts: func(o *Options) { o.Timeout = 500 * time.Millisecond }, want: ErrTemporary, stage: "data", noData: true},
		{name: "552 message too big (declared SIZE)", server: serverConfig{maxBytes: 50_000}, docSize: 200_000,
			want: ErrPermanent, stage: "mail", replyCode: 552, noData: true},
		{name: "451 after DATA", backend: func(b *backend) {
			b.dataErr = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Queue file write error"}
		}, want: ErrTemporary, stage: "data-reply", replyCode: 451},
		{name: "nothing listening", addr: func(t *testing.T) string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			return addr
		}, want: ErrTemporary, stage: "dial", noAuth: true, noData: true},
		{name: "server never answers", addr: func(t *testing.T) string {
			return rawServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
		}, opts: func(o *Options) { o.Timeout = 300 * time.Millisecond }, want: ErrTemporary, stage: "greeting", noAuth: true, noData: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := &backend{}
			if tt.backend != nil {
				tt.backend(be)
			}
			opts := startServer(t, be, tt.server)
			if be.cleanup != nil {
				t.Cleanup(be.cleanup) // before the server's Close
			}
			if tt.addr != nil {
				opts.Server = tt.addr(t)
			}
			if tt.opts != nil {
				tt.opts(&opts)
			}
			to := tt.to
			if to == nil {
				to = []string{"ward3@test"}
			}
			size := tt.docSize
			if size == 0 {
				size = 10_000
			}
			m := &Message{
				From:      netmail.Address{Address: "clinic@test"},
				Documents: []Document{{Path: writeFile(t, t.TempDir(), "scan.pdf", randomBytes(7, "%PDF-1.7", size))}},
			}
			for _, a := range to {
				m.To = append(m.To, netmail.Address{Address: a})
			}
			res, err := Send(context.Background(), opts, m)
			t.Logf("error: %v", err)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Send error = %v, want kind %v", err, tt.want)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *send.Error", err)
			}
			if se.Stage != tt.stage {
				t.Errorf("stage %q, want %q", se.Stage, tt.stage)
			}
			if se.Reply.Code != tt.replyCode {
				t.Errorf("reply code %d, want %d (%v)", se.Reply.Code, tt.replyCode, err)
			}
			if tt.replyCode != 0 && !strings.Contains(err.Error(), fmt.Sprint(tt.replyCode)) {
				t.Errorf("error text lacks the server's reply: %v", err)
			}
			for _, secret := range []string{testPassword, "correct horse"} {
				if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v %#v", err, se), secret) {
					t.Fatalf("the password leaked into the error: %v", err)
				}
			}
			auths, _, datas := be.counts()
			if tt.noAuth && auths != 0 {
				t.Errorf("server saw AUTH %d times", auths)
			}
			if tt.noData && datas != 0 {
				t.Errorf("server received %d messages", datas)
			}
			if tt.partial {
				if res == nil || se.Result != res || len(res.Accepted) != 1 || len(res.Rejected) != 1 || datas != 1 {
					t.Fatalf("partial result wrong: %+v (server received %d)", res, datas)
				}
				if res.Rejected[0].Reply.Code != tt.replyCode || res.Rejected[0].Address != to[1] || res.Accepted[0].Address != to[0] {
					t.Errorf("rejected %+v accepted %+v", res.Rejected, res.Accepted)
				}
				if res.QueueID != "" || res.Reply.Code != 250 || len(res.Documents) != 1 {
					t.Errorf("partial result incomplete: %+v", res)
				}
			} else if res != nil {
				t.Errorf("Send returned a result with error %v", err)
			}
			if tt.want == ErrTemporary != se.Temporary() {
				t.Errorf("Temporary() = %v", se.Temporary())
			}
		})
	}
}

func TestSendContextCancelled(t *testing.T) {
	release := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	be := &backend{onMail: func() {
		cancel()
		<-release
	}}
	opts := startServer(t, be, serverConfig{implicit: true})
	t.Cleanup(func() { close(release) }) // runs before the server's Close
	m := &Message{
		From:      netmail.Address{Address: "clinic@test"},
		To:        []netmail.Address{{Address: "ward@test"}},
		Documents: []Document{{Path: writeFile(t, t.TempDir(), "scan.pdf", []byte("%PDF-1.7"))}},
	}
	_, err := Send(ctx, opts, m)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrTemporary) {
		t.Fatalf("Send = %v, want a temporary error wrapping context.Canceled", err)
	}
	if _, _, datas := be.counts(); datas != 0 {
		t.Error("the message was delivered despite the cancellation")
	}

	// Already cancelled: no connection is even attempted to succeed.
	_, err = Send(ctx, opts, m)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with a cancelled context = %v", err)
	}
}

func TestSendInvalidMessageNeverConnects(t *testing.T) {
	addr := rawServer(t, func(c net.Conn) { t.Error("Send connected for an invalid message") })
	m := &Message{From: netmail.Address{Address: "a@test"}, To: []netmail.Address{{Address: "b@test"}}, Subject: "x\r\nBcc: c@test",
		Documents: []Document{{Path: writeFile(t, t.TempDir(), "a.pdf", []byte("x"))}}}
	_, err := Send(context.Background(), Options{Server: addr}, m)
	if !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("Send = %v, want ErrInvalidMessage", err)
	}
}

func TestPasswordAuth(t *testing.T) {
	tests := []struct {
		mechs []string
		want  string
	}{
		{[]string{"LOGIN", "PLAIN"}, "PLAIN"},
		{[]string{"login"}, "LOGIN"},
		{[]string{"XOAUTH2", "CRAM-MD5"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		_, mech, err := PasswordAuth("u", "hunter2")(tt.mechs)
		if mech != tt.want {
			t.Errorf("mechs %v: got %q, want %q", tt.mechs, mech, tt.want)
		}
		if tt.want == "" && (!errors.Is(err, ErrAuth) || strings.Contains(err.Error(), "hunter2")) {
			t.Errorf("mechs %v: error %v", tt.mechs, err)
		}
	}
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		text, ec, rest, queue string
	}{
		{"2.0.0 Ok: queued as 4ABC123", "2.0.0", "Ok: queued as 4ABC123", "4ABC123"},
		{"OK id=1abc-000", "", "OK id=1abc-000", ""},
		{"2.6.0 <x@y> [InternalId=123] Queued mail for delivery", "2.6.0", "<x@y> [InternalId=123] Queued mail for delivery", ""},
		{"Message queued as 1rXyZ-0004aB-Cd.", "", "Message queued as 1rXyZ-0004aB-Cd.", "1rXyZ-0004aB-Cd"},
	}
	for _, tt := range tests {
		r := parseReply(250, tt.text)
		if r.EnhancedCode != tt.ec || r.Text != tt.rest || queueID(r.Text) != tt.queue {
			t.Errorf("parseReply(%q) = %+v, queue %q", tt.text, r, queueID(r.Text))
		}
	}
}

func TestSendKeepsMessageID(t *testing.T) {
	be := &backend{keep: true}
	opts := startServer(t, be, serverConfig{implicit: true})
	m, _ := testMessage(t)
	const id = "stable-for-retries@clinic.example.nz"
	m.MessageID = id
	for range 2 {
		res, err := Send(context.Background(), opts, m)
		if err != nil {
			t.Fatal(err)
		}
		mr, err := mail.CreateReader(bytes.NewReader(be.last))
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := mr.Header.MessageID(); got != id || res.MessageID != id {
			t.Errorf("Message-ID sent %q, result %q; want %q", got, res.MessageID, id)
		}
	}
	if m.MessageID != id {
		t.Error("Send changed the caller's message")
	}
}

// failingReader yields n bytes of a message and then an error.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = 'x'
		if i%78 == 77 {
			p[i] = '\n'
		}
	}
	r.n -= k
	return k, nil
}

func TestSubmitUnreadableBodyIsNotDelivered(t *testing.T) {
	be := &backend{}
	opts := startServer(t, be, serverConfig{implicit: true})
	readErr := errors.New("disk went away")
	_, err := Submit(context.Background(), opts, Envelope{From: "a@test", To: []string{"b@test"}}, &failingReader{n: 300_000, err: readErr})
	if !errors.Is(err, ErrInvalidMessage) || !errors.Is(err, readErr) {
		t.Fatalf("Submit = %v, want ErrInvalidMessage wrapping the read error", err)
	}
	if _, _, datas := be.counts(); datas != 0 {
		t.Error("a truncated message was delivered: the final dot must not be sent")
	}
}

func TestSubmitRefusesBadEnvelope(t *testing.T) {
	for _, env := range []Envelope{
		{From: "", To: []string{"b@test"}},
		{From: "a@test"},
		{From: "a@test", To: []string{"b@test>\r\nRCPT TO:<c@test"}},
	} {
		if _, err := Submit(context.Background(), Options{Server: "127.0.0.1:1"}, env, strings.NewReader("x")); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("envelope %+v: %v", env, err)
		}
	}
	if _, err := Submit(context.Background(), Options{Server: "no-port"}, Envelope{From: "a@test", To: []string{"b@test"}}, strings.NewReader("x")); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("server without port: %v", err)
	}
}

func TestSubmit552AfterData(t *testing.T) {
	be := &backend{}
	opts := startServer(t, be, serverConfig{implicit: true, maxBytes: 50_000})
	body := strings.Repeat("0123456789012345678901234567890123456789\r\n", 5000)
	_, err := Submit(context.Background(), opts, Envelope{From: "a@test", To: []string{"b@test"}}, strings.NewReader(body))
	// go-smtp's server offers CHUNKING: it refuses the chunk that goes
	// over the limit, before the end of data (stage "data").
	var se *Error
	if !errors.Is(err, ErrPermanent) || !errors.As(err, &se) || se.Stage != "data" || se.Reply.Code != 552 {
		t.Fatalf("Submit = %v, want a permanent 552 to the message data", err)
	}
	if _, _, datas := be.counts(); datas != 0 {
		t.Error("the refused message was delivered")
	}
}

func TestSizeBound(t *testing.T) {
	for _, size := range []int{1, 2, 3, 57, 76, 1000, 123_457} {
		m, _ := testMessage(t)
		m.Documents = append(m.Documents, Document{Path: writeFile(t, t.TempDir(), "x.pdf", randomBytes(9, "%PDF", size))})
		var buf bytes.Buffer
		if _, err := Compose(&buf, m); err != nil {
			t.Fatal(err)
		}
		if bound := sizeBound(m); bound < int64(buf.Len()) || bound > int64(buf.Len())+20_000 {
			t.Errorf("document of %d bytes: bound %d for a message of %d bytes", size, bound, buf.Len())
		}
	}
}
