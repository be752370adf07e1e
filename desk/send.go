package desk

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/gate"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// JobID identifies a job in a Desk's outbox (32 hex digits).
type JobID = string

// Draft is a message to send securely and how it goes out.
type Draft struct {
	// Message is what to send. An empty From is the account's address.
	// Send gives it a Message-ID and a Date when it has none.
	Message *send.Message
	// Via is the route: a stored account, the account in use or a server.
	Via Via
	// Encrypt is always, auto or never ("" is auto). The organisation's
	// policy wins over never.
	Encrypt send.EncryptMode
	// Replaces, when set, is the Message-ID of an earlier message sent
	// from this outbox that this one replaces: the manifest's Supersedes
	// is filled from that message's outbox record (see supersede.go).
	Replaces string
}

// Via is how a message goes out: through a stored account, the account in
// use (the app's) or a server given by hand. Its Tighten settings may only
// make the organisation's policy stricter.
type Via struct {
	// Account names the stored account to send with; for delivery, the
	// one that delivers jobs queued without an account (jobs queued with
	// one always use their own).
	Account string
	// InUse, when set, is asked each time for the name of the account in
	// use (the app's, which Settings can change); a message must then be
	// from its address, and a job queued without an account is delivered
	// through it only when it is from that address.
	InUse func() (string, error)
	// Server, when Account and InUse are not set, is a submission server
	// given by hand (securesend send --server).
	Server *Server
	// Tighten are the front end's own tightenings of the policy (the
	// --min-tls and --require-tls flags).
	Tighten profile.UserSettings
	// Timeout, when positive, bounds each step of a connection; it can
	// only shorten an account's.
	Timeout time.Duration
}

// Server is a submission server given by hand.
type Server struct {
	// Address is host:port.
	Address  string
	Security send.Security
	// User signs in with a password (Password); "" for no sign-in.
	User string
	// CAFile is a PEM file of extra CA certificates to trust.
	CAFile string
	// Password returns the password of User. It is called only after the
	// policy allowed the server, and may be called more than once: it
	// must return the same password each time.
	Password func() (string, error)
}

// Refused is a message a send journey refuses for what it is: incomplete
// or invalid, not allowed by the organisation's policy, or without the
// keys its protection needs. Nothing was queued or sent. Its text is for
// the user.
type Refused struct {
	// Policy is set when the organisation's policy refused it; Err then
	// lists the reasons, one a line.
	Policy bool
	Err    error
	msg    string
}

func (r *Refused) Error() string { return r.msg }
func (r *Refused) Unwrap() error { return r.Err }

// Reasons are the reasons of a policy refusal, one each.
func (r *Refused) Reasons() []string {
	if r.Err == nil {
		return nil
	}
	return strings.Split(r.Err.Error(), "\n")
}

// policyRefusal is the *Refused of what the policy gate refuses.
func policyRefusal(err error) *Refused {
	return &Refused{Policy: true, Err: err,
		msg: "refused by your organisation's policy, so nothing was sent: " + strings.ReplaceAll(err.Error(), "\n", "; ")}
}

// userError is err with another text for the user.
type userError struct {
	msg string
	err error
}

func (w *userError) Error() string { return w.msg }
func (w *userError) Unwrap() error { return w.err }

// PlainError is err's message for people: the send package's texts
// without the Go-style "send: stage:" prefix.
func PlainError(err error) string {
	s := err.Error()
	var se *send.Error
	if errors.As(err, &se) {
		s = strings.TrimPrefix(s, "send: "+se.Stage+": ")
	} else if errors.Is(err, send.ErrInvalidMessage) {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "send: "), ": "+send.ErrInvalidMessage.Error())
	}
	return s
}

// Send is "send these documents securely" up to the outbox: the
// organisation policy gate (the route before any secret is read, then the
// message), the protection (signed with the user's key for From, encrypted
// when every recipient has a key the policy accepts, always when the
// policy or Encrypt says so), and the outbox job, composed and encrypted at
// rest before any network I/O. Deliver sends it. A *Refused is a refusal
// of the message itself.
func (d *Desk) Send(ctx context.Context, dr Draft) (JobID, error) {
	o, err := d.Outbox(OutboxOptions{})
	if err != nil {
		return "", err
	}
	return o.Send(ctx, dr)
}

