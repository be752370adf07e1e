package send

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// attackEnvelope is what every attack test submits.
var attackEnvelope = Envelope{From: "a@test", To: []string{"b@test"}}

// attackBody is a message of size bytes whose bytes are easy to find.
func attackBody(size int) []byte {
	return chunkingMessage("a@test", "b@test", "attack@test", size)
}

// secretMarkers are byte strings that must never cross the wire in the
// clear: the credentials (as PLAIN sends them) and the message.
func secretMarkers() [][]byte {
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPassword))
	return [][]byte{[]byte(plain), []byte(testPassword), []byte("AUTH"), []byte("MAIL FROM"), []byte("RCPT TO"),
		[]byte("BDAT"), []byte("DATA"), []byte("Subject: chunking")}
}

// TestAttackTLSClientHello: the ClientHello of the new STARTTLS path (our
// own tls.Client after go-smtp's plaintext STARTTLS) is the one of
// implicit TLS: the same SNI (the configured host, not the dialled
// address), the same offered versions (only TLS 1.3 with the policy floor
// 1.3, never below 1.2) and cipher suites; and a certificate the pinned
// roots do not vouch for, or for another host, stops both before AUTH.
func TestAttackTLSClientHello(t *testing.T) {
	leaf, err := testCA().Issue("smtp.clinic.test")
	if err != nil {
		t.Fatal(err)
	}
	good := &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	hello := map[string]*tls.ClientHelloInfo{}
	for _, floor := range []uint16{0, tls.VersionTLS13} {
		for _, sec := range []Security{ImplicitTLS, StartTLS} {
			h := &hostile{implicit: sec == ImplicitTLS, tls: good, plainEHLO: "STARTTLS", tlsEHLO: "AUTH_PLAIN CHUNKING PIPELINING"}
			addr := h.start(t)
			opts := Options{Server: "smtp.clinic.test:587", Security: sec, MinTLSVersion: floor, RootCAs: testCA().Pool(),
				Auth: PasswordAuth(testUser, testPassword), Timeout: 5 * time.Second,
				Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, addr)
				}}
			res, err := Submit(context.Background(), opts, attackEnvelope, bytes.NewReader(attackBody(10_000)))
			if err != nil {
				t.Fatalf("security %d, floor %x: %v", sec, floor, err)
			}
			h.mu.Lock()
			chi := h.handshk
			h.mu.Unlock()
			if chi == nil {
				t.Fatalf("security %d: no ClientHello", sec)
			}
			if chi.ServerName != "smtp.clinic.test" {
				t.Errorf("security %d: SNI %q", sec, chi.ServerName)
			}
			want := []uint16{tls.VersionTLS13, tls.VersionTLS12}
			if floor == tls.VersionTLS13 {
				want = want[:1]
			}
			if !slices.Equal(chi.SupportedVersions, want) {
				t.Errorf("security %d, floor %x: offered versions %x, want %x", sec, floor, chi.SupportedVersions, want)
			}
			if floor == tls.VersionTLS13 && res.TLS.Version != "TLS 1.3" {
				t.Errorf("floor 1.3: negotiated %s", res.TLS.Version)
			}
			key := string(rune('0' + floor&0xf))
			if prev := hello[key]; prev != nil && !slices.Equal(prev.CipherSuites, chi.CipherSuites) {
				t.Errorf("floor %x: cipher suites differ between implicit TLS and STARTTLS: %x vs %x", floor, prev.CipherSuites, chi.CipherSuites)
			}
			hello[key] = chi
		}
	}

	other := &tls.Config{Certificates: []tls.Certificate{mustLeaf(t, newCA(t), "smtp.clinic.test")}}
	wrongHost := &tls.Config{Certificates: []tls.Certificate{mustLeaf(t, testCA(), "smtp.elsewhere.test")}}
	old := &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, MaxVersion: tls.VersionTLS12}
	for _, tc := range []struct {
		name  string
		cfg   *tls.Config
		floor uint16
		want  error
	}{
		{"untrusted CA", other, 0, ErrCertificate},
		{"wrong host", wrongHost, 0, ErrCertificate},
		{"TLS 1.2 server, floor 1.3", old, tls.VersionTLS13, ErrTLSVersion},
	} {
		for _, sec := range []Security{ImplicitTLS, StartTLS} {
			h := &hostile{implicit: sec == ImplicitTLS, tls: tc.cfg, plainEHLO: "STARTTLS", tlsEHLO: "AUTH_PLAIN CHUNKING"}
			addr := h.start(t)
			opts := Options{Server: "smtp.clinic.test:587", Security: sec, MinTLSVersion: tc.floor, RootCAs: testCA().Pool(),
				Auth: PasswordAuth(testUser, testPassword), Timeout: 5 * time.Second,
				Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, addr)
				}}
			_, err := Submit(context.Background(), opts, attackEnvelope, bytes.NewReader(attackBody(10_000)))
			var se *Error
			if !errors.Is(err, tc.want) || !errors.As(err, &se) || se.Stage != "tls" {
				t.Errorf("%s, security %d: %v, want %v at stage tls", tc.name, sec, err, tc.want)
			}
			if v := h.verbs(); len(v) != 0 {
				t.Errorf("%s, security %d: the client sent %q inside the failed TLS", tc.name, sec, v)
			}
		}
	}
}

