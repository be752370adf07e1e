package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/audit"
)

// Defaults of Options' limits.
const (
	DefaultMaxMessageBytes = 32 << 20
	DefaultMaxConnections  = 8
	// DefaultMaxConnectionsPerAddress: an MFD opens one connection a
	// scan, two at most at once; four leave room for two devices behind
	// one address, and half the default MaxConnections for the others.
	DefaultMaxConnectionsPerAddress = 4
	DefaultMaxPerMinute             = 20
	DefaultMaxRecipients            = 5
	DefaultSubmitTimeout            = 2 * time.Minute
	DefaultIdleTimeout              = 5 * time.Minute
	DefaultAuthFailDelay            = time.Second
	DefaultSignInTimeout            = time.Minute
	// ShutdownGrace is how long Serve waits, once its context is done,
	// for connections to end before it closes them. A device cut off
	// before its 250 sends again; a message being queued is waited for.
	ShutdownGrace = 10 * time.Second
)

// maxConcurrentHashes bounds the argon2id checks running at once (64 MiB
// each).
const maxConcurrentHashes = 2

// incomingPrefix starts the name of each message's private folder.
const incomingPrefix = "securesend-relay-"

// Audit event kinds the relay writes.
const (
	// AuditReceived: a device's message was queued (job, device in
	// "actor", its address in "address", recipients, document hashes).
	AuditReceived audit.Kind = "relay.received"
	// AuditRefused: a device's message was refused after DATA (reason).
	AuditRefused audit.Kind = "relay.refused"
	// AuditDuplicate: a device sent a message it had sent before (it
	// missed the 250); answered 250 with the earlier job, nothing queued
	// (job: the earlier job; reason: how it was recognised).
	AuditDuplicate audit.Kind = "relay.duplicate"
)

// AuditLog is where the relay records what it accepted and refused
// (*audit.Log).
type AuditLog interface {
	Append(audit.Event) (audit.Entry, error)
}

