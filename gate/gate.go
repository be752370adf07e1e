// Package gate is the organisation's policy gate for sending: the one
// place where securesend decides whether a message may leave, through
// which server, to whom, with which keys and over which TLS version.
//
// Every way of sending (securesend send with --server or --account,
// outbox run, the hot folder, the desktop app) asks the gate twice: when a
// message is queued (CheckRoute before any password is read, then
// CheckMessage and Keys for the protection) and again for every delivery
// attempt, against the policy in force at that moment (Guard runs
// CheckRoute and CheckJob before the SubmitFunc connects, so a job the
// current policy forbids fails with the reason and nothing is sent).
// Transport raises a connection's settings to the policy's floor.
//
// The gate owns the decisions; the rules themselves are the profile
// package's (profile.Policy: domains, directory, encryption, account
// templates, TLS floor), and composing, encrypting and submitting are the
// send package's.
package gate

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// Reasons the gate adds to the profile package's (profile.ErrDomainNotAllowed
// and friends, always inside a *profile.Violation).
var (
	// ErrOwnCA: the organisation locks the mail accounts, and the user
	// supplies CA certificates of their own (--ca-file); only the
	// template's are trusted.
	ErrOwnCA = errors.New("your organisation's profile locks the mail accounts, so certificates of your own (--ca-file) are not trusted; the account template's apply")
	// ErrNotEncrypted: the policy in force at delivery requires
	// encryption, and the job was queued unencrypted.
	ErrNotEncrypted = errors.New("your organisation's policy requires encryption, and this message was queued unencrypted")
	// ErrKeysUnknown: the job was queued by an older securesend that did
	// not record which keys it is encrypted to, and the policy now
	// restricts the keys.
	ErrKeysUnknown = errors.New("this message was queued without a record of the keys it is encrypted to, and your organisation's policy restricts the keys; send it again")
)

// Gate applies one effective policy to sending. Make one with New for
// each decision (or each delivery round), from the policy in force then.
type Gate struct {
	pol  profile.Policy
	keys Keys
}

// New returns the gate of pol; store holds the user's own keys (nil: none),
// used only where the policy lets users add keys.
func New(pol profile.Policy, store *pgp.Store) *Gate {
	return &Gate{pol: pol, keys: Keys{pol: pol, store: store}}
}

// Policy is the effective policy the gate applies.
func (g *Gate) Policy() profile.Policy { return g.pol }

// Keys finds encryption keys as the policy allows (send.KeyLookup): pass
// it to send.PlanProtection.
func (g *Gate) Keys() Keys { return g.keys }

// Route is where a message goes out: the submission server and how the
// user signs in there, as the policy compares it with the profile's
// account templates.
type Route struct {
	// Account is the stored account's name; "" for a server given on the
	// command line (--server).
	Account string
	// Server is the server side compared with the templates (SMTP only
	// for a --server route).
	Server profile.AccountSettings
	// OwnCA is set when the user trusts CA certificates of their own for
	// this route (--ca-file).
	OwnCA bool
	// Stored is the stored account itself (AccountRoute), whose
	// SendOptions are read only after CheckRoute allowed the route, so
	// that what is checked is what is used.
	Stored *account.Account
}

// String names the route for messages: the account or host:port.
func (r Route) String() string {
	if r.Account != "" {
		return "account " + r.Account
	}
	return "server " + net.JoinHostPort(r.Server.SMTPHost, strconv.Itoa(r.Server.SMTPPort))
}

// AccountRoute is the route of a stored account. It reads no secret.
func AccountRoute(a *account.Account) Route {
	port := func(addr string) int {
		_, p, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(p)
		return n
	}
	auth := string(a.Auth)
	if auth == "" {
		auth = string(account.AuthPassword)
	}
	s := profile.AccountSettings{
		SMTPHost: a.SMTP.Host(), SMTPPort: port(a.SMTP.Address), SMTPSecurity: string(a.SMTP.Security),
		Auth: auth,
	}
	if a.IMAP.Address != "" {
		s.IMAPHost, s.IMAPPort, s.IMAPSecurity = a.IMAP.Host(), port(a.IMAP.Address), string(a.IMAP.Security)
	}
	return Route{Account: a.Name, Server: s, Stored: a}
}

// ServerRoute is the route of a server given as host:port with the
// security mode sec, signed in to as user (password sign-in; "" for
// none), with CA certificates of the user's own when ownCA is set.
func ServerRoute(server string, sec send.Security, user string, ownCA bool) (Route, error) {
	host, p, err := net.SplitHostPort(server)
	if err != nil || host == "" {
		return Route{}, fmt.Errorf("server %q is not host:port", server)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return Route{}, fmt.Errorf("server %q: %q is not a port number", server, p)
	}
	s := profile.AccountSettings{SMTPHost: host, SMTPPort: port, SMTPSecurity: string(account.ImplicitTLS)}
	if sec == send.StartTLS {
		s.SMTPSecurity = string(account.StartTLS)
	}
	if user != "" {
		s.Auth = string(account.AuthPassword)
	}
	return Route{Server: s, OwnCA: ownCA}, nil
}