// Send is Desk.Send into this outbox (its Notify sees the new job).
func (o *Outbox) Send(ctx context.Context, dr Draft) (JobID, error) {
	m := dr.Message
	if m == nil {
		return "", &Refused{msg: "no message", Err: send.ErrInvalidMessage}
	}
	side := o.d.side()
	acct, err := o.d.routeAccount(dr.Via, "")
	if err != nil {
		return "", err
	}
	if acct != nil {
		if m.From.Address == "" {
			m.From = mail.Address{Address: acct.Email}
		} else if dr.Via.InUse != nil && !strings.EqualFold(m.From.Address, acct.Email) {
			return "", fmt.Errorf("the message is from %s but the account in use, %s, sends as %s; check the account under Settings", m.From.Address, acct.Name, acct.Email)
		}
	}
	orig, err := o.supersedes(dr)
	if err != nil {
		return "", err
	}
	if err := m.Validate(); err != nil {
		return "", &Refused{msg: PlainError(err), Err: err}
	}
	if err := o.d.checkPatientNHI(m.PatientNHI); err != nil {
		return "", err
	}

	// The organisation policy gate: nothing is queued that it refuses, and
	// Via may only tighten it. The route is checked before any password
	// or token is read.
	pol, err := side.policy(dr.Via.Tighten)
	if err != nil {
		return "", err
	}
	ks, err := side.keys()
	if err != nil {
		return "", err
	}
	g := gate.New(pol, ks)
	route, err := routeOf(acct, dr.Via)
	if err != nil {
		return "", err
	}
	if err := g.CheckRoute(route); err != nil {
		if acct != nil && dr.Via.InUse != nil {
			return "", &Refused{Policy: true, Err: err, msg: fmt.Sprintf("your organisation's policy does not allow account %s: %v", acct.Name, err)}
		}
		return "", policyRefusal(err)
	}
	if acct == nil {
		// The server's own settings (its CA file, the password) are read
		// now, so that a mistake in them stops the message before it is
		// queued.
		if _, err := serverOptions(dr.Via); err != nil {
			return "", err
		}
	}
	must, err := g.CheckMessage(m)
	if err != nil {
		return "", policyRefusal(err)
	}
	mode := dr.Encrypt
	if must {
		mode = send.EncryptAlways // never cannot win
	}
	prot, err := protection(ks, m, mode, g.Keys())
	if err != nil {
		msg := PlainError(err)
		if errors.Is(err, send.ErrNoRecipientKey) || errors.Is(err, send.ErrNoSenderKey) || errors.Is(err, send.ErrSignerNotSender) {
			return "", &Refused{msg: msg, Err: err}
		}
		return "", &userError{msg, err}
	}
	name := ""
	if acct != nil {
		name = acct.Name
	}
	job, err := outboxJob(m, name, o.d.Now())
	if err != nil {
		return "", err
	}
	job.Supersedes = supersededBy(orig, m)
	var r send.Result
	r.SetProtection(prot)
	job.Encrypted, job.Signed, job.SignerFingerprint = r.Encrypted, r.Signed, r.SignerFingerprint
	if err := checkSupersedeSigner(orig, job.SignerFingerprint); err != nil {
		return "", err
	}
	job.EncryptedTo = gate.EncryptedTo(m, prot)
	id, err := o.ob.Enqueue(ctx, job, func(w io.Writer) ([]send.DocumentInfo, error) {
		return send.ComposeProtected(w, m, prot)
	})
	if err != nil {
		return "", &userError{strings.TrimPrefix(err.Error(), "outbox: "), err}
	}
	o.d.auditSupersede(m, id)
	return id, nil
}

// routeAccount is the stored account a message or job goes out through:
// Via's account, the job's (jobAccount, when not empty) or the account in
// use; nil for a server route.
func (d *Desk) routeAccount(v Via, jobAccount string) (*account.Account, error) {
	name := jobAccount
	if name == "" {
		name = v.Account
	}
	if name == "" && v.InUse != nil {
		n, err := v.InUse()
		if err != nil {
			return nil, err
		}
		name = n
	}
	if name == "" {
		if v.Server == nil {
			return nil, errors.New("no mail account is set up to send with; add one under Settings")
		}
		return nil, nil
	}
	a, err := d.side().accounts().Get(name)
	if err != nil && name != v.Account {
		return nil, fmt.Errorf("account %s: %w", name, err)
	}
	return a, err
}