// Options configure a Server. Devices, Resolver, Submitter, Audit and
// TLS are required.
type Options struct {
	// Devices are the devices that may sign in.
	Devices *Devices
	// Resolver decides who may be a recipient.
	Resolver Resolver
	// Submitter queues accepted messages.
	Submitter Submitter
	// Resends, when set, recognises a message a device sends again
	// because it missed the 250: it is answered 250 with the earlier job
	// and not queued again (see Resends). Its file must be this relay's
	// own. The caller closes it after Serve.
	Resends *Resends
	// Audit records every message received and refused.
	Audit AuditLog
	// TLS is the certificate offered with STARTTLS.
	TLS tls.Certificate
	// Allow are the client networks allowed (loopback too must be listed,
	// e.g. 127.0.0.0/8 and ::1/128); a connection from elsewhere is refused
	// before the greeting.
	Allow []netip.Prefix
	// PlainFrom are device addresses allowed to sign in and send without
	// TLS (old MFDs); each such message is audited as such.
	PlainFrom []netip.Addr
	// Hostname is the name in the greeting; "securesend-relay" if empty.
	Hostname string
	// MaxMessageBytes bounds a message as sent (DefaultMaxMessageBytes).
	MaxMessageBytes int64
	// MaxConnections bounds concurrent connections (DefaultMaxConnections).
	MaxConnections int
	// MaxConnectionsPerAddress bounds the concurrent connections from one
	// IP address (DefaultMaxConnectionsPerAddress), so that one host, or
	// one reconnecting in a loop, cannot take every MaxConnections slot
	// from the devices. Loopback counts like any other address: when the
	// relay listens on loopback, all its clients share that one address.
	MaxConnectionsPerAddress int
	// MaxPerMinute bounds the messages one device may start in a minute
	// (DefaultMaxPerMinute).
	MaxPerMinute int
	// MaxRecipients bounds the recipients of one message
	// (DefaultMaxRecipients).
	MaxRecipients int
	// TempDir is where each message's private folder is made
	// (os.TempDir() if empty). Serve removes what a crashed relay left
	// there (securesend-relay-*), so it must be this relay's own: give
	// each relay its own folder.
	TempDir string
	// SubmitTimeout bounds one Submit (DefaultSubmitTimeout).
	SubmitTimeout time.Duration
	// IdleTimeout bounds waiting for a device's next command
	// (DefaultIdleTimeout).
	IdleTimeout time.Duration
	// AuthFailDelay is waited after a failed sign-in
	// (DefaultAuthFailDelay).
	AuthFailDelay time.Duration
	// SignInTimeout bounds the time from connecting to signing in
	// (DefaultSignInTimeout): a connection not signed in by then is
	// closed, so that clients that never sign in cannot keep the
	// MaxConnections slots from the devices by sending a command now and
	// then (IdleTimeout bounds only the wait for each command).
	SignInTimeout time.Duration
	// Log receives one line per sign-in failure, message queued or
	// refused, and per burst of connections refused (then a count a
	// minute); never a password or document content. io.Discard if nil.
	Log io.Writer
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Server is a running relay's state.
type Server struct {
	opts Options
	smtp *smtp.Server
	rate *rateLimiter
	// refusals logs and audits refused connections once per burst.
	refusals *refusalLog
	logMu    sync.Mutex
	// hashing bounds the password checks running at once.
	hashing chan struct{}
	// busy counts messages being received and queued; Serve waits for
	// them before it returns.
	busy sync.WaitGroup
}

// New checks opts and returns a Server.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Devices == nil:
		return nil, errors.New("relay: no device list")
	case opts.Resolver == nil:
		return nil, errors.New("relay: no recipient resolver")
	case opts.Submitter == nil:
		return nil, errors.New("relay: no submitter")
	case opts.Audit == nil:
		return nil, errors.New("relay: no audit log")
	case len(opts.Allow) == 0:
		return nil, errors.New("relay: no allowed client networks")
	case len(opts.TLS.Certificate) == 0:
		return nil, errors.New("relay: no TLS certificate")
	}
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = DefaultMaxConnections
	}
	if opts.MaxConnectionsPerAddress <= 0 {
		opts.MaxConnectionsPerAddress = DefaultMaxConnectionsPerAddress
	}
	if opts.MaxPerMinute <= 0 {
		opts.MaxPerMinute = DefaultMaxPerMinute
	}
	if opts.MaxRecipients <= 0 {
		opts.MaxRecipients = DefaultMaxRecipients
	}
	if opts.SubmitTimeout <= 0 {
		opts.SubmitTimeout = DefaultSubmitTimeout
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.SignInTimeout <= 0 {
		opts.SignInTimeout = DefaultSignInTimeout
	}
	if opts.AuthFailDelay < 0 {
		opts.AuthFailDelay = 0
	} else if opts.AuthFailDelay == 0 {
		opts.AuthFailDelay = DefaultAuthFailDelay
	}
	if opts.Hostname == "" {
		opts.Hostname = "securesend-relay"
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, rate: newRateLimiter(opts.MaxPerMinute, time.Minute, opts.Now), hashing: make(chan struct{}, maxConcurrentHashes)}
	s.refusals = newRefusalLog(s)
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = opts.Hostname
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{opts.TLS}, MinVersion: tls.VersionTLS12}
	// The size limit is the session's (Mail, limitReader), not go-smtp's:
	// go-smtp refuses a BDAT chunk over its limit itself, and the session
	// would see only an aborted message, audited as unreadable. The
	// price: EHLO offers SIZE without the number (RFC 1870: no fixed
	// limit announced); a declared SIZE over it is still refused at MAIL.
	srv.MaxMessageBytes = 0
	srv.MaxRecipients = opts.MaxRecipients
	srv.ReadTimeout = opts.IdleTimeout
	srv.WriteTimeout = opts.IdleTimeout
	// The session refuses AUTH without TLS itself, with 530 (RFC 3207)
	// rather than go-smtp's 523, and allows it for PlainFrom devices.
	srv.AllowInsecureAuth = true
	srv.ErrorLog = logAdapter{s}
	s.smtp = srv
	return s, nil
}

// Serve answers connections on ln until ctx is done, then stops
// accepting, gives open connections ShutdownGrace to end, closes the rest,
// waits for the messages being queued and returns nil. Connections from
// outside the allow-list, and those over MaxConnectionsPerAddress or
// MaxConnections, are refused before the greeting, logged (and, but for
// the first, audited) once per burst. Serve may be called once. It first removes the private folders a crashed
// relay left in TempDir (decrypted scans must not stay on disk).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := s.sweep(); err != nil {
		return err
	}
	gl := &gateListener{Listener: ln, s: s, slots: make(chan struct{}, s.opts.MaxConnections), open: map[*slotConn]struct{}{}, perAddr: map[netip.Addr]int{}}
	defer s.refusals.close()
	errc := make(chan error, 1)
	go func() { errc <- s.smtp.Serve(gl) }()
	select {
	case err := <-errc:
		return fmt.Errorf("relay: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := s.smtp.Shutdown(sctx); err != nil {
		gl.closeAll() // the server is closed already: its Close would do nothing
	}
	// Shutdown closes only the listeners go-smtp's Serve has registered:
	// when ctx was done before that goroutine ran, it would serve ln for
	// ever. Closed here, its Accept fails and it sees it was shut down.
	_ = ln.Close()
	<-errc
	s.busy.Wait()
	return nil
}

// sweep removes the private folders a crashed relay left in TempDir.
func (s *Server) sweep() error {
	entries, err := os.ReadDir(s.opts.TempDir)
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), incomingPrefix) {
			if err := os.RemoveAll(filepath.Join(s.opts.TempDir, e.Name())); err != nil {
				return fmt.Errorf("relay: removing a crashed relay's scans: %w", err)
			}
			s.logf("removed %s, left by a relay that did not stop cleanly", e.Name())
		}
	}
	return nil
}

