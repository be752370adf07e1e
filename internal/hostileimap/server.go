// Package hostileimap is a scripted IMAP server on loopback for tests: it
// serves a small mailbox correctly, over implicit TLS or STARTTLS, unless a
// test's hooks make it misbehave (endless lines, huge or unrequested
// literals, messages it will not serve, drip-fed replies, a flapping
// UIDVALIDITY, dropped connections). It is not a general IMAP server: it
// knows the commands securesend sends when fetching.
package hostileimap

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Options say how the server behaves.
type Options struct {
	// TLS is the server's TLS configuration; required.
	TLS *tls.Config
	// StartTLS serves cleartext upgraded with STARTTLS instead of
	// implicit TLS.
	StartTLS bool
	// Greeting, when set, replaces the greeting (before TLS with
	// StartTLS). It writes to the raw connection.
	Greeting func(w io.Writer) error
	// Messages are the mailbox's messages by UID.
	Messages map[uint32][]byte
	// Arrived are the messages' arrival dates (INTERNALDATE), for
	// SEARCH SINCE; a message without one arrived now.
	Arrived map[uint32]time.Time
	// UIDValidity returns the UIDVALIDITY of each SELECT/EXAMINE; 1 when
	// nil.
	UIDValidity func() uint32
	// PreTLS, when set with StartTLS, replaces the cleartext exchange
	// after the greeting: it reads the client's commands from r and
	// answers on c (a STARTTLS stripper, an injector). It returns true
	// for the server to go on with the TLS handshake, false to stop
	// (closing the connection).
	PreTLS func(c net.Conn, r *bufio.Reader) bool
	// Hook, when set, is called for each command after TLS and sign-in;
	// it returns true when it answered the command itself (it may also
	// close the connection).
	Hook func(s *Session, tag, cmd, args string) bool
}

// Server is a running hostile server.
type Server struct {
	// Addr is its loopback address.
	Addr string
	opts Options
	// Sessions counts the connections accepted.
	Sessions atomic.Int32

	clearMu sync.Mutex
	clear   []byte // what clients sent before TLS
}

// Cleartext returns every byte clients sent before TLS, over all
// connections so far.
func (srv *Server) Cleartext() string {
	srv.clearMu.Lock()
	defer srv.clearMu.Unlock()
	return string(srv.clear)
}

// recorder keeps what is read through it in the server's cleartext log.
type recorder struct {
	srv *Server
	r   io.Reader
}

func (r recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.srv.clearMu.Lock()
	r.srv.clear = append(r.srv.clear, p[:n]...)
	r.srv.clearMu.Unlock()
	return n, err
}

// Session is one connection, after TLS.
type Session struct {
	// W writes raw bytes to the client (after TLS).
	W  *bufio.Writer
	Cn net.Conn
	r  *bufio.Reader
}

// Printf writes a formatted line part and flushes.
func (s *Session) Printf(format string, args ...any) error {
	fmt.Fprintf(s.W, format, args...)
	return s.W.Flush()
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Addr: ln.Addr().String(), opts: o}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			srv.Sessions.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				srv.serve(c)
			}()
		}
	}()
	return srv
}

func (srv *Server) greet(w io.Writer) error {
	if srv.opts.Greeting != nil {
		return srv.opts.Greeting(w)
	}
	_, err := io.WriteString(w, "* OK hostileimap ready\r\n")
	return err
}

func (srv *Server) serve(raw net.Conn) {
	conn := raw
	if srv.opts.StartTLS {
		if srv.greet(raw) != nil {
			return
		}
		// Unbuffered below the line reader, so that nothing of the TLS
		// handshake is read as cleartext.
		br := bufio.NewReaderSize(recorder{srv, raw}, 16)
		if srv.opts.PreTLS != nil {
			if !srv.opts.PreTLS(raw, br) {
				return
			}
		} else {
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				tag, cmd, _ := split(line)
				if cmd == "STARTTLS" {
					fmt.Fprintf(raw, "%s OK begin TLS\r\n", tag)
					break
				}
				fmt.Fprintf(raw, "%s BAD STARTTLS first\r\n", tag)
			}
		}
		conn = tls.Server(raw, srv.opts.TLS)
	} else {
		tc := tls.Server(raw, srv.opts.TLS)
		if tc.Handshake() != nil {
			return
		}
		conn = tc
		if srv.greet(conn) != nil {
			return
		}
	}
	s := &Session{W: bufio.NewWriter(conn), Cn: conn, r: bufio.NewReader(conn)}
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return
		}
		tag, cmd, args := split(line)
		if cmd == "LOGOUT" {
			s.Printf("* BYE\r\n%s OK bye\r\n", tag)
			return
		}
		if srv.opts.Hook != nil && srv.opts.Hook(s, tag, cmd, args) {
			continue
		}
		if !srv.answer(s, tag, cmd, args) {
			return
		}
	}
}

