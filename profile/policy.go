package profile

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/securesend/securesend/internal/maildomain"
)

// Kinds of policy violation. CheckSend returns errors that wrap these, so
// callers branch with errors.Is.
var (
	// ErrNoRecipients: the message has no recipient.
	ErrNoRecipients = errors.New("the message has no recipient")
	// ErrInvalidAddress: an address is not a plain e-mail address.
	ErrInvalidAddress = errors.New("not a valid e-mail address")
	// ErrDomainNotAllowed: the organisation's policy does not allow mail to
	// this domain.
	ErrDomainNotAllowed = errors.New("your organisation's policy does not allow sending to this domain")
	// ErrRecipientNotInDirectory: users may not add recipients, and this one
	// is not in the organisation's directory.
	ErrRecipientNotInDirectory = errors.New("this recipient is not in your organisation's directory, and the policy does not allow adding recipients")
	// ErrEncryptionRequired: the policy requires encryption, and there is
	// no key for this recipient, so nothing can be sent to them.
	ErrEncryptionRequired = errors.New("your organisation's policy requires encryption, and there is no key for this recipient")
	// ErrAttachmentTooLarge: a document is larger than the policy allows.
	ErrAttachmentTooLarge = errors.New("document is larger than your organisation's policy allows")
	// ErrKeyNotPinned: a key other than the directory's would be used, and
	// users may not add keys.
	ErrKeyNotPinned = errors.New("this key is not the one in your organisation's directory, and the policy does not allow adding keys")
)

// Violation is one reason CheckSend refuses a message.
type Violation struct {
	// Kind is one of the Err* kinds above.
	Kind error
	// Subject is the address or document concerned.
	Subject string
	// Detail adds the policy's figure, e.g. the size limit.
	Detail string
}

func (v *Violation) Error() string {
	s := "policy: " + v.Subject + ": " + v.Kind.Error()
	if v.Detail != "" {
		s += " (" + v.Detail + ")"
	}
	return s
}

// Unwrap returns the kind.
func (v *Violation) Unwrap() error { return v.Kind }

// UserSettings are the user's own security preferences, from the config file
// or from CLI flags. Each may only tighten the organisation's policy; a
// value that would loosen it is ignored (and reported by Policy.Notes). The
// zero value expresses no preference.
type UserSettings struct {
	// MinTLS is "", "1.2" or "1.3".
	MinTLS string
	// Encryption is "", auto, domains or always.
	Encryption Encryption
	// EncryptDomains are added to the domains that require encryption.
	EncryptDomains []string
	// RequireREQUIRETLS, when true, makes REQUIRETLS mandatory.
	RequireREQUIRETLS bool
	// AllowedRecipientDomains, when not empty, narrows the allowed domains
	// (intersection with the organisation's list).
	AllowedRecipientDomains []string
	// MaxAttachmentMB, when not 0, lowers the attachment limit.
	MaxAttachmentMB int
	// AcknowledgementWait, when positive, shortens the wait for a sent
	// message's acknowledgement before it is shown as overdue.
	AcknowledgementWait time.Duration
}

// Policy is the effective policy: the organisation's profile combined with
// the user's settings. Build it with Effective. The zero value is not
// useful.
type Policy struct {
	org            *Profile
	minTLS         uint16
	encryption     Encryption
	encryptDomains []string
	requireTLS     bool
	restricted     bool // allowed is the complete list of allowed domains
	allowed        []string
	maxMB          int
	addRecipients  bool
	addKeys        bool
	ackWait        time.Duration
	notes          []string
}

// Effective returns the policy in force for org (nil: no organisation
// profile; the built-in floor of TLS 1.2 and encryption when possible
// applies) and the user's settings, applied in order (for example the
// config file, then CLI flags). Users may only tighten: the minimum TLS
// version is the highest asked, the strongest encryption rule wins (domain
// lists are merged), REQUIRETLS is required if anyone requires it, allowed
// domains are the intersection of the lists, and the attachment limit is the
// lowest. Settings the profile locks ignore user values altogether.
func Effective(org *Profile, user ...UserSettings) Policy {
	p := Policy{org: org, minTLS: tls.VersionTLS12, encryption: EncryptAuto, addRecipients: true, addKeys: true}
	if org != nil {
		op := org.Policy
		if op.MinTLS == "1.3" {
			p.minTLS = tls.VersionTLS13
		}
		p.encryption = op.Encryption
		p.encryptDomains = slices.Clone(op.EncryptDomains)
		p.requireTLS = op.RequireREQUIRETLS
		if len(op.AllowedRecipientDomains) > 0 {
			p.restricted, p.allowed = true, slices.Clone(op.AllowedRecipientDomains)
		}
		p.maxMB = op.MaxAttachmentMB
		p.addRecipients, p.addKeys = op.UsersMayAddRecipients, op.UsersMayAddKeys
		p.ackWait = op.AcknowledgementWait
	}
	if p.ackWait <= 0 {
		p.ackWait = DefaultAcknowledgementWait
	}
	for _, u := range user {
		p.tighten(u)
	}
	return p
}

