package desk

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
)

// noIdleServer is an IMAP server (implicit TLS) that does not offer
// IDLE, with one user; deliver appends to its INBOX.
func noIdleServer(t *testing.T, pki *accounttest.PKI, user, pw string) (addr string, deliver func([]byte)) {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, pw)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps: imap.CapSet{imap.CapIMAP4rev1: {}},
		// The wrapper below hides the TLS connection from the server;
		// the client sees TLS all the same.
		InsecureAuth: true,
		Logger:       quiet{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// go-imap's server always offers IDLE with IMAP4rev1: take it out
	// of its capability lists on the way.
	go srv.Serve(noIdleListener{tls.NewListener(ln, pki.Config)}) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), func(raw []byte) {
		if _, err := u.Append("INBOX", literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

type noIdleListener struct{ net.Listener }

func (l noIdleListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return noIdleConn{c}, err
}

type noIdleConn struct{ net.Conn }

func (c noIdleConn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("CAPABILITY")) {
		if _, err := c.Conn.Write(bytes.ReplaceAll(p, []byte(" IDLE"), nil)); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// literal is an imap.LiteralReader over a byte slice.
type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// TestWatchPollsWithoutIdle: a server without IDLE is asked every Poll,
// and a message delivered while watching is dropped.
func TestWatchPollsWithoutIdle(t *testing.T) {
	requireKeychain(t)
	const user, pw = "bob@pharmacy.test", "imap-pass-for-poll"
	pki := accounttest.NewPKI(t)
	addr, deliver := noIdleServer(t, pki, user, pw)
	d, _ := testDesk(t)
	bobsKeys(t, d)
	a := account.Account{Name: "pharmacy", Email: user, Auth: account.AuthPassword, CAFile: pki.CAFile,
		SMTP: account.Server{Address: "127.0.0.1:1", Security: account.StartTLS},
		IMAP: account.Server{Address: addr, Security: account.ImplicitTLS}}
	if err := d.Accounts().Add(a, account.Credentials{Password: pw}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Accounts().Remove("pharmacy") })
	drop := t.TempDir()
	var ev events
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Watch(ctx, WatchOptions{Drop: drop, Event: ev.add, Poll: 300 * time.Millisecond}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	}()
	waitFor(t, 10*time.Second, func() bool { return ev.count(EventFetched) > 0 }, &ev)
	if !strings.Contains(ev.String(), "does not offer IDLE") {
		t.Errorf("no polling announced:\n%s", &ev)
	}
	deliver(testdata(t, "good_encrypted.eml"))
	waitFor(t, 5*time.Second, func() bool { return len(dropped(t, drop)) == 2 }, &ev)
}