// routeOf is the policy gate's view of the route through acct, or of
// v.Server when acct is nil; it reads no secret.
func routeOf(acct *account.Account, v Via) (gate.Route, error) {
	if acct != nil {
		return gate.AccountRoute(acct), nil
	}
	s := v.Server
	r, err := gate.ServerRoute(s.Address, s.Security, s.User, s.CAFile != "")
	if err != nil {
		return gate.Route{}, fmt.Errorf("--server: %w", err)
	}
	return r, nil
}

// serverOptions are the send.Options of v.Server, with its CA file and
// password read; call it only once the gate allowed the server.
func serverOptions(v Via) (send.Options, error) {
	s := v.Server
	opts := send.Options{Server: s.Address, Security: s.Security, Timeout: v.Timeout}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return opts, fmt.Errorf("cannot read --ca-file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return opts, fmt.Errorf("--ca-file %s contains no PEM certificates", s.CAFile)
		}
		opts.RootCAs = pool
	}
	if s.User != "" {
		if s.Password == nil {
			return opts, errors.New("no password for " + s.User)
		}
		pw, err := s.Password()
		if err != nil {
			return opts, err
		}
		opts.Auth = send.PasswordAuth(s.User, pw)
	}
	return opts, nil
}

// protection plans how m is protected with encryption mode (always, auto
// or never): signed with the user's key for From (a key store with keys
// of one's own, none for From, is an error: the message would go out
// unsigned), encrypted with the keys keys finds (the gate's: the keys the
// policy accepts).
func protection(ks *pgp.Store, m *send.Message, mode send.EncryptMode, keys send.KeyLookup) (send.Protection, error) {
	if mode == "" {
		mode = send.EncryptAuto
	}
	es, err := ks.List()
	if err != nil {
		return send.Protection{}, err
	}
	var own []pgp.Entry
	var signer *pgp.Key
	for _, ent := range es {
		if !ent.Secret {
			continue
		}
		own = append(own, ent)
		if signer == nil && containsFold(ent.Emails, m.From.Address) {
			if signer, err = ks.SecretKey(ent.Fingerprint); err != nil {
				return send.Protection{}, fmt.Errorf("your key %s cannot be unlocked, so the message cannot be signed: %w", ent.Fingerprint.Grouped(), err)
			}
		}
	}
	if signer == nil && len(own) > 0 {
		return send.Protection{}, fmt.Errorf("none of your keys is for %s (yours: %s); create one with 'securesend keys generate --email %s': %w",
			m.From.Address, strings.Join(own[0].Emails, ", "), m.From.Address, send.ErrSignerNotSender)
	}
	return send.PlanProtection(m, mode, signer, keys)
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// outboxJob is the outbox job for m, sent with the named account: the
// envelope is From and To+Cc. It gives m a Message-ID and a Date when it
// has none, so that every retry sends the same message.
func outboxJob(m *send.Message, account string, now time.Time) (outbox.Job, error) {
	if m.MessageID == "" {
		domain := ""
		if i := strings.LastIndexByte(m.From.Address, '@'); i >= 0 {
			domain = m.From.Address[i+1:]
		}
		id, err := send.NewMessageID(domain)
		if err != nil {
			if id, err = send.NewMessageID(""); err != nil {
				return outbox.Job{}, err
			}
		}
		m.MessageID = id
	}
	if m.Date.IsZero() {
		m.Date = now
	}
	job := outbox.Job{Account: account, MessageID: m.MessageID, Envelope: send.Envelope{From: m.From.Address},
		Subject: m.Subject, PatientNHI: m.PatientNHI, Note: m.Note}
	for _, a := range append(append([]mail.Address(nil), m.To...), m.Cc...) {
		job.Envelope.To = append(job.Envelope.To, a.Address)
		job.ToNames = append(job.ToNames, a.Name)
	}
	return job, nil
}
