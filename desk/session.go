package desk

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/send/outbox"
)

// AccountInUseFile, in the home, names the account the user chose to send
// and receive with in the desktop app (Session.Use); without it the first
// account is used.
const AccountInUseFile = "account-in-use"

// ErrNoAccountInUse is what Session.InUse returns in demo mode.
var ErrNoAccountInUse = errors.New("no mail account is in use")

// SessionOptions say how a Session starts.
type SessionOptions struct {
	// Temp is the process's private folder: received documents are
	// decrypted into it when opened, and the demo keeps its stores there.
	// Required.
	Temp *privtemp.Dir
	// Demo: always the demo, even when the home has accounts
	// (SECURESEND_DEMO=1).
	Demo bool
	// Notify, when set, is called after every change of a job in one of
	// the Session's outboxes, with that outbox; on any goroutine.
	Notify func(*Outbox, outbox.Record)
	// Samples, when set, writes the demo's sample documents into the
	// folder it is given and returns their paths (assets.WriteSamples).
	Samples func(dir string) ([]string, error)
	// System, when set, is the running demo mail system the demo uses
	// (the caller closes it); otherwise the Session starts one when the
	// demo is first needed and stops it on Close.
	System *demomail.System
	// DemoOptions tune the demo clinician's Desk (tests: a failing
	// server).
	DemoOptions DemoOptions
}

// Session is a Desk as the desktop app uses it: one mail account at a
// time sends and receives, the one the user chose (Use, remembered in the
// home's AccountInUseFile) while it exists, else the first; with no
// account (or SessionOptions.Demo) it is the demo, over the loopback demo
// mail system (internal/demomail), started on first use: the user sends
// from the demo clinician's Desk and the inbox is the demo pharmacy's
// Desk (OpenDemoAs), the same journeys as a home's. Setup says what is in
// use now, so that an account or a key changed under Settings counts at
// once. Its methods are safe for concurrent use.
type Session struct {
	d    *Desk
	ctx  context.Context
	opts SessionOptions

	mu    sync.Mutex
	inUse string // the account in use; "" in demo mode
	box   *Outbox
	demo  *Setup
	sys   *demomail.System
}

// OpenSession starts the desktop app's Session of d. The demo mail
// system, when it is needed, runs until ctx is done or Close.
func (d *Desk) OpenSession(ctx context.Context, opts SessionOptions) (*Session, error) {
	if opts.Temp == nil {
		return nil, errors.New("desk: a session needs a private temporary folder")
	}
	s := &Session{d: d, ctx: ctx, opts: opts}
	b, err := os.ReadFile(d.home.Path(AccountInUseFile))
	switch {
	case err == nil:
		s.inUse = strings.TrimSpace(string(b))
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("the account in use: %w", err)
	}
	return s, nil
}

// Desk is the Desk of the home the Session works in (its keys and
// accounts are the ones Settings manages, also in demo mode).
func (s *Session) Desk() *Desk { return s.d }

// Close stops the demo mail system, if it was started.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sys == nil {
		return nil
	}
	err := s.sys.Close()
	s.sys = nil
	return err
}

// Use makes the home's account name the one in use, now and after a
// restart.
func (s *Session) Use(name string) error {
	if _, err := s.d.Accounts().Get(name); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.d.home.Path(AccountInUseFile), []byte(name+"\n")); err != nil {
		return fmt.Errorf("remember the account in use: %w", err)
	}
	s.mu.Lock()
	s.inUse = name
	s.mu.Unlock()
	return nil
}

// InUse is the name of the account in use (ErrNoAccountInUse in demo
// mode). The home's outbox asks it at every send and delivery
// (Via.InUse).
func (s *Session) InUse() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inUse == "" {
		return "", ErrNoAccountInUse
	}
	return s.inUse, nil
}

// Setup is what the Session uses now: the account in use, or the demo.
// Its methods act on the Desks it was made with.
type Setup struct {
	// Demo: no account is set up (or the demo was asked for); the user
	// sends as the demo clinician, and the inbox is the demo pharmacy's.
	Demo bool
	// Account is the account in use (the demo clinician's in demo mode).
	Account *account.Account
	// From is the sender.
	From mail.Address
	// OwnKey is the fingerprint, in groups of four, of the user's key
	// that signs what is sent from From; "" when there is none (what is
	// sent is then not signed). OwnKeyNote says the same in words.
	OwnKey, OwnKeyNote string
	// Recipients are the correspondents to offer.
	Recipients []Correspondent
	// InboxOwner is the address whose mail the inbox holds.
	InboxOwner string
	// Outbox is where sends go; the same Outbox for every Setup of a
	// home, and for every Setup of the demo.
	Outbox *Outbox
	// Samples are the demo's sample documents (demo mode only).
	Samples []string

	recv        *Desk
	recvAccount string
	canFetch    bool
	temp        *privtemp.Dir
}

// Setup returns what is in use now: the account the user chose while it
// exists, else the first account of the home, or the demo when there is
// none (always with SessionOptions.Demo). It is made afresh each time from
// the home as it is (accounts, keys, the organisation directory); what
// must exist once (the home's outbox, the demo mail system and its
// Desks) is made when first needed and kept.
func (s *Session) Setup() (*Setup, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	accounts, err := s.homeAccounts()
	if err != nil {
		return nil, err
	}
	if len(accounts) == 0 || s.opts.Demo {
		st, err := s.demoSetup()
		if err != nil {
			return nil, err
		}
		s.inUse = ""
		return st, nil
	}
	a := &accounts[0]
	for i := range accounts {
		if accounts[i].Name == s.inUse {
			a = &accounts[i]
		}
	}
	st, err := s.accountSetup(a)
	if err != nil {
		return nil, err
	}
	s.inUse = a.Name
	return st, nil
}