// CheckRoute checks, before any password or token is read, that the policy
// allows sending through r: when the organisation locks the accounts, r
// must match one of the profile's account templates in server, port,
// security and sign-in method (a --server route without sign-in matches
// none), and the user may not add CA certificates of their own. The error
// is a *profile.Violation wrapping profile.ErrAccountNotAllowed or
// ErrOwnCA.
func (g *Gate) CheckRoute(r Route) error {
	if !g.pol.Locked(profile.LockAccounts) {
		return nil
	}
	if err := g.pol.CheckAccount(r.Server); err != nil {
		var v *profile.Violation
		if errors.As(err, &v) {
			v.Subject = r.String()
			if r.Account == "" && r.Server.Auth == "" {
				v.Detail = "a template signs in; give --user and --password-stdin"
			}
		}
		return err
	}
	if r.OwnCA {
		return &profile.Violation{Kind: ErrOwnCA, Subject: r.String()}
	}
	return nil
}

// Transport raises opts, for a route CheckRoute allowed, to the policy's
// floor: the minimum TLS version and REQUIRETLS. When the organisation
// locks the accounts, the only extra CA certificates trusted are those of
// r's template (none: the system roots alone).
func (g *Gate) Transport(r Route, opts *send.Options) {
	opts.MinTLSVersion = max(opts.MinTLSVersion, g.pol.MinTLS())
	opts.RequireTLS = opts.RequireTLS || g.pol.RequireTLS()
	if g.pol.Locked(profile.LockAccounts) {
		t, _ := g.pol.Template(r.Server)
		opts.RootCAs = t.CAs
	}
}

// CheckMessage checks m against the policy before it is queued: every
// address a plain address ending in a domain name, the recipients' domains
// and the directory, a key the policy accepts for every recipient where
// encryption is required, the documents' sizes. It returns whether m must
// be encrypted; the error joins every reason (*profile.Violation each, one
// a line).
func (g *Gate) CheckMessage(m *send.Message) (mustEncrypt bool, err error) {
	out := profile.Outgoing{From: m.From.Address, HaveKey: g.keys.Has}
	for _, a := range append(append([]mail.Address(nil), m.To...), m.Cc...) {
		out.To = append(out.To, a.Address)
	}
	for _, d := range m.Documents {
		fi, err := os.Stat(d.Path)
		if err != nil {
			return false, fmt.Errorf("policy: %w", err)
		}
		name := d.Name
		if name == "" {
			name = filepath.Base(d.Path)
		}
		out.Documents = append(out.Documents, profile.Document{Name: name, Size: fi.Size()})
	}
	if err := g.pol.CheckSend(out); err != nil {
		return false, err
	}
	return g.pol.MustEncrypt(out.To), nil
}

// EncryptedTo is what outbox.Job.EncryptedTo records for m protected as
// p: each recipient's lower-cased address with the fingerprint of the key
// its copy is encrypted to (nil when p does not encrypt).
func EncryptedTo(m *send.Message, p send.Protection) map[string]string {
	if !p.Encrypt {
		return nil
	}
	rcpts := append(append([]mail.Address(nil), m.To...), m.Cc...)
	if len(rcpts) != len(p.Recipients) {
		return nil // not one key per recipient: record nothing rather than guess
	}
	out := make(map[string]string, len(rcpts))
	for i, a := range rcpts {
		out[strings.ToLower(a.Address)] = string(p.Recipients[i].Fingerprint())
	}
	return out
}

// CheckJob checks a queued job against the policy in force now, before a
// delivery attempt through r: the route (CheckRoute), the sender and
// recipients (domains, directory), the documents' sizes, and, where the
// policy requires encryption, that the job is encrypted to a key the policy
// allows for every recipient. The error wraps outbox.ErrRefused, so the
// outbox fails the job with the reasons; nothing may be sent.
func (g *Gate) CheckJob(rec outbox.Record, r Route) error {
	var errs []error
	if err := g.CheckRoute(r); err != nil {
		errs = append(errs, err)
	}
	out := profile.Outgoing{From: rec.Envelope.From, To: rec.Envelope.To, HaveKey: func(string) bool { return true }}
	for _, d := range rec.Documents {
		out.Documents = append(out.Documents, profile.Document{Name: d.Name, Size: d.Size})
	}
	if err := g.pol.CheckSend(out); err != nil {
		errs = append(errs, err)
	}
	must := g.pol.MustEncrypt(rec.Envelope.To)
	for _, addr := range rec.Envelope.To {
		addr = strings.ToLower(addr)
		switch {
		case !rec.Encrypted:
			if must {
				errs = append(errs, &profile.Violation{Kind: ErrNotEncrypted, Subject: addr})
			}
		case rec.EncryptedTo[addr] == "":
			if err := g.pol.KeyAllowed(addr, ""); err != nil {
				errs = append(errs, &profile.Violation{Kind: ErrKeysUnknown, Subject: addr})
			}
		default:
			if err := g.pol.KeyAllowed(addr, rec.EncryptedTo[addr]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w:\n%w", outbox.ErrRefused, err)
	}
	return nil
}