// TestAttackStartTLSNothingInClear: whatever a server or a man in the
// middle does around STARTTLS (not offering it, refusing it, answering 220
// and then talking plaintext, injecting plaintext after the 220 in a
// later segment, so that go-smtp's reader has not read it ahead and it
// reaches the TLS client), no credential, command after STARTTLS or
// message byte crosses the wire in the clear, and the client sends
// nothing but TLS handshake records after the 220.
func TestAttackStartTLSNothingInClear(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     *hostile
		want  error
		stage string
	}{
		{"STARTTLS not offered", &hostile{plainEHLO: "AUTH_PLAIN CHUNKING PIPELINING"}, ErrNoTLS, "starttls"},
		{"STARTTLS refused 454", &hostile{plainEHLO: "STARTTLS AUTH_PLAIN", startTLS: "454 4.7.0 TLS not available\r\n"}, ErrNoTLS, "starttls"},
		{"STARTTLS refused 502", &hostile{plainEHLO: "STARTTLS AUTH_PLAIN", startTLS: "502 5.5.1 no\r\n"}, ErrNoTLS, "starttls"},
		{"220 then plaintext EHLO reply", &hostile{plainEHLO: "STARTTLS", plainAfter: "250-mx.test\r\n250-AUTH PLAIN\r\n250 CHUNKING\r\n"}, ErrNoTLS, "tls"},
		{"220 then plaintext 235", &hostile{plainEHLO: "STARTTLS", plainAfter: "235 2.7.0 ok\r\n250 ok\r\n250 ok\r\n"}, ErrNoTLS, "tls"},
		{"220 with injected replies in the same segment, then plaintext", &hostile{plainEHLO: "STARTTLS",
			startTLS: "220 go ahead\r\n250-mx.test\r\n250 AUTH PLAIN\r\n235 ok\r\n", plainAfter: "250 ok\r\n"}, ErrNoTLS, "tls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.h
			addr := h.start(t)
			opts := Options{Server: addr, Security: StartTLS, RootCAs: testCA().Pool(), Auth: PasswordAuth(testUser, testPassword), Timeout: 30 * time.Second}
			_, err := Submit(context.Background(), opts, attackEnvelope, bytes.NewReader(attackBody(10_000)))
			var se *Error
			if !errors.Is(err, tc.want) || !errors.As(err, &se) || se.Stage != tc.stage {
				t.Errorf("Submit = %v (stage %q), want %v at stage %s", err, stageOf(se), tc.want, tc.stage)
			}
			h.idle() // the server has recorded the last bytes
			h.mu.Lock()
			defer h.mu.Unlock()
			wire := append(h.clear.Bytes(), h.afterTLS.Bytes()...)
			for _, m := range secretMarkers() {
				if bytes.Contains(wire, m) {
					t.Errorf("%q crossed the wire in the clear:\n%q", m, wire)
				}
			}
			if a := h.afterTLS.Bytes(); len(a) > 0 && a[0] != 0x16 {
				t.Errorf("after the 220 the client sent %q, not a TLS handshake record", a[:min(len(a), 40)])
			}
			if len(h.cmds) != 0 {
				t.Errorf("commands inside TLS: %q", h.cmds)
			}
		})
	}
}

