package gate

// Attacks on the policy gate as an outsider (a user who wants to get round
// the organisation's signed policy) would try them. Each attack that once
// worked is a regression test now; the ones that never worked stay as
// proof.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// dialTarget is where a connection to server really goes, as the dialer
// and DNS see it: the host without brackets, lower-cased in ASCII only
// (DNS is case-insensitive for ASCII letters and nothing else), and the
// port as net.Dial parses it.
func dialTarget(t *testing.T, server string) (string, int, bool) {
	t.Helper()
	host, p, err := net.SplitHostPort(server)
	if err != nil {
		return "", 0, false
	}
	port, err := net.LookupPort("tcp", p)
	if err != nil {
		return "", 0, false
	}
	lower := []byte(host)
	for i, c := range lower {
		if 'A' <= c && c <= 'Z' {
			lower[i] = c + 'a' - 'A'
		}
	}
	return string(lower), port, true
}

// TestAttackServerStrings: --server strings that look like the template's
// server to a careless comparison but connect elsewhere. Under locked
// accounts CheckRoute may allow a string only when the connection it
// makes goes to the template's host and port. Unicode case folding
// (strings.EqualFold) let "smtp.\u212Aowhai..." (KELVIN SIGN) and
// "\u017Fmtp..." (LONG S) pass as smtp.kowhai.example.nz: a resolver that
// applies IDNA (Windows' GetAddrInfoW does) sends those to a punycode
// domain anyone can register.
func TestAttackServerStrings(t *testing.T) {
	g := New(profile.Effective(orgProfile(t, testCA(t), nil)), nil)
	const host, port = "smtp.kowhai.example.nz", 465
	for _, server := range []string{
		"smtp.kowhai.example.nz:465",      // the template itself
		"SMTP.KOWHAI.EXAMPLE.NZ:465",      // ASCII case: same host
		"[smtp.kowhai.example.nz]:465",    // brackets: net.Dial strips them, same host
		"smtp.kowhai.example.nz:0465",     // leading zero: same port
		"smtp.kowhai.example.nz:+465",     // sign: same port
		"smtp.\u212Aowhai.example.nz:465", // KELVIN SIGN folds to k
		"\u017Fmtp.kowhai.example.nz:465", // LONG S folds to s
		"smtp.kowhai.example.nz.:465",     // trailing dot
		"smtp.kowhai.example.nz.evil.example:465",
		"evil.example@smtp.kowhai.example.nz:465", // userinfo
		"smtp.kowhai.example.nz@evil.example:465",
		" smtp.kowhai.example.nz:465",        // white space
		"smtp.kowhai.example.nz\t:465",       //
		"smtp.kowhai.example.nz%25eth0:465",  // zone
		"smtp.kowhai.example.nz:465:465",     // not host:port
		"smtp.kowhai.example.nz:4650",        // another port
		"smtp.kowhai.example.nz:smtps",       // a service name (465 by /etc/services, but not a number)
		"xn--smtp-kowhai-9b.example.nz:465",  // punycode of something else
		"smtp.kowhai\u3002example.nz:465",    // IDEOGRAPHIC FULL STOP
		"smtp.kowhai.example.nz\x00evil:465", // NUL
		"smtp.kowhai.example.nz:465\n",       // newline
	} {
		t.Run(strconv.Quote(server), func(t *testing.T) {
			r, err := ServerRoute(server, send.ImplicitTLS, "gp", false)
			if err != nil {
				return // refused as not host:port
			}
			if err := g.CheckRoute(r); err != nil {
				if !errors.Is(err, profile.ErrAccountNotAllowed) {
					t.Errorf("refused with %v, want ErrAccountNotAllowed", err)
				}
				return
			}
			h, p, ok := dialTarget(t, server)
			if !ok || h != host || p != port {
				t.Errorf("CheckRoute allowed %q, which connects to %q port %d, not the template's %s:%d", server, h, p, host, port)
			}
		})
	}
	// The same for a stored account (its file can be edited by hand).
	for _, addr := range []string{"smtp.\u212Aowhai.example.nz:465", "\u017Fmtp.kowhai.example.nz:465"} {
		a := accountOn(addr)
		if err := g.CheckRoute(AccountRoute(a)); !errors.Is(err, profile.ErrAccountNotAllowed) {
			t.Errorf("stored account on %q: CheckRoute = %v, want ErrAccountNotAllowed", addr, err)
		}
	}
}

