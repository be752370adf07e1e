// Package demomail is the loopback mail system behind demo mode: a private
// certificate authority, an SMTP submission server (implicit TLS and
// STARTTLS, AUTH PLAIN required, REQUIRETLS advertised) and an in-memory IMAP
// server with TLS, all on 127.0.0.1, in this process.
//
// Promises:
//   - Nothing listens on anything but the loopback interface, and nothing
//     is relayed: mail for an address outside the demo domain is refused
//     with 550 and mail is only ever delivered into the in-memory mailboxes.
//   - Every listener speaks TLS with a certificate from a CA made for this
//     run only; AUTH is refused before TLS.
//   - The passwords are random per run and live in memory only.
//   - Two demo identities (clinician and pharmacy) each get an OpenPGP key,
//     pinned in the other's store, so a demo send is signed, encrypted and
//     Verified on receipt. The keys live in a temporary directory removed
//     on Close, their passphrases in memory.
//
// It only carries mail and holds the demo identities: sending, fetching
// and verifying go through the same journeys as a real account's, on a
// demo Desk (desk.OpenDemoAs).
//
// It refuses: unauthenticated submission, a MAIL FROM that is not the
// signed-in account, recipients outside the demo domain.
package demomail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base32"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/internal/testpki"
)

// Domain is the mail domain of the demo accounts.
const Domain = "demo.test"

// The demo accounts.
const (
	Clinician = "clinician@" + Domain
	Pharmacy  = "pharmacy@" + Domain
)

// Account is one demo mailbox. Its address is also its user name for SMTP
// and IMAP.
type Account struct {
	Address  string
	Name     string
	Password string
}

// System is a running demo mail system. Close it when done.
type System struct {
	// SMTPAddr is host:port of the submission server with implicit TLS.
	SMTPAddr string
	// StartTLSAddr is host:port of the submission server with STARTTLS.
	StartTLSAddr string
	// IMAPAddr is host:port of the IMAP server with implicit TLS.
	IMAPAddr string
	// CAPEM is the PEM form of the CA that signed the servers' certificate.
	CAPEM []byte
	// Accounts are the demo mailboxes: the clinician first, then the pharmacy.
	Accounts []Account

	ca      *testpki.CA
	smtps   *smtp.Server
	smtpst  *smtp.Server
	imaps   *imapserver.Server
	mem     *imapmemserver.Server
	users   map[string]*imapmemserver.User
	seq     sync.Mutex
	queueNo int

	identities map[string]*Identity
	keyDir     string
	listeners  []net.Listener
	closeOnce  sync.Once
	done       chan struct{}
}

