package account_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/internal/hostileimap"
)

// plainSecrets holds the test account's password in memory: the keychain
// is not what these tests are about.
type plainSecrets map[string]string

func (m plainSecrets) Get(name string) (string, error) { return m[name], nil }
func (m plainSecrets) Set(name, v string) error        { m[name] = v; return nil }
func (m plainSecrets) Delete(name string) error        { delete(m, name); return nil }

const starttlsPassword = "correct horse battery staple"

// dialStartTLS dials a STARTTLS account at a hostile server with o and
// returns what the client sent before TLS and DialIMAP's error.
func dialStartTLS(t *testing.T, o hostileimap.Options) (clear string, err error) {
	t.Helper()
	pki := accounttest.NewPKI(t)
	o.TLS, o.StartTLS = pki.Config, true
	o.Messages = map[uint32][]byte{}
	srv := hostileimap.Start(t, o)
	a := &account.Account{Name: "pharmacy", Email: "pharmacy@example.test", CAFile: pki.CAFile,
		IMAP: account.Server{Address: srv.Addr, Security: account.StartTLS}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := a.DialIMAP(ctx, plainSecrets{"account/pharmacy/password": starttlsPassword}, account.IMAPOptions{Timeout: 2 * time.Second})
	if err == nil {
		c.Close()
	}
	return srv.Cleartext(), err
}

// answerStartTLS reads the client's commands until STARTTLS and answers it
// with reply (a format with the tag).
func answerStartTLS(c net.Conn, r *bufio.Reader, reply string) bool {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		tag, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		if strings.EqualFold(rest, "STARTTLS") {
			fmt.Fprintf(c, reply, tag)
			return true
		}
		fmt.Fprintf(c, "%s BAD say STARTTLS first\r\n", tag)
	}
}

// TestAttackStartTLSStripping: an active attacker before TLS makes the
// upgrade fail or pretends it is not offered, hoping for a sign-in in
// cleartext: the server refuses STARTTLS, announces capabilities without
// it (and without LOGINDISABLED, inviting LOGIN), or hangs up. Each dial
// fails (ErrNoTLS where the server answered), and the client sent nothing
// but STARTTLS: no LOGIN, AUTHENTICATE, CAPABILITY or password before TLS.
func TestAttackStartTLSStripping(t *testing.T) {
	for _, tc := range []struct {
		name     string
		greeting string
		reply    string // answer to STARTTLS; "" hangs up
		noTLS    bool
	}{
		{"BAD", "* OK ready\r\n", "%s BAD unknown command\r\n", true},
		{"NO", "* OK ready\r\n", "%s NO STARTTLS is not available\r\n", true},
		{"capability lie in the greeting", "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN LOGIN] ready, no TLS here\r\n", "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n%s BAD no STARTTLS\r\n", true},
		{"untagged OK instead of tagged", "* OK ready\r\n", "* OK go ahead %s\r\n", false},
		{"hang up", "* OK ready\r\n", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clear, err := dialStartTLS(t, hostileimap.Options{
				Greeting: func(w io.Writer) error { _, err := io.WriteString(w, tc.greeting); return err },
				PreTLS: func(c net.Conn, r *bufio.Reader) bool {
					if tc.reply == "" {
						r.ReadString('\n')
						return false
					}
					answerStartTLS(c, r, tc.reply)
					// Whatever comes next is kept, then the connection
					// closes: a client that falls back would send LOGIN.
					c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
					io.Copy(io.Discard, r)
					return false
				},
			})
			if err == nil {
				t.Fatal("DialIMAP succeeded without TLS")
			}
			if tc.noTLS && !errors.Is(err, account.ErrNoTLS) {
				t.Errorf("err = %v, want ErrNoTLS", err)
			}
			assertOnlyStartTLS(t, clear)
		})
	}
}

func assertOnlyStartTLS(t *testing.T, clear string) {
	t.Helper()
	if strings.Contains(clear, starttlsPassword) {
		t.Fatalf("the password was sent before TLS: %q", clear)
	}
	if !strings.Contains(clear, "STARTTLS") {
		t.Errorf("the client did not ask for STARTTLS: %q", clear)
	}
	for _, line := range strings.Split(strings.TrimSpace(clear), "\r\n") {
		if _, cmd, _ := strings.Cut(line, " "); !strings.EqualFold(cmd, "STARTTLS") {
			t.Errorf("sent before TLS: %q", line)
		}
	}
}

// TestAttackStartTLSInjection: bytes after the tagged OK to STARTTLS,
// before the handshake (CVE-2011-0411: an attacker's response, read later
// as if it came over TLS). In the same packet as the OK they are refused
// at once; arriving later, they break the TLS handshake. Either way the
// dial fails and nothing but STARTTLS was sent in cleartext.
func TestAttackStartTLSInjection(t *testing.T) {
	for _, tc := range []struct {
		name     string
		separate bool
	}{{"same packet", false}, {"later packet", true}} {
		t.Run(tc.name, func(t *testing.T) {
			clear, err := dialStartTLS(t, hostileimap.Options{
				PreTLS: func(c net.Conn, r *bufio.Reader) bool {
					injected := "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"
					if !tc.separate {
						answerStartTLS(c, r, "%s OK begin TLS\r\n"+injected)
					} else {
						answerStartTLS(c, r, "%s OK begin TLS\r\n")
						time.Sleep(50 * time.Millisecond)
						io.WriteString(c, injected)
					}
					c.SetReadDeadline(time.Now().Add(time.Second))
					io.Copy(io.Discard, c) // the client's ClientHello, unanswered
					return false
				},
			})
			if err == nil {
				t.Fatal("DialIMAP succeeded after an injection")
			}
			if !tc.separate && !strings.Contains(err.Error(), "after agreeing to STARTTLS") {
				t.Errorf("err = %v, want the injection named", err)
			}
			t.Logf("err: %v", err)
			// The ClientHello is binary; only the cleartext lines before it count.
			if i := strings.Index(clear, "\x16\x03"); i >= 0 {
				clear = clear[:i]
			}
			assertOnlyStartTLS(t, clear)
		})
	}
}

// TestAttackPreauth: a PREAUTH greeting on a STARTTLS account (RFC 9051
// section 7.1.4: the connection is already signed in, and STARTTLS is no
// longer allowed), which an attacker uses to keep the session in
// cleartext. Refused with ErrNoTLS; nothing was sent.
func TestAttackPreauth(t *testing.T) {
	clear, err := dialStartTLS(t, hostileimap.Options{
		Greeting: func(w io.Writer) error {
			_, err := io.WriteString(w, "* PREAUTH [CAPABILITY IMAP4rev1] logged in as pharmacy\r\n")
			return err
		},
		PreTLS: func(c net.Conn, r *bufio.Reader) bool {
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			io.Copy(io.Discard, r)
			return false
		},
	})
	if !errors.Is(err, account.ErrNoTLS) || !strings.Contains(err.Error(), "PREAUTH") {
		t.Fatalf("err = %v, want ErrNoTLS naming PREAUTH", err)
	}
	if clear != "" {
		t.Errorf("sent before TLS: %q", clear)
	}
}

// TestAttackStartTLSGoodServer: the same hostile server, behaving,
// completes the upgrade and the sign-in: the tests above fail for the
// reason they state, not for a broken setup.
func TestAttackStartTLSGoodServer(t *testing.T) {
	clear, err := dialStartTLS(t, hostileimap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertOnlyStartTLS(t, clear)
}