func split(line string) (tag, cmd, args string) {
	line = strings.TrimRight(line, "\r\n")
	tag, rest, _ := strings.Cut(line, " ")
	cmd, args, _ = strings.Cut(rest, " ")
	cmd = strings.ToUpper(cmd)
	if cmd == "UID" {
		sub, more, _ := strings.Cut(args, " ")
		cmd, args = "UID "+strings.ToUpper(sub), more
	}
	return tag, cmd, args
}

// UIDs returns the mailbox's UIDs in order.
func (srv *Server) UIDs() []uint32 {
	var uids []uint32
	for u := range srv.opts.Messages {
		uids = append(uids, u)
	}
	for i := range uids { // a few messages: insertion sort
		for j := i; j > 0 && uids[j] < uids[j-1]; j-- {
			uids[j], uids[j-1] = uids[j-1], uids[j]
		}
	}
	return uids
}

// answer handles the commands of a well-behaved server.
func (srv *Server) answer(s *Session, tag, cmd, args string) bool {
	uids := srv.UIDs()
	var err error
	switch cmd {
	case "CAPABILITY":
		err = s.Printf("* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n%s OK done\r\n", tag)
	case "LOGIN", "NOOP":
		err = s.Printf("%s OK done\r\n", tag)
	case "AUTHENTICATE":
		if err = s.Printf("+ \r\n"); err == nil {
			if _, err = s.r.ReadString('\n'); err == nil {
				err = s.Printf("%s OK signed in\r\n", tag)
			}
		}
	case "SELECT", "EXAMINE":
		v := uint32(1)
		if srv.opts.UIDValidity != nil {
			v = srv.opts.UIDValidity()
		}
		next := uint32(1)
		if len(uids) > 0 {
			next = uids[len(uids)-1] + 1
		}
		err = s.Printf("* %d EXISTS\r\n* FLAGS ()\r\n* OK [UIDVALIDITY %d] ok\r\n* OK [UIDNEXT %d] ok\r\n%s OK [READ-ONLY] done\r\n", len(uids), v, next, tag)
	case "UID SEARCH":
		var since time.Time
		if d, ok := strings.CutPrefix(strings.ToUpper(args), "SINCE "); ok {
			since, _ = time.Parse("2-Jan-2006", strings.Trim(d, `"`))
		}
		var parts []string
		for _, u := range uids {
			if at, ok := srv.opts.Arrived[u]; ok && at.Before(since) {
				continue
			}
			parts = append(parts, strconv.Itoa(int(u)))
		}
		err = s.Printf("* SEARCH %s\r\n%s OK done\r\n", strings.Join(parts, " "), tag)
	case "UID FETCH":
		set, items, _ := strings.Cut(args, " ")
		body := strings.Contains(strings.ToUpper(items), "BODY")
		for i, u := range uids {
			if !inSet(set, u, uids) {
				continue
			}
			if body {
				msg := srv.opts.Messages[u]
				fmt.Fprintf(s.W, "* %d FETCH (UID %d BODY[] {%d}\r\n", i+1, u, len(msg))
				s.W.Write(msg)
				s.W.WriteString(")\r\n")
			} else {
				fmt.Fprintf(s.W, "* %d FETCH (UID %d)\r\n", i+1, u)
			}
		}
		err = s.Printf("%s OK done\r\n", tag)
	default:
		err = s.Printf("%s BAD unknown command\r\n", tag)
	}
	return err == nil
}

// inSet reports whether u is in the UID set "a", "a:b" or "a:*" (comma
// separated).
func inSet(set string, u uint32, all []uint32) bool {
	last := uint32(0)
	if len(all) > 0 {
		last = all[len(all)-1]
	}
	num := func(s string) uint32 {
		if s == "*" {
			return last
		}
		n, _ := strconv.ParseUint(s, 10, 32)
		return uint32(n)
	}
	for _, part := range strings.Split(set, ",") {
		a, b, ok := strings.Cut(part, ":")
		lo, hi := num(a), num(a)
		if ok {
			hi = num(b)
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if u >= lo && u <= hi {
			return true
		}
	}
	return false
}