func (p *Policy) note(format string, a ...any) { p.notes = append(p.notes, fmt.Sprintf(format, a...)) }

func (p *Policy) tighten(u UserSettings) {
	locked := p.org.IsLocked
	if u.MinTLS != "" {
		v := map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}[u.MinTLS]
		switch {
		case locked(LockMinTLS):
			p.note("minimum TLS %s ignored: the organisation locks this setting at %s", u.MinTLS, tlsName(p.minTLS))
		case v == 0 || v < p.minTLS:
			p.note("minimum TLS %s ignored: the policy requires at least %s", u.MinTLS, tlsName(p.minTLS))
		default:
			p.minTLS = v
		}
	}
	if u.Encryption != "" || len(u.EncryptDomains) > 0 {
		switch {
		case locked(LockEncryption):
			p.note("encryption setting ignored: the organisation locks it at %q", p.encryption)
		case u.Encryption != "" && !slices.Contains([]Encryption{EncryptAuto, EncryptDomains, EncryptAlways}, u.Encryption):
			p.note("encryption %q ignored: not a known mode", u.Encryption)
		default:
			if u.Encryption.rank() < p.encryption.rank() && u.Encryption != "" {
				p.note("encryption %q ignored: the policy requires %q", u.Encryption, p.encryption)
			}
			if u.Encryption.rank() > p.encryption.rank() {
				p.encryption = u.Encryption
			}
			for _, d := range u.EncryptDomains {
				d = strings.ToLower(strings.TrimSpace(d))
				if validDomain(d) && !slices.Contains(p.encryptDomains, d) {
					p.encryptDomains = append(p.encryptDomains, d)
				}
			}
			if len(p.encryptDomains) > 0 && p.encryption == EncryptAuto {
				p.encryption = EncryptDomains
			}
		}
	}
	if u.RequireREQUIRETLS && !p.requireTLS {
		if locked(LockRequireTLS) {
			p.note("REQUIRETLS setting ignored: the organisation locks it")
		} else {
			p.requireTLS = true
		}
	}
	if len(u.AllowedRecipientDomains) > 0 {
		if locked(LockAllowedDomains) {
			p.note("allowed domains setting ignored: the organisation locks it")
		} else {
			var mine []string
			for _, d := range u.AllowedRecipientDomains {
				d = strings.ToLower(strings.TrimSpace(d))
				if !p.restricted || slices.Contains(p.allowed, d) {
					mine = append(mine, d)
				} else {
					p.note("allowed domain %s ignored: not allowed by the organisation", d)
				}
			}
			p.restricted, p.allowed = true, mine
		}
	}
	if u.AcknowledgementWait > 0 {
		if u.AcknowledgementWait < p.ackWait {
			p.ackWait = u.AcknowledgementWait
		} else {
			p.note("acknowledgement wait %s ignored: the policy waits at most %s", u.AcknowledgementWait, p.ackWait)
		}
	}
	if u.MaxAttachmentMB != 0 {
		switch {
		case locked(LockMaxAttachment):
			p.note("attachment limit ignored: the organisation locks it")
		case u.MaxAttachmentMB < 0 || (p.maxMB != 0 && u.MaxAttachmentMB > p.maxMB):
			p.note("attachment limit %d MB ignored: the policy allows at most %d MB", u.MaxAttachmentMB, p.maxMB)
		default:
			p.maxMB = u.MaxAttachmentMB
		}
	}
}

func tlsName(v uint16) string {
	if v == tls.VersionTLS13 {
		return "1.3"
	}
	return "1.2"
}

// Notes lists the user values that were ignored because they would have
// loosened (or changed a locked) policy, for display.
func (p Policy) Notes() []string { return slices.Clone(p.notes) }

// Profile returns the organisation profile behind the policy; nil when none.
func (p Policy) Profile() *Profile { return p.org }

