package desk

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// DemoAccount is the name of the demo clinician's account on its demo
// Desk (OpenDemo): the clinician's mailbox on the demo mail system.
const DemoAccount = "demo-clinician"

// ErrDemoNoAudit is what a demo Desk's Audit returns: nothing of the demo
// goes to an audit log (the demo is not the organisation's record).
var ErrDemoNoAudit = errors.New("a demo desk keeps no audit log")

// DemoAccountName is the name of the account of the demo identity with
// the given address on its demo Desk: "demo-" and the address's local
// part (DemoAccount for the clinician).
func DemoAccountName(address string) string {
	local, _, _ := strings.Cut(strings.ToLower(address), "@")
	return "demo-" + local
}

// DemoOptions tune a demo Desk.
type DemoOptions struct {
	// Submit, when set, replaces send.Submit for every delivery (tests: a
	// server that fails or hangs); it gets the options the journey made.
	Submit func(ctx context.Context, opts send.Options, env send.Envelope, body io.Reader) (*send.Result, error)
	// Warn is Options.Warn of the demo Desk.
	Warn func(error)
}

// OpenDemo returns the Desk of the demo clinician on the running demo mail
// system sys (OpenDemoAs with demomail.Clinician). Send with
// Via{Account: DemoAccount}.
func OpenDemo(sys *demomail.System, dir string, opts DemoOptions) (*Desk, error) {
	return OpenDemoAs(sys, demomail.Clinician, dir, opts)
}

// OpenDemoAs returns the Desk of the demo identity address on the running
// demo mail system sys: the same journeys as a Desk over a home, with the
// demo's parts. Sending: the policy gate, the protection, the outbox,
// delivery through gate.Guard. Receiving: Fetch, Verify, the inbox store
// and OpenDocument, by the same verdict rules. Its policy encrypts every
// message and requires REQUIRETLS, whatever the OS or a home holds; its
// key store is the identity's (its own key, the other demo identity's
// pinned); its one account, DemoAccountName(address), signs in to the
// demo servers with the identity's one-time password, trusting the demo
// CA; its outbox and inbox live in dir, encrypted with keys made for this
// run and kept in memory. Nothing of it is in the OS keychain, and
// nothing goes to the audit log (ErrDemoNoAudit).
func OpenDemoAs(sys *demomail.System, address, dir string, opts DemoOptions) (*Desk, error) {
	id, ok := sys.Identity(address)
	if !ok {
		return nil, fmt.Errorf("demo: %s is not a demo identity", address)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	h := home.Home{Dir: dir}
	caFile := h.Path("demo-ca.pem")
	if err := os.WriteFile(caFile, sys.CAPEM, 0o600); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	accts := account.NewStore(h, demomail.NewSecrets())
	a := account.Account{Name: DemoAccountName(id.Address), Email: id.Address,
		SMTP:   account.Server{Address: sys.SMTPAddr, Security: account.ImplicitTLS},
		IMAP:   account.Server{Address: sys.IMAPAddr, Security: account.ImplicitTLS},
		CAFile: caFile, Auth: account.AuthPassword, RequireTLS: true}
	if err := accts.Add(a, account.Credentials{Password: id.Password}); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	outboxKey, err := demoKey()
	if err != nil {
		return nil, err
	}
	inboxKey, err := demoKey()
	if err != nil {
		return nil, err
	}
	inbox, err := receive.OpenStore(h.Path("inbox"), inboxKey, time.Now)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	side := &demoSide{store: id.Store, accts: accts, dir: h.Path("outbox"), key: outboxKey, submit: opts.Submit}
	return &Desk{opts: Options{Now: time.Now, Getenv: func(string) string { return "" }, Warn: opts.Warn}, home: h,
		kc: keychain.New(h.KeychainService()), keys: id.Store, inbox: inbox, mail: side}, nil
}

// demoKey is a key for the demo's stores, made for this run.
func demoKey() ([]byte, error) {
	key := make([]byte, atrest.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return key, nil
}

// Demo reports whether d is a demo Desk (OpenDemo, OpenDemoAs).
func (d *Desk) Demo() bool { return d.mail != nil }

// demoSide is a demo Desk's mailSide.
type demoSide struct {
	store  *pgp.Store
	accts  *account.Store
	dir    string
	key    []byte
	submit func(ctx context.Context, opts send.Options, env send.Envelope, body io.Reader) (*send.Result, error)
}

func (s *demoSide) policy(t profile.UserSettings) (profile.Policy, error) {
	return profile.Effective(nil, profile.UserSettings{Encryption: profile.EncryptAlways, RequireREQUIRETLS: true}, t), nil
}

func (s *demoSide) keys() (*pgp.Store, error) { return s.store, nil }
func (s *demoSide) accounts() *account.Store  { return s.accts }

func (s *demoSide) openOutbox(notify func(outbox.Record)) (*outbox.Outbox, error) {
	return outbox.Open(s.dir, s.key, outbox.Options{Notify: notify})
}

func (s *demoSide) send(ctx context.Context, opts send.Options, env send.Envelope, body io.Reader) (*send.Result, error) {
	if s.submit != nil {
		return s.submit(ctx, opts, env, body)
	}
	return send.Submit(ctx, opts, env, body)
}