// logf writes one line to the log.
func (s *Server) logf(format string, a ...any) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.opts.Log, "%s relay: "+format+"\n", append([]any{s.opts.Now().Format(time.RFC3339)}, a...)...)
}

// logAdapter sends go-smtp's internal errors to the log.
type logAdapter struct{ s *Server }

func (l logAdapter) Printf(format string, v ...any) {
	l.s.logf("%s", safeReason(fmt.Errorf(format, v...)))
}
func (l logAdapter) Println(v ...any) { l.s.logf("%s", safeReason(errors.New(fmt.Sprint(v...)))) }

// allowed reports whether a client at addr may connect.
func (s *Server) allowed(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range s.opts.Allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// plainAllowed reports whether a device at addr may sign in without TLS.
func (s *Server) plainAllowed(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, a := range s.opts.PlainFrom {
		if a.Unmap() == addr {
			return true
		}
	}
	return false
}

// gateListener refuses connections from outside the allow-list, and
// beyond the connection limits, before go-smtp greets them.
type gateListener struct {
	net.Listener
	s     *Server
	slots chan struct{}
	mu    sync.Mutex
	open  map[*slotConn]struct{}
	// perAddr counts the open connections of each address.
	perAddr map[netip.Addr]int
}

// closeAll closes every open connection.
func (l *gateListener) closeAll() {
	l.mu.Lock()
	conns := make([]*slotConn, 0, len(l.open))
	for c := range l.open {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (l *gateListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if !l.s.allowed(ip) {
			l.s.refusals.note(refusedNetwork, ip, c.RemoteAddr().String())
			refuse(c, "554 5.7.1 This relay does not accept connections from your network\r\n")
			continue
		}
		l.mu.Lock()
		full := l.perAddr[ip] >= l.s.opts.MaxConnectionsPerAddress
		if !full {
			l.perAddr[ip]++
		}
		l.mu.Unlock()
		if full {
			l.s.refusals.note(refusedAddress, ip, c.RemoteAddr().String())
			refuse(c, "421 4.7.0 Too many connections from your address; close one, or try again shortly\r\n")
			continue
		}
		select {
		case l.slots <- struct{}{}:
			sc := &slotConn{Conn: c}
			sc.release = func() {
				l.mu.Lock()
				delete(l.open, sc)
				l.unclaim(ip)
				l.mu.Unlock()
				<-l.slots
			}
			timeout := l.s.opts.SignInTimeout
			// Started once sc.signIn is set, which Close reads.
			sc.signIn = time.AfterFunc(time.Duration(math.MaxInt64), func() {
				l.s.logf("closed the connection from %s: not signed in within %s of connecting", c.RemoteAddr(), timeout)
				sc.Close()
			})
			sc.signIn.Reset(timeout)
			l.mu.Lock()
			l.open[sc] = struct{}{}
			l.mu.Unlock()
			return sc, nil
		default:
			l.mu.Lock()
			l.unclaim(ip)
			l.mu.Unlock()
			l.s.refusals.note(refusedServer, ip, c.RemoteAddr().String())
			refuse(c, "421 4.7.0 Too many connections; try again shortly\r\n")
		}
	}
}

// unclaim gives back one of ip's connections; l.mu is held.
func (l *gateListener) unclaim(ip netip.Addr) {
	if l.perAddr[ip]--; l.perAddr[ip] <= 0 {
		delete(l.perAddr, ip)
	}
}

// refuse writes a one-line reply (in the greeting's place, RFC 5321
// 3.1) and closes c.
func refuse(c net.Conn, reply string) {
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, reply)
	_ = c.Close()
}

// remoteIP is c's remote IP address (the zero Addr when unknown).
func remoteIP(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// slotConn gives its connection slot back when closed, and is closed
// when it is not signed in within Options.SignInTimeout.
type slotConn struct {
	net.Conn
	once    sync.Once
	release func()
	signIn  *time.Timer // closes the connection; stopped at sign-in
}

func (c *slotConn) Close() error {
	c.once.Do(func() {
		c.signIn.Stop()
		c.release()
	})
	return c.Conn.Close()
}

// markSignedIn stops the sign-in timer of the connection c (a *slotConn, or
// a *tls.Conn over one after STARTTLS). It reports false when the timer
// had fired already: the connection is being closed.
func markSignedIn(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(*slotConn)
	return !ok || sc.signIn.Stop()
}

// rateLimiter counts the messages each device started in the last window.
type rateLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	seen   map[string][]time.Time
}

func newRateLimiter(max int, window time.Duration, now func() time.Time) *rateLimiter {
	return &rateLimiter{max: max, window: window, now: now, seen: map[string][]time.Time{}}
}

// take records one message of device, or reports false when the device
// has started max messages in the last window already.
func (r *rateLimiter) take(device string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	ts := r.seen[device]
	keep := ts[:0]
	for _, t := range ts {
		if now.Sub(t) < r.window {
			keep = append(keep, t)
		}
	}
	if len(keep) >= r.max {
		r.seen[device] = keep
		return false
	}
	r.seen[device] = append(keep, now)
	return true
}