// MinTLS is the lowest TLS version (tls.VersionTLS12 or tls.VersionTLS13)
// any connection may use: send.Options.MinTLSVersion and the IMAP client.
func (p Policy) MinTLS() uint16 { return p.minTLS }

// RequireTLS reports whether REQUIRETLS is mandatory (send.Options.RequireTLS).
func (p Policy) RequireTLS() bool { return p.requireTLS }

// Encryption is the effective encryption mode.
func (p Policy) Encryption() Encryption { return p.encryption }

// MaxAttachmentBytes is the largest document allowed; 0 means no limit.
func (p Policy) MaxAttachmentBytes() int64 { return int64(p.maxMB) << 20 }

// MayAddRecipients reports whether users may send to addresses outside the
// directory.
func (p Policy) MayAddRecipients() bool { return p.addRecipients }

// MayAddKeys reports whether users may pin keys that are not in the
// directory.
func (p Policy) MayAddKeys() bool { return p.addKeys }

// Locked reports whether the organisation locks s (GUI: show it read-only).
func (p Policy) Locked(s Setting) bool { return p.org.IsLocked(s) }

// AllowedDomains returns the allowed recipient domains and whether the list
// applies at all (false: any domain).
func (p Policy) AllowedDomains() ([]string, bool) { return slices.Clone(p.allowed), p.restricted }

// EncryptDomains returns the domains whose recipients require encryption.
func (p Policy) EncryptDomains() []string { return slices.Clone(p.encryptDomains) }

// Allowed reports whether mail may go to addr's domain.
func (p Policy) Allowed(addr string) bool {
	if !p.restricted {
		return true
	}
	return slices.Contains(p.allowed, domainOf(addr))
}

// EncryptFor reports whether the policy requires encryption for addr: always,
// or because addr's domain (or a parent domain) is listed.
func (p Policy) EncryptFor(addr string) bool {
	switch p.encryption {
	case EncryptAlways:
		return true
	case EncryptDomains:
		d := domainOf(addr)
		for _, e := range p.encryptDomains {
			if d == e || strings.HasSuffix(d, "."+e) {
				return true
			}
		}
	}
	return false
}

// MustEncrypt reports whether a message to all of to must be encrypted. A
// message is encrypted for all its recipients at once, so one recipient that
// requires it makes the whole message require it.
func (p Policy) MustEncrypt(to []string) bool {
	return slices.ContainsFunc(to, p.EncryptFor)
}

// Template returns the profile's account template that a matches in
// servers, ports, security and sign-in method (as CheckAccount compares
// them); ok is false when none does or there is no profile.
func (p Policy) Template(a AccountSettings) (t AccountTemplate, ok bool) {
	if p.org == nil {
		return AccountTemplate{}, false
	}
	for _, t := range p.org.Accounts {
		if t.matches(a) {
			return t, true
		}
	}
	return AccountTemplate{}, false
}

// KeyAllowed checks that the key with fingerprint may be used for addr: a
// directory recipient's key is pinned, and when users may not add keys no
// other key may be used for anyone.
func (p Policy) KeyAllowed(addr, fingerprint string) error {
	if r, ok := p.org.Recipient(addr); ok && r.Fingerprint == NormalizeFingerprint(fingerprint) {
		return nil
	}
	if p.addKeys {
		if r, ok := p.org.Recipient(addr); ok && p.Locked(LockDirectory) {
			return &Violation{Kind: ErrKeyNotPinned, Subject: addr, Detail: "directory key " + r.Fingerprint}
		}
		return nil
	}
	return &Violation{Kind: ErrKeyNotPinned, Subject: addr}
}

// Outgoing describes a message for CheckSend.
type Outgoing struct {
	// From is the sender's address.
	From string
	// To is every recipient (To and Cc).
	To []string
	// Documents are the attachments' names and sizes in bytes.
	Documents []Document
	// HaveKey reports whether a usable (pinned, allowed) public key exists
	// for addr. Nil means no keys at all.
	HaveKey func(addr string) bool
}

// Document is an attachment as CheckSend sees it.
type Document struct {
	Name string
	Size int64
}