// TestAttackExtensionsFromInsideTLS: only the EHLO reply inside TLS
// counts. CHUNKING, REQUIRETLS offered only in the clear (a man in the
// middle can add them there) are ignored: DATA is used, and a required
// REQUIRETLS is missing. Offered inside TLS, BDAT is used and MAIL FROM
// still carries SIZE and REQUIRETLS.
func TestAttackExtensionsFromInsideTLS(t *testing.T) {
	body := attackBody(300_000)
	for _, tc := range []struct {
		name       string
		plain, in  string
		requireTLS bool
		wantVerb   string // DATA or BDAT
		wantErr    error
		wantMail   []string
	}{
		{"CHUNKING only in the clear", "STARTTLS CHUNKING PIPELINING", "AUTH_PLAIN SIZE_100000000", false, "DATA", nil, []string{"SIZE="}},
		{"CHUNKING inside TLS", "STARTTLS", "AUTH_PLAIN CHUNKING PIPELINING SIZE_100000000 REQUIRETLS", true, "BDAT", nil, []string{"SIZE=", "REQUIRETLS"}},
		{"CHUNKING inside TLS, no PIPELINING", "STARTTLS", "AUTH_PLAIN CHUNKING SIZE_100000000 REQUIRETLS", true, "BDAT", nil, []string{"SIZE=", "REQUIRETLS"}},
		{"REQUIRETLS only in the clear", "STARTTLS REQUIRETLS CHUNKING", "AUTH_PLAIN CHUNKING", true, "", ErrRequireTLS, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &hostile{plainEHLO: tc.plain, tlsEHLO: tc.in}
			addr := h.start(t)
			opts := Options{Server: addr, Security: StartTLS, RootCAs: testCA().Pool(), Auth: PasswordAuth(testUser, testPassword),
				Timeout: 5 * time.Second, RequireTLS: tc.requireTLS}
			env := attackEnvelope
			env.Size = int64(len(body))
			res, err := Submit(context.Background(), opts, env, bytes.NewReader(body))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Submit = %v, want %v", err, tc.wantErr)
				}
				if v := h.verbs(); slices.Contains(v, "MAIL") || slices.Contains(v, "BDAT") || slices.Contains(v, "DATA") {
					t.Errorf("commands %q after the refusal", v)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			v := h.verbs()
			if !slices.Contains(v, tc.wantVerb) || (tc.wantVerb == "DATA" && slices.Contains(v, "BDAT")) || (tc.wantVerb == "BDAT" && slices.Contains(v, "DATA")) {
				t.Errorf("commands %q, want %s", v, tc.wantVerb)
			}
			mail := h.mailLine()
			for _, p := range tc.wantMail {
				if !strings.Contains(mail, p) {
					t.Errorf("%q lacks %s", mail, p)
				}
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			if !bytes.Equal(h.body.Bytes(), body) {
				t.Errorf("the server got %d bytes, not the %d sent", h.body.Len(), len(body))
			}
			if res.RequireTLS != tc.requireTLS {
				t.Errorf("Result.RequireTLS = %v", res.RequireTLS)
			}
		})
	}
}