// TestAttackRecipients: recipient strings that might escape the domain
// rules: quoted local parts with @, comments, group syntax, encoded words,
// Unicode and IDN domains, upper case, Cc. Whatever the CLI's parsing
// (mail.ParseAddressList, as parseAddrs) and send's validation let
// through, the gate must judge the domain the envelope really sends to:
// allowed only when every envelope address's domain is an allowed one.
func TestAttackRecipients(t *testing.T) {
	g := New(profile.Effective(orgProfile(t, testCA(t), func(s string) string {
		// users may add recipients, so only the domain rules decide
		return strings.Replace(s, "users_may_add_recipients = false", "users_may_add_recipients = true", 1)
	})), nil)
	allowed := map[string]bool{"mainst-pharmacy.example.nz": true, "harbour-pharmacy.example.nz": true, "other.example.org": true}
	for _, to := range []string{
		`frontdesk@other.example.org`,
		`FrontDesk@OTHER.Example.ORG`,
		`"evil@attacker.example"@other.example.org`,
		`"frontdesk@other.example.org"@attacker.example`,
		`frontdesk@other.example.org@attacker.example`,
		`evil@attacker.example (frontdesk@other.example.org)`,
		`frontdesk@other.example.org (evil@attacker.example)`,
		`"frontdesk@other.example.org" <evil@attacker.example>`,
		`=?utf-8?q?frontdesk=40other.example.org?= <evil@attacker.example>`,
		`=?utf-8?q?evil=40attacker.example?=@other.example.org`,
		`pharmacies: frontdesk@other.example.org, evil@attacker.example;`,
		`frontdesk@other.example.org, evil@attacker.example`,
		`@attacker.example:frontdesk@other.example.org`,
		`frontdesk%attacker.example@other.example.org`,
		`frontdesk@other.example.org.`,
		`frontdesk@[192.0.2.10]`,
		`frontdesk@[IPv6:2001:db8::1]`,
		`frontdesk@192.0.2.10`,
		`frontdesk@othér.example.org`,
		`frontdesk@xn--othr-bpa.example.org`,
		`frontdesk@other.example.org\u200b`,
		"frontdesk@other.example.org\r\nRCPT TO:<evil@attacker.example>",
	} {
		t.Run(strconv.Quote(to), func(t *testing.T) {
			list, err := mail.ParseAddressList(to)
			if err != nil {
				return // the CLI refuses it
			}
			for _, cc := range []bool{false, true} {
				m := message(t)
				for _, a := range list {
					if cc {
						m.To = []mail.Address{{Address: mainst}}
						m.Cc = append(m.Cc, *a)
					} else {
						m.To = append(m.To, *a)
					}
				}
				if err := m.Validate(); err != nil {
					continue // send refuses it
				}
				_, err := g.CheckMessage(m)
				// the envelope, as outboxJob builds it
				var env []string
				for _, a := range append(append([]mail.Address(nil), m.To...), m.Cc...) {
					env = append(env, a.Address)
				}
				for _, a := range env {
					d := strings.ToLower(a[strings.LastIndexByte(a, '@')+1:])
					if err == nil && !allowed[d] {
						t.Errorf("cc=%v: CheckMessage allowed envelope address %q (domain %q)", cc, a, d)
					}
				}
			}
		})
	}
}

// TestAttackJobEnvelopeCase: a job whose envelope spells an address in
// another case than EncryptedTo records it (the record's keys are lower
// case) is judged by the same key; an envelope address the record has no
// key for is not waved through.
func TestAttackJobEnvelopeCase(t *testing.T) {
	org := orgProfile(t, testCA(t), nil)
	dir, _ := org.Recipient(mainst)
	g := New(profile.Effective(org), nil)
	r := serverRoute(t, "smtp.kowhai.example.nz:465", send.ImplicitTLS, "gp", false)
	rec := outbox.Record{Job: outbox.Job{Envelope: send.Envelope{From: "gp@kowhai.example.nz", To: []string{"Orders@MAINST-Pharmacy.example.nz"}},
		Encrypted: true, EncryptedTo: map[string]string{mainst: dir.Fingerprint}}}
	if err := g.CheckJob(rec, r); err != nil {
		t.Errorf("same address in capitals: %v", err)
	}
	rec.Envelope.To = append(rec.Envelope.To, harbour)
	if err := g.CheckJob(rec, r); !errors.Is(err, outbox.ErrRefused) {
		t.Errorf("a recipient the record has no key for: CheckJob = %v, want ErrRefused", err)
	}
}

// TestAttackSwappedMessage: the outbox's job record (what the gate checks)
// and its message file (what is sent) are separate files, each encrypted
// with the outbox key. Whoever can rename files in the outbox, without the
// key, puts the message of a job the gate refused (queued unencrypted,
// before the profile required encryption) in place of an allowed job's:
// the gate checks the allowed job's record and the refused job's
// plaintext goes out. The message must be bound to its record: the
// delivery fails as damaged and the swapped-in message is never completed.
func TestAttackSwappedMessage(t *testing.T) {
	f := newGuardFixture(t)
	g, tmpl, ob, obDir := f.g, f.tmpl, f.ob, f.dir
	const secret = "PLAINTEXT PATIENT NOTE"
	plain := f.enqueue(t, secret, false, nil)
	allowed := f.enqueue(t, "allowed", true, map[string]string{mainst: f.mainstKey})

	var completed []string
	submit := func(ctx context.Context, _ *Gate, _ Route, _ send.Envelope, body io.Reader) (*send.Result, error) {
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, err // send.Submit drops the connection without the final "."
		}
		completed = append(completed, string(b))
		return &send.Result{}, nil
	}
	guard := Guard(func() (*Gate, error) { return g, nil }, func(context.Context, outbox.Record) (Route, error) { return tmpl, nil }, submit)
	if rec, err := ob.Deliver(t.Context(), plain, guard); !errors.Is(err, outbox.ErrRefused) || rec.State != outbox.Failed {
		t.Fatalf("the unencrypted job: %v, %s", err, rec.State)
	}
	// The failed job's message is kept; move it over the allowed job's.
	data, err := os.ReadFile(filepath.Join(obDir, plain+".msg"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(obDir, allowed+".msg"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	rec, err := ob.Deliver(t.Context(), allowed, guard)
	for _, body := range completed {
		if strings.Contains(body, secret) {
			t.Errorf("the refused job's unencrypted message was sent as the allowed job (state %s, %v)", rec.State, err)
		}
	}
	if rec.State == outbox.Sent || err == nil {
		t.Errorf("the swapped job: %s, %v; want failed as damaged", rec.State, err)
	}
	if bytes.Contains(data, []byte(secret)) {
		t.Fatal("the outbox is not encrypted at rest")
	}
}

// accountOn is a stored password account whose SMTP server is addr.
func accountOn(addr string) *account.Account {
	return &account.Account{Name: "mine", Email: "gp@kowhai.example.nz", SMTP: account.Server{Address: addr, Security: account.ImplicitTLS}, Auth: account.AuthPassword}
}