// Start starts the demo mail system on 127.0.0.1 (random ports). It stops
// when ctx is done or Close is called.
func Start(ctx context.Context) (*System, error) {
	ca, err := testpki.NewCA("securesend demo CA")
	if err != nil {
		return nil, fmt.Errorf("demomail: %w", err)
	}
	leaf, err := ca.Issue("localhost", "127.0.0.1")
	if err != nil {
		return nil, fmt.Errorf("demomail: %w", err)
	}
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{leaf.TLS},
		MinVersion:   tls.VersionTLS12,
	}
	s := &System{
		CAPEM: ca.PEM,
		ca:    ca,
		mem:   imapmemserver.New(),
		users: map[string]*imapmemserver.User{},
		done:  make(chan struct{}),
	}
	for _, a := range []Account{
		{Address: Clinician, Name: "Dr Demo Clinician, Demo Medical Centre"},
		{Address: Pharmacy, Name: "Demo Pharmacy"},
	} {
		if a.Password, err = randomPassword(); err != nil {
			return nil, err
		}
		u := imapmemserver.NewUser(a.Address, a.Password)
		if err := u.Create("INBOX", nil); err != nil {
			return nil, fmt.Errorf("demomail: %w", err)
		}
		s.mem.AddUser(u)
		s.users[a.Address] = u
		s.Accounts = append(s.Accounts, a)
	}

	if s.keyDir, err = os.MkdirTemp("", "securesend-demo-keys-"); err != nil {
		return nil, fmt.Errorf("demomail: %w", err)
	}
	if s.identities, err = makeIdentities(s.keyDir, s.Accounts, time.Now); err != nil {
		removeAll(s.keyDir)
		return nil, err
	}

	newSMTP := func() *smtp.Server {
		srv := smtp.NewServer(backend{s})
		srv.Domain = "localhost"
		srv.TLSConfig = tlsConfig
		srv.EnableREQUIRETLS = true
		srv.MaxMessageBytes = 100 << 20
		srv.MaxRecipients = 20
		srv.ReadTimeout = 2 * time.Minute
		srv.WriteTimeout = 2 * time.Minute
		srv.ErrorLog = discardLogger{}
		return srv
	}
	s.smtps, s.smtpst = newSMTP(), newSMTP()
	s.imaps = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return s.mem.NewSession(), nil, nil
		},
		Caps:   imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		Logger: discardLogger{},
	})

	lnSMTPS, err := tls.Listen("tcp", "127.0.0.1:0", tlsConfig)
	if err != nil {
		removeAll(s.keyDir)
		return nil, fmt.Errorf("demomail: listen: %w", err)
	}
	lnStart, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		lnSMTPS.Close()
		removeAll(s.keyDir)
		return nil, fmt.Errorf("demomail: listen: %w", err)
	}
	lnIMAP, err := tls.Listen("tcp", "127.0.0.1:0", tlsConfig)
	if err != nil {
		lnSMTPS.Close()
		lnStart.Close()
		removeAll(s.keyDir)
		return nil, fmt.Errorf("demomail: listen: %w", err)
	}
	s.listeners = []net.Listener{lnSMTPS, lnStart, lnIMAP}
	s.SMTPAddr = lnSMTPS.Addr().String()
	s.StartTLSAddr = lnStart.Addr().String()
	s.IMAPAddr = lnIMAP.Addr().String()
	go s.smtps.Serve(lnSMTPS)  //nolint:errcheck // returns on Close
	go s.smtpst.Serve(lnStart) //nolint:errcheck // returns on Close
	go s.imaps.Serve(lnIMAP)   //nolint:errcheck // returns on Close
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

// Close stops all servers. The mailboxes are lost.
func (s *System) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.smtps.Close()
		s.smtpst.Close()
		s.imaps.Close()
		// The servers close only listeners they have started serving; close
		// all of them in case Close came first.
		for _, l := range s.listeners {
			l.Close()
		}
		removeAll(s.keyDir)
	})
	return nil
}

// Account returns the demo account with the given address.
func (s *System) Account(address string) (Account, bool) {
	for _, a := range s.Accounts {
		if strings.EqualFold(a.Address, address) {
			return a, true
		}
	}
	return Account{}, false
}

// RootCAs returns a pool holding only the demo CA.
func (s *System) RootCAs() *x509.CertPool { return s.ca.Pool() }

// deliver appends msg to the INBOX of each recipient.
func (s *System) deliver(rcpts []string, msg []byte, now time.Time) error {
	for _, r := range rcpts {
		u := s.users[strings.ToLower(r)]
		if u == nil {
			return fmt.Errorf("demomail: no mailbox for %s", r)
		}
		if _, err := u.Append("INBOX", literal{strings.NewReader(string(msg)), int64(len(msg))}, &imap.AppendOptions{Time: now}); err != nil {
			return fmt.Errorf("demomail: deliver to %s: %w", r, err)
		}
	}
	return nil
}

// nextQueueID returns a new Postfix-style queue identifier.
func (s *System) nextQueueID() string {
	s.seq.Lock()
	defer s.seq.Unlock()
	s.queueNo++
	var b [5]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("DEMO%s%d", base32.StdEncoding.EncodeToString(b[:])[:6], s.queueNo)
}

func randomPassword() (string, error) {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("demomail: password: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:])), nil
}

type literal struct {
	*strings.Reader
	size int64
}

func (l literal) Size() int64 { return l.size }

type discardLogger struct{}

func (discardLogger) Printf(string, ...interface{}) {}
func (discardLogger) Println(...interface{})        {}

var errClosed = errors.New("demomail: closed")
