// Package smtptest runs an in-process go-smtp server for a test and stops
// it without go-smtp's Server.Close.
//
// go-smtp v0.25.1's Conn.Close sets the connection's BDAT pipe to nil
// while that connection's goroutine may still be copying a chunk into it
// (handleBdat): a data race whenever a server is closed while a client is
// sending, which the race detector reports intermittently in tests that
// stop their server mid-message or at clean-up. Serve closes the network
// connections from below instead, so each connection's own goroutine
// ends it, and waits for those goroutines with Shutdown.
package smtptest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// stopWait bounds how long stop waits for the connections' goroutines
// once their connections are closed (a backend that blocks for ever).
const stopWait = time.Minute

// Serve serves srv on ln on its own goroutine. The returned stop closes
// ln and every connection accepted on it, then waits until Serve and
// every connection's goroutine have returned, so that none outlives the
// test. stop may be called more than once, from any goroutine; it also
// runs when the test ends.
func Serve(t testing.TB, srv *smtp.Server, ln net.Listener) (stop func()) {
	t.Helper()
	tl := &trackListener{Listener: ln, conns: map[net.Conn]struct{}{}}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(tl) //nolint:errcheck // ends when tl is closed
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			tl.closeAll()
			<-served // no connection is accepted, or waited for, after this
			ctx, cancel := context.WithTimeout(context.Background(), stopWait)
			defer cancel()
			// Its error is the listener's, closed already, unless ctx ended.
			if srv.Shutdown(ctx); ctx.Err() != nil {
				t.Errorf("smtptest: a connection's goroutine still runs %v after its connection was closed", stopWait)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// trackListener records the connections it accepts, so that closeAll
// can close them and itself.
type trackListener struct {
	net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// Accept returns the connection as the wrapped listener made it (go-smtp
// looks for a *tls.Conn).
func (l *trackListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	l.conns[c] = struct{}{}
	return c, nil
}

// closeAll closes the listener and every connection it accepted.
func (l *trackListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.Listener.Close()
	for c := range l.conns {
		c.Close()
	}
}
