package profile

import (
	"time"

	"crypto/x509"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// FormatVersion is the only profile format this package reads.
const FormatVersion = 1

// Profile is a parsed and validated organisation profile. It is only
// trustworthy when it came from Verify or Load.
type Profile struct {
	// Format is the format version; always FormatVersion.
	Format int
	// Serial increases with every release of the profile; an older serial
	// is refused (no rollback).
	Serial int64
	// Organisation is the name and branding.
	Organisation Organisation
	// Accounts are the mail-server templates staff pick from.
	Accounts []AccountTemplate
	// Policy is the organisation's security floor.
	Policy OrgPolicy
	// Recipients is the recipient directory; their keys count as pinned.
	Recipients []Recipient
	// Locked lists the settings users cannot change (see Setting).
	Locked []Setting

	raw []byte
}

// Raw returns the exact bytes the profile was parsed from (the bytes the
// signature covers).
func (p *Profile) Raw() []byte { return append([]byte(nil), p.raw...) }

// IsLocked reports whether s is among the profile's locked settings. A nil
// profile locks nothing.
func (p *Profile) IsLocked(s Setting) bool {
	if p == nil {
		return false
	}
	for _, l := range p.Locked {
		if l == s {
			return true
		}
	}
	return false
}

// Recipient returns the directory entry for addr (case-insensitive).
func (p *Profile) Recipient(addr string) (Recipient, bool) {
	if p == nil {
		return Recipient{}, false
	}
	addr = strings.ToLower(strings.TrimSpace(addr))
	for _, r := range p.Recipients {
		if strings.ToLower(r.Email) == addr {
			return r, true
		}
	}
	return Recipient{}, false
}

// PinnedKeys returns the public keys of every directory entry.
func (p *Profile) PinnedKeys() openpgp.EntityList {
	if p == nil {
		return nil
	}
	var l openpgp.EntityList
	for _, r := range p.Recipients {
		if r.Entity != nil {
			l = append(l, r.Entity)
		}
	}
	return l
}

// Organisation is the organisation's name and branding.
type Organisation struct {
	// Name is shown in the title bar. Required.
	Name string
	// LogoPNG is the optional logo, decoded from logo_png_base64.
	LogoPNG []byte
}

// AccountTemplate is the server side of a mail account, which staff complete
// with their own address and sign-in.
type AccountTemplate struct {
	// Name labels the template ("Practice mailbox"). Required.
	Name string
	// SMTPHost and SMTPPort are the submission server. Required.
	SMTPHost string
	SMTPPort int
	// SMTPSecurity is "tls" (implicit TLS, port 465) or "starttls".
	SMTPSecurity string
	// IMAPHost and IMAPPort are the mailbox server; optional.
	IMAPHost string
	IMAPPort int
	// IMAPSecurity is "tls" or "starttls".
	IMAPSecurity string
	// Auth is "password" or "oauth2".
	Auth string
	// OAuthProvider is "microsoft" or "google" when Auth is "oauth2".
	OAuthProvider string
	// OAuthTenant is the Microsoft Entra tenant (optional).
	OAuthTenant string
	// OAuthClientID overrides the built-in OAuth client id (optional).
	OAuthClientID string
	// CAPEM is an optional organisation CA (PEM) trusted in addition to the
	// system roots for these servers.
	CAPEM string
	// CAs is CAPEM parsed; nil when CAPEM is empty.
	CAs *x509.CertPool
}

// Encryption is the organisation's rule for when messages must be encrypted.
type Encryption string

// Encryption modes, weakest first.
const (
	// EncryptAuto encrypts when every recipient has a key.
	EncryptAuto Encryption = "auto"
	// EncryptDomains requires encryption for recipients in listed domains
	// (and then for the whole message).
	EncryptDomains Encryption = "domains"
	// EncryptAlways requires encryption for every message.
	EncryptAlways Encryption = "always"
)

func (e Encryption) rank() int {
	switch e {
	case EncryptAlways:
		return 2
	case EncryptDomains:
		return 1
	}
	return 0
}

// OrgPolicy is the policy section of a profile: the floor users may tighten
// but never lower.
type OrgPolicy struct {
	// MinTLS is "1.2" or "1.3".
	MinTLS string
	// Encryption is auto, domains or always.
	Encryption Encryption
	// EncryptDomains are the domains that require encryption under
	// EncryptDomains.
	EncryptDomains []string
	// RequireREQUIRETLS makes the REQUIRETLS SMTP extension mandatory.
	RequireREQUIRETLS bool
	// AllowedRecipientDomains, when not empty, is the only set of domains
	// mail may be sent to.
	AllowedRecipientDomains []string
	// MaxAttachmentMB bounds each document; 0 means no limit.
	MaxAttachmentMB int
	// UsersMayAddRecipients allows recipients outside the directory.
	UsersMayAddRecipients bool
	// UsersMayAddKeys allows users to pin keys not in the directory.
	UsersMayAddKeys bool
	// Acknowledgements is how received messages are acknowledged (see
	// AckMode); "" is AckAuto.
	Acknowledgements AckMode
	// AcknowledgementWait is how long after a message was sent the sender
	// waits for its acknowledgement before it is shown as overdue; 0 is
	// DefaultAcknowledgementWait.
	AcknowledgementWait time.Duration
}

// AckMode says how this organisation's receivers acknowledge verified
// messages whose sender asked for it (docs/acknowledgements.md).
type AckMode string

// The acknowledgement modes.
const (
	// AckAuto: a "received and verified" acknowledgement is sent
	// automatically, and staff may accept or reject.
	AckAuto AckMode = "auto"
	// AckManual: nothing is sent automatically; staff may accept or
	// reject.
	AckManual AckMode = "manual"
	// AckOff: no acknowledgement is ever sent.
	AckOff AckMode = "off"
)

// DefaultAcknowledgementWait is the acknowledgement wait when the profile
// sets none.
const DefaultAcknowledgementWait = 4 * time.Hour

// Recipient is one directory entry.
type Recipient struct {
	// Name is the display name. Required.
	Name string
	// Email is the address. Required.
	Email string
	// Organisation is the recipient's organisation (optional).
	Organisation string
	// HPIOrgID and HPIFacilityID are optional HPI identifiers.
	HPIOrgID      string
	HPIFacilityID string
	// PublicKey is the armored OpenPGP public key. Required.
	PublicKey string
	// Entity is PublicKey parsed.
	Entity *openpgp.Entity
	// Fingerprint is the key's fingerprint, upper-case hex.
	Fingerprint string
	// RelayAliases are short names (lower case, see ValidAliasName) by
	// which the practice's scanners may address this entry through
	// 'securesend relay' (NAME@relay). Unique in the directory.
	RelayAliases []string
}

// Setting names a user-changeable setting that a profile may lock.
type Setting string

// Settings a profile may lock. Locking a policy setting means the user's own
// value for it is ignored, even a stricter one.
const (
	LockMinTLS         Setting = "policy.min_tls"
	LockEncryption     Setting = "policy.encryption"
	LockRequireTLS     Setting = "policy.require_requiretls"
	LockAllowedDomains Setting = "policy.allowed_recipient_domains"
	LockMaxAttachment  Setting = "policy.max_attachment_mb"
	// LockAccounts: users may not add accounts or change a template's
	// servers, security or sign-in method.
	LockAccounts Setting = "accounts"
	// LockDirectory: users may not edit or hide directory entries.
	LockDirectory Setting = "directory"
)

// KnownSettings lists every Setting a profile may lock.
func KnownSettings() []Setting {
	return []Setting{LockMinTLS, LockEncryption, LockRequireTLS, LockAllowedDomains, LockMaxAttachment, LockAccounts, LockDirectory}
}
