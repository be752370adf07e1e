// Package mailserver starts a private Postfix and Dovecot on loopback for
// end-to-end tests, benchmarks and manual trials: no systemd, nothing outside
// one temporary directory, unprivileged high ports on 127.0.0.1 only.
//
// Postfix offers three listeners: submission with STARTTLS required and SASL
// authentication through Dovecot, implicit TLS ("smtps", RFC 8314) with the
// same authentication, and a plaintext-only port that offers no STARTTLS at
// all (to prove a client refuses it). It accepts only the listed users as
// recipients, and an authenticated user only as their own sender address. Mail for the test domain goes over LMTP
// to Dovecot, which stores it in maildirs and serves it over IMAPS. Both use a
// certificate for 127.0.0.1 and localhost signed by a private CA made for
// each server.
//
// Postfix's master process must run as root, so Start refuses to run as
// another user (see Available). It is meant for tests and never for real mail.
package mailserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/securesend/securesend/internal/testpki"
)

// Host is the address every listener binds to.
const Host = "127.0.0.1"

// Options configures Start. The zero value is usable.
type Options struct {
	// Dir is the directory to keep everything in. Empty: a new temporary
	// directory, removed by Stop.
	Dir string
	// Domain is the mail domain the server delivers locally. Default
	// "example.test".
	Domain string
	// Users are the local parts of the mailboxes to create, each with
	// Server.Password. Default "doctor" and "pharmacy".
	Users []string
	// MessageSizeLimit is Postfix's message_size_limit in bytes. Default
	// 512 MiB, so that 200 MB documents fit after base64.
	MessageSizeLimit int64
}

// Server is a running Postfix plus Dovecot pair.
type Server struct {
	// Dir holds the configuration, queue, logs and mailboxes.
	Dir string
	// Domain is the locally delivered mail domain.
	Domain string
	// Users are the full addresses of the mailboxes (also the login names).
	Users []string
	// Password is the password of every user in Users.
	Password string

	// Ports on Host.
	Submission int // STARTTLS required, SASL AUTH (like 587)
	SMTPS      int // implicit TLS, SASL AUTH (like 465)
	Plain      int // no STARTTLS offered at all
	IMAPS      int // Dovecot, implicit TLS
	LMTP       int // Dovecot LMTP, Postfix's delivery target

	// CAFile is the path of the PEM file of the CA that signed the servers'
	// certificate; CAPEM is its contents.
	CAFile string
	CAPEM  []byte

	postfixDir  string // Postfix config_directory
	queueDir    string
	dovecotConf string
	postfixLog  string
	dovecotLog  string
	removeDir   bool
	postfixUp   bool
	dovecotUp   bool
}

// Addr returns "127.0.0.1:port".
func Addr(port int) string { return net.JoinHostPort(Host, strconv.Itoa(port)) }

// ErrUnavailable is wrapped by the error Available returns.
var ErrUnavailable = errors.New("mailserver: cannot run a private Postfix and Dovecot here")

// Available reports whether Start can work on this machine: the postfix and
// dovecot binaries are installed and the process runs as root.
func Available() error {
	for _, bin := range []string{postfixBin, postsuperBin, dovecotBin, "/usr/lib/dovecot/lmtp"} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%w: %s is missing (run scripts/install-deps.sh test)", ErrUnavailable, bin)
		}
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: Postfix's master process must run as root (uid is %d)", ErrUnavailable, os.Geteuid())
	}
	return nil
}

const (
	postfixBin   = "/usr/sbin/postfix"
	postsuperBin = "/usr/sbin/postsuper"
	postqueueBin = "/usr/sbin/postqueue"
	dovecotBin   = "/usr/sbin/dovecot"
	doveadmBin   = "/usr/bin/doveadm"
)

// Start makes the configuration, starts Dovecot and then Postfix, and waits
// until every listener accepts connections. On error everything started is
// stopped again.
//
// The free ports are found before the servers bind them, so another process
// may take one in between, and a daemon may fail to come up on a loaded
// machine; Start then tries again with new ports and a new directory, up to
// three times, and reports every failure if all three fail.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	reapStale(ctx)
	var failed []error
	for attempt := 1; ; attempt++ {
		s, err := start(ctx, opts)
		if err == nil {
			return s, nil
		}
		failed = append(failed, err)
		// A port taken meanwhile, or a daemon that did not come up on a
		// loaded machine (CI once saw "postfix start" fail there): each
		// try is a new directory and new ports, so trying again is safe.
		if attempt == 3 || opts.Dir != "" || ctx.Err() != nil {
			return nil, errors.Join(failed...)
		}
	}
}

// errPortTaken: a server could not bind a port found free a moment before.
var errPortTaken = errors.New("a port was taken by another process")