// homeAccounts lists the home's accounts; none when accounts.json does
// not exist (no keychain is touched then).
func (s *Session) homeAccounts() ([]account.Account, error) {
	if _, err := os.Stat(s.d.home.Path(account.FileName)); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return s.d.Accounts().List()
}

// accountSetup is the Setup of the home's account a: the home's key store
// (with the organisation directory's keys pinned, as receiving pins
// them), outbox and inbox.
func (s *Session) accountSetup(a *account.Account) (*Setup, error) {
	d := s.d
	ks, err := d.Keys()
	if err != nil {
		return nil, err
	}
	if _, err := d.receivePolicy(ks); err != nil {
		return nil, err
	}
	if _, err := d.Inbox(); err != nil {
		return nil, err
	}
	if s.box == nil {
		if s.box, err = s.openOutbox(d, Via{InUse: s.InUse}); err != nil {
			return nil, err
		}
	}
	st := &Setup{Account: a, From: mail.Address{Address: a.Email}, InboxOwner: a.Email, Outbox: s.box,
		recv: d, recvAccount: a.Name, canFetch: a.IMAP.Address != "", temp: s.opts.Temp}
	if st.Recipients, err = Correspondents(ks, a.Email); err != nil {
		return nil, err
	}
	st.OwnKey, st.OwnKeyNote = OwnKey(ks, a.Email)
	return st, nil
}

// demoSetup starts the demo mail system the first time and returns its
// Setup, the same each time (so the demo's inbox and outbox stay): the
// demo clinician's Desk sends, with its outbox, and the demo pharmacy's
// Desk fetches, verifies and opens.
func (s *Session) demoSetup() (*Setup, error) {
	if s.demo != nil {
		// The same Setup, with its correspondents as its key store
		// holds them now (a key imported in Settings is offered).
		return s.demo.withKeysNow()
	}
	st, sys, err := s.startDemo()
	if err != nil {
		return nil, fmt.Errorf("demo mode: %w", err)
	}
	s.sys, s.demo = sys, st
	return st, nil
}

// startDemo starts the demo mail system (unless SessionOptions.System
// is running) and makes the demo's Setup on it. It returns the system the
// Session must stop, if any.
func (s *Session) startDemo() (*Setup, *demomail.System, error) {
	if s.opts.System != nil {
		st, err := demoSetupOn(s.opts.System, s.opts, s.openOutbox)
		return st, nil, err
	}
	sys, err := demomail.Start(s.ctx)
	if err != nil {
		return nil, nil, err
	}
	st, err := demoSetupOn(sys, s.opts, s.openOutbox)
	if err != nil {
		sys.Close()
		return nil, nil, err
	}
	return st, sys, nil
}

// demoSetupOn makes the demo's Setup on the running sys, its Desks below
// opts.Temp.
func demoSetupOn(sys *demomail.System, opts SessionOptions, openOutbox func(*Desk, Via) (*Outbox, error)) (*Setup, error) {
	dir := filepath.Join(opts.Temp.Path(), "demo")
	clin, err := OpenDemoAs(sys, demomail.Clinician, filepath.Join(dir, "clinician"), opts.DemoOptions)
	if err != nil {
		return nil, err
	}
	pharm, err := OpenDemoAs(sys, demomail.Pharmacy, filepath.Join(dir, "pharmacy"), DemoOptions{})
	if err != nil {
		return nil, err
	}
	a, err := clin.Accounts().Get(DemoAccount)
	if err != nil {
		return nil, err
	}
	box, err := openOutbox(clin, Via{Account: DemoAccount})
	if err != nil {
		return nil, err
	}
	id, _ := sys.Identity(demomail.Clinician)
	ks, _ := clin.Keys()
	st := &Setup{Demo: true, Account: a, From: mail.Address{Name: id.Name, Address: id.Address}, InboxOwner: demomail.Pharmacy,
		Outbox: box, recv: pharm, recvAccount: DemoAccountName(demomail.Pharmacy), canFetch: true, temp: opts.Temp}
	if st.Recipients, err = Correspondents(ks, id.Address); err != nil {
		return nil, err
	}
	st.OwnKey, st.OwnKeyNote = OwnKey(ks, id.Address)
	if opts.Samples != nil {
		if st.Samples, err = opts.Samples(filepath.Join(dir, "samples")); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// withKeysNow is a copy of the demo Setup st with its Recipients and own
// key read again from the demo clinician's key store.
func (st *Setup) withKeysNow() (*Setup, error) {
	ks, err := st.Outbox.d.Keys()
	if err != nil {
		return nil, err
	}
	n := *st
	if n.Recipients, err = Correspondents(ks, st.From.Address); err != nil {
		return nil, err
	}
	n.OwnKey, n.OwnKeyNote = OwnKey(ks, st.From.Address)
	return &n, nil
}

// openOutbox opens d's outbox for the Session: its changes go to
// SessionOptions.Notify with the Outbox.
func (s *Session) openOutbox(d *Desk, via Via) (*Outbox, error) {
	var box atomic.Pointer[Outbox]
	notify := func(r outbox.Record) {
		if o := box.Load(); o != nil && s.opts.Notify != nil {
			s.opts.Notify(o, r)
		}
	}
	o, err := d.Outbox(OutboxOptions{Notify: notify, Via: via})
	if err != nil {
		return nil, err
	}
	box.Store(o)
	return o, nil
}