// CheckSend is the check every sending path (CLI, GUI, outbox, hot folder,
// relay) makes before connecting: it returns nil, or every reason the policy
// refuses the message joined with errors.Join, each a *Violation wrapping one
// of the Err* kinds. When it returns nil and MustEncrypt(o.To) is true, the
// message must be encrypted.
func (p Policy) CheckSend(o Outgoing) error {
	if len(o.To) == 0 {
		return &Violation{Kind: ErrNoRecipients, Subject: "To"}
	}
	var errs []error
	if _, err := plainAddress(o.From); err != nil {
		v := &Violation{Kind: ErrInvalidAddress, Subject: "From " + o.From}
		if errors.Is(err, ErrNotDomainName) {
			v.Detail = ErrNotDomainName.Error()
		}
		errs = append(errs, v)
	}
	must := false
	for _, a := range o.To {
		addr, err := plainAddress(a)
		if err != nil {
			v := &Violation{Kind: ErrInvalidAddress, Subject: a}
			if errors.Is(err, ErrNotDomainName) {
				v.Detail = ErrNotDomainName.Error()
			}
			errs = append(errs, v)
			continue
		}
		if !p.Allowed(addr) {
			errs = append(errs, &Violation{Kind: ErrDomainNotAllowed, Subject: addr, Detail: "allowed: " + strings.Join(p.allowed, ", ")})
		}
		if _, inDir := p.org.Recipient(addr); !inDir && !p.addRecipients {
			errs = append(errs, &Violation{Kind: ErrRecipientNotInDirectory, Subject: addr})
		}
		must = must || p.EncryptFor(addr)
	}
	if must {
		for _, a := range o.To {
			addr, err := plainAddress(a)
			if err == nil && (o.HaveKey == nil || !o.HaveKey(addr)) {
				errs = append(errs, &Violation{Kind: ErrEncryptionRequired, Subject: addr})
			}
		}
	}
	if max := p.MaxAttachmentBytes(); max > 0 {
		for _, d := range o.Documents {
			if d.Size > max {
				errs = append(errs, &Violation{Kind: ErrAttachmentTooLarge, Subject: d.Name, Detail: fmt.Sprintf("limit %d MB", p.maxMB)})
			}
		}
	}
	return errors.Join(errs...)
}

// ErrNotDomainName: an address's domain is not a domain name: an address
// literal (dr@[192.0.2.10], dr@[IPv6:2001:db8::1]), a bare IP address
// (dr@192.0.2.10), a name with a trailing dot or without one at all. The
// policy's domain rules (allowed domains, encrypt_domains) can only be
// applied to domain names, so such an address is refused everywhere.
var ErrNotDomainName = errors.New("the part after the @ must be a domain name such as pharmacy.example.nz, not an IP address or address literal")

// plainAddress accepts "a@b" or "Name <a@b>" and returns the lower-cased
// address. Its domain must be a domain name (see ErrNotDomainName).
func plainAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	addr := strings.ToLower(a.Address)
	if err := CheckAddressDomain(addr); err != nil {
		return "", err
	}
	return addr, nil
}

// CheckAddressDomain reports whether the plain address addr (local@domain)
// has a domain name after its last @, as every rule of the policy needs;
// otherwise the error wraps ErrNotDomainName. It does not check the local
// part.
func CheckAddressDomain(addr string) error {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return fmt.Errorf("%q has no @: %w", addr, ErrNotDomainName)
	}
	if !maildomain.Valid(addr[i+1:]) {
		return fmt.Errorf("%q: %w", addr, ErrNotDomainName)
	}
	return nil
}

// domainOf is addr's lower-cased domain; "" when addr has none that is a
// domain name, which no domain rule matches (and which CheckSend refuses).
func domainOf(addr string) string {
	if a, err := mail.ParseAddress(addr); err == nil {
		addr = a.Address
	}
	i := strings.LastIndex(addr, "@")
	if i < 0 {
		return ""
	}
	d := strings.ToLower(addr[i+1:])
	if !maildomain.Valid(d) {
		return ""
	}
	return d
}

// Acknowledgements is how verified messages that ask for it are
// acknowledged: the profile's mode, AckAuto without a profile.
func (p Policy) Acknowledgements() AckMode {
	if p.org == nil || p.org.Policy.Acknowledgements == "" {
		return AckAuto
	}
	return p.org.Policy.Acknowledgements
}

// AcknowledgementWait is how long a sent message may wait for its
// acknowledgement before it is overdue: the profile's (else
// DefaultAcknowledgementWait), shortened by the user's settings.
func (p Policy) AcknowledgementWait() time.Duration {
	if p.ackWait <= 0 {
		return DefaultAcknowledgementWait
	}
	return p.ackWait
}