// start's result is unnamed so that its error path (the deferred Logs and
// Stop) still has the server after a "return nil, err".
func start(ctx context.Context, opts Options) (_ *Server, err error) {
	s := &Server{Domain: opts.Domain, Dir: opts.Dir}
	if s.Domain == "" {
		s.Domain = "example.test"
	}
	users := opts.Users
	if len(users) == 0 {
		users = []string{"doctor", "pharmacy"}
	}
	for _, u := range users {
		s.Users = append(s.Users, u+"@"+s.Domain)
	}
	limit := opts.MessageSizeLimit
	if limit == 0 {
		limit = 512 << 20
	}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "securesend-mail-"); err != nil {
			return nil, fmt.Errorf("mailserver: %w", err)
		}
		s.removeDir = true
		if err := s.writeOwner(); err != nil {
			return nil, fmt.Errorf("mailserver: %w", err)
		}
	}
	defer func() {
		if err != nil {
			if logs := s.Logs(); logs != "" {
				err = fmt.Errorf("%w\n%s", err, logs)
			}
			s.Stop()
		}
	}()
	// Postfix and Dovecot drop privileges; they must reach their files.
	if err := os.Chmod(s.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("mailserver: %w", err)
	}
	var pw [12]byte
	rand.Read(pw[:])
	s.Password = hex.EncodeToString(pw[:])

	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	s.Submission, s.SMTPS, s.Plain, s.IMAPS, s.LMTP = ports[0], ports[1], ports[2], ports[3], ports[4]

	if err := s.writePKI(); err != nil {
		return nil, err
	}
	if err := s.writeDovecot(); err != nil {
		return nil, err
	}
	if err := s.writePostfix(limit); err != nil {
		return nil, err
	}
	if err := run(ctx, dovecotBin, "-c", s.dovecotConf); err != nil {
		if strings.Contains(err.Error(), "Address already in use") {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, fmt.Errorf("mailserver: start dovecot: %w", err)
	}
	s.dovecotUp = true
	if err := s.waitListening(ctx, s.IMAPS, s.LMTP); err != nil {
		return nil, fmt.Errorf("mailserver: dovecot: %w", err)
	}
	if err := run(ctx, postfixBin, "-c", s.postfixDir, "start"); err != nil {
		if strings.Contains(s.PostfixLog(), "Address already in use") {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, fmt.Errorf("mailserver: start postfix: %w", err)
	}
	s.postfixUp = true
	if err := s.waitListening(ctx, s.Submission, s.SMTPS, s.Plain); err != nil {
		return nil, fmt.Errorf("mailserver: postfix: %w", err)
	}
	return s, nil
}

// Stop stops Postfix and Dovecot and removes the directory if Start made
// it. It is safe to call more than once.
func (s *Server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Both take a second or more to wind down; stop them side by side.
	errc := make(chan error, 2)
	stops := 0
	if s.postfixUp {
		stops++
		go func() {
			err := run(ctx, postfixBin, "-c", s.postfixDir, "stop")
			waitPidGone(ctx, filepath.Join(s.queueDir, "pid", "master.pid"))
			if err != nil {
				err = fmt.Errorf("stop postfix: %w", err)
			}
			errc <- err
		}()
		s.postfixUp = false
	}
	if s.dovecotUp {
		stops++
		go func() {
			err := run(ctx, doveadmBin, "-c", s.dovecotConf, "stop")
			waitPidGone(ctx, filepath.Join(s.Dir, "dovecot", "run", "master.pid"))
			if err != nil {
				err = fmt.Errorf("stop dovecot: %w", err)
			}
			errc <- err
		}()
		s.dovecotUp = false
	}
	var errs []error
	for range stops {
		errs = append(errs, <-errc)
	}
	if s.removeDir && s.Dir != "" {
		if err := os.RemoveAll(s.Dir); err != nil {
			errs = append(errs, err)
		}
		s.removeDir = false
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mailserver: %w", err)
	}
	return nil
}

func (s *Server) writePKI() error {
	ca, err := testpki.NewCA("securesend test mail CA")
	if err != nil {
		return err
	}
	leaf, err := ca.Issue(Host, "localhost")
	if err != nil {
		return err
	}
	pki := filepath.Join(s.Dir, "pki")
	if err := os.Mkdir(pki, 0o755); err != nil {
		return fmt.Errorf("mailserver: %w", err)
	}
	if err := testpki.WriteFiles(pki, ca, leaf); err != nil {
		return err
	}
	// The CA certificate is public; let anyone (and any test) read it.
	s.CAFile = filepath.Join(pki, "ca.pem")
	s.CAPEM = ca.PEM
	return os.Chmod(s.CAFile, 0o644)
}

// mailOwner returns the uid and gid that own the mailboxes: nobody/nogroup,
// a valid unprivileged account on every Debian system.
func mailOwner() (uid, gid int, err error) {
	u, err := user.Lookup("nobody")
	if err != nil {
		return 0, 0, fmt.Errorf("mailserver: %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// freePorts finds n distinct free TCP ports on Host. They are held open until
// all are found, then released for the servers to bind.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", Addr(0))
		if err != nil {
			return nil, fmt.Errorf("mailserver: find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitListening waits until each port accepts a TCP connection. It fails
// early with errPortTaken when a log says a port could not be bound.
func (s *Server) waitListening(ctx context.Context, ports ...int) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for _, p := range ports {
		for {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", Addr(p))
			if err == nil {
				c.Close()
				break
			}
			if strings.Contains(s.Logs(), "Address already in use") {
				return fmt.Errorf("port %d: %w", p, errPortTaken)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("port %d never started listening: %w", p, err)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// waitPidGone waits until the process named in pidFile has exited.
func waitPidGone(ctx context.Context, pidFile string) {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return
	}
	for {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// run runs a command and returns its output in the error. The output goes
// through a temporary file, not a pipe: the daemons started by postfix and
// dovecot inherit it and would keep a pipe open forever.
func run(ctx context.Context, name string, args ...string) error {
	out, err := os.CreateTemp("", "securesend-mailserver-cmd-")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		text, _ := os.ReadFile(out.Name())
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, text)
	}
	return nil
}