// TestAttackBDATFaults: a server that fails, refuses or hangs up at each
// point of a BDAT transfer of three chunks and the empty "BDAT 0 LAST",
// with and without PIPELINING (one chunk in flight). Stage "data"
// (deferred, retry safe) unless "BDAT 0 LAST" was handed over; "data-reply"
// with no reply (the outbox's "possibly sent") only when it went out and
// its verdict never came; a reply to an earlier chunk is never taken as the
// verdict on the message. The commit point (Options.BeforeCommit) comes
// only after every chunk was accepted, and only then is LAST sent.
func TestAttackBDATFaults(t *testing.T) {
	size := 2*bdatChunk + 1000 // three chunks, then BDAT 0 LAST (chunk 3)
	for _, tc := range []struct {
		name      string
		pipeline  bool
		bdat      func(i, n int, last bool) (string, bool)
		cut       int
		want      error
		stage     string
		code      int
		wantLast  bool // the server got the LAST chunk (and the commit point came)
		maxChunks int
	}{
		{name: "451 to chunk 1", bdat: replyAt(0, "451 4.3.0 disk full\r\n", false),
			want: ErrTemporary, stage: "data", code: 451, maxChunks: 1},
		{name: "554 to chunk 1", bdat: replyAt(0, "554 5.6.0 no\r\n", false),
			want: ErrPermanent, stage: "data", code: 554, maxChunks: 1},
		{name: "554 to chunk 2, pipelined, chunk 3 in flight", pipeline: true, bdat: replyAt(1, "554 5.6.0 no\r\n", false),
			want: ErrPermanent, stage: "data", code: 554, maxChunks: 3},
		{name: "451 to chunk 2, pipelined, chunk 3 in flight", pipeline: true, bdat: replyAt(1, "451 4.3.0 later\r\n", false),
			want: ErrTemporary, stage: "data", code: 451, maxChunks: 3},
		{name: "554 to chunk 3, the last with data", pipeline: true, bdat: replyAt(2, "554 5.6.0 no\r\n", false),
			want: ErrPermanent, stage: "data", code: 554, maxChunks: 3},
		{name: "hang-up after chunk 3, before LAST", pipeline: true, bdat: replyAt(2, "", true),
			want: ErrTemporary, stage: "data", maxChunks: 3},
		{name: "hang-up after chunk 1, no reply", bdat: replyAt(0, "", true),
			want: ErrTemporary, stage: "data", maxChunks: 1},
		{name: "hang-up after chunk 1, pipelined", pipeline: true, bdat: replyAt(0, "", true),
			want: ErrTemporary, stage: "data", maxChunks: 1},
		{name: "hang-up mid chunk 1", cut: 1000,
			want: ErrTemporary, stage: "data", maxChunks: 0},
		{name: "hang-up mid chunk 1, pipelined", pipeline: true, cut: 1000,
			want: ErrTemporary, stage: "data", maxChunks: 0},
		{name: "hang-up after LAST, no reply", bdat: replyAt(3, "", true),
			want: ErrTemporary, stage: "data-reply", wantLast: true, maxChunks: 4},
		{name: "hang-up after LAST, pipelined", pipeline: true, bdat: replyAt(3, "", true),
			want: ErrTemporary, stage: "data-reply", wantLast: true, maxChunks: 4},
		{name: "452 to LAST", bdat: replyAt(3, "452 4.3.1 queue full\r\n", false),
			want: ErrTemporary, stage: "data-reply", code: 452, wantLast: true, maxChunks: 4},
		{name: "552 to LAST, pipelined", pipeline: true, bdat: replyAt(3, "552 5.3.4 too big\r\n", false),
			want: ErrPermanent, stage: "data-reply", code: 552, wantLast: true, maxChunks: 4},
		{name: "garbage reply to chunk 1", bdat: replyAt(0, "hello there\r\n", false),
			want: ErrTemporary, stage: "data", maxChunks: 1},
		{name: "endless reply line to LAST", bdat: replyAt(3, "250 "+strings.Repeat("x", 8<<20)+"\r\n", false),
			want: ErrTemporary, stage: "data-reply", wantLast: true, maxChunks: 4},
		{name: "endless reply line to chunk 1", bdat: replyAt(0, "250 "+strings.Repeat("x", 8<<20)+"\r\n", false),
			want: ErrTemporary, stage: "data", maxChunks: 1},
		{name: "endless multi-line reply to LAST, pipelined", pipeline: true, bdat: replyAt(3, strings.Repeat("250-x\r\n", 1<<20)+"250 ok\r\n", false),
			want: ErrTemporary, stage: "data-reply", wantLast: true, maxChunks: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exts := "CHUNKING"
			if tc.pipeline {
				exts += " PIPELINING"
			}
			h := &hostile{implicit: true, tlsEHLO: exts, bdat: tc.bdat, bdatCut: tc.cut}
			addr := h.start(t)
			commits := 0
			opts := Options{Server: addr, RootCAs: testCA().Pool(), Timeout: 30 * time.Second}
			opts.BeforeCommit = func() error {
				h.mu.Lock()
				defer h.mu.Unlock()
				if len(h.chunks) != 3 || h.gotLast {
					t.Errorf("commit point with chunks %v on the server, LAST %v; want after the three chunks, before LAST", h.chunks, h.gotLast)
				}
				commits++
				return nil
			}
			_, err := Submit(context.Background(), opts, attackEnvelope, bytes.NewReader(attackBody(size)))
			var se *Error
			if !errors.Is(err, tc.want) || !errors.As(err, &se) || se.Stage != tc.stage || se.Reply.Code != tc.code {
				t.Fatalf("Submit = %v (stage %q, reply %+v), want %v at stage %s, reply %d", err, stageOf(se), replyOfErr(se), tc.want, tc.stage, tc.code)
			}
			if strings.HasPrefix(tc.name, "endless") && !errors.Is(err, errReplyTooLong) {
				t.Errorf("Submit = %v, want %v", err, errReplyTooLong)
			}
			h.idle()
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.gotLast != tc.wantLast || len(h.chunks) > tc.maxChunks {
				t.Errorf("the server got chunks %v, LAST %v; want at most %d, LAST %v", h.chunks, h.gotLast, tc.maxChunks, tc.wantLast)
			}
			if tc.wantLast && h.chunks[len(h.chunks)-1] != 0 {
				t.Errorf("the LAST chunk carried %d bytes; want none (the message goes before the commit point)", h.chunks[len(h.chunks)-1])
			}
			if want := map[bool]int{false: 0, true: 1}[tc.wantLast]; commits != want {
				t.Errorf("commit point reached %d times, want %d", commits, want)
			}
		})
	}
}

// replyAt answers chunk at with reply (and hangs up if hangUp), the
// others with 250.
func replyAt(at int, reply string, hangUp bool) func(i, n int, last bool) (string, bool) {
	return func(i, _ int, last bool) (string, bool) {
		if i == at {
			return reply, hangUp
		}
		if last {
			return "250 2.0.0 Ok: queued as BDAT1\r\n", false
		}
		return "250 2.0.0 chunk OK\r\n", false
	}
}

func replyOfErr(e *Error) Reply {
	if e == nil {
		return Reply{}
	}
	return e.Reply
}
