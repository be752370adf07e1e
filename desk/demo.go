package desk

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// DemoAccount is the name of the demo Desk's account: the demo clinician's
// mailbox on the demo mail system.
const DemoAccount = "demo-clinician"

// DemoOptions tune a demo Desk.
type DemoOptions struct {
	// Submit, when set, replaces send.Submit for every delivery (tests: a
	// server that fails or hangs); it gets the options the journey made.
	Submit func(ctx context.Context, opts send.Options, env send.Envelope, body io.Reader) (*send.Result, error)
}

// OpenDemo returns the Desk of the demo clinician on the running demo mail
// system sys: the same send journeys as a Desk over a home (the policy
// gate, the protection, the outbox, delivery through gate.Guard), with the
// demo's parts. Its policy encrypts every message and requires REQUIRETLS;
// its key store is the clinician's (its own key, the pharmacy's pinned);
// its one account, DemoAccount, signs in to the demo server with the
// clinician's one-time password, trusting the demo CA; its outbox lives in
// dir with a key made for this run and kept in memory. Nothing of it is in
// the OS keychain, and nothing goes to the audit log. Send with
// Via{Account: DemoAccount}.
func OpenDemo(sys *demomail.System, dir string, opts DemoOptions) (*Desk, error) {
	clin, ok := sys.Identity(demomail.Clinician)
	if !ok {
		return nil, errors.New("demo: no demo clinician")
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
	a := account.Account{Name: DemoAccount, Email: clin.Address,
		SMTP:   account.Server{Address: sys.SMTPAddr, Security: account.ImplicitTLS},
		IMAP:   account.Server{Address: sys.IMAPAddr, Security: account.ImplicitTLS},
		CAFile: caFile, Auth: account.AuthPassword, RequireTLS: true}
	if err := accts.Add(a, account.Credentials{Password: clin.Password}); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	key := make([]byte, atrest.KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	side := &demoSide{store: clin.Store, accts: accts, dir: h.Path("outbox"), key: key, submit: opts.Submit}
	return &Desk{opts: Options{Now: time.Now, Getenv: func(string) string { return "" }}, home: h,
		kc: keychain.New(h.KeychainService()), mail: side}, nil
}

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

func (s *demoSide) keys() (*pgp.Store, error)         { return s.store, nil }
func (s *demoSide) accounts() (*account.Store, error) { return s.accts, nil }

func (s *demoSide) openOutbox(notify func(outbox.Record)) (*outbox.Outbox, error) {
	return outbox.Open(s.dir, s.key, outbox.Options{Notify: notify})
}

func (s *demoSide) send(ctx context.Context, opts send.Options, env send.Envelope, body io.Reader) (*send.Result, error) {
	if s.submit != nil {
		return s.submit(ctx, opts, env, body)
	}
	return send.Submit(ctx, opts, env, body)
}
