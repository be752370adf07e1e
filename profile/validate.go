package profile

import (
	"time"

	"bytes"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/securesend/securesend/internal/maildomain"
)

// validator checks a decoded profile and keeps the first error.
type validator struct {
	md  toml.MetaData
	ix  lineIndex
	err error
}

func (v *validator) fail(field string, kind error, format string, a ...any) {
	if v.err != nil {
		return
	}
	v.err = &FieldError{Field: field, Line: v.ix.of(field), Kind: kind, Detail: fmt.Sprintf(format, a...)}
}

// require reports a missing field unless key is defined. field is the
// indexed name used in messages; key is the decoder's path.
func (v *validator) require(field string, key ...string) bool {
	if v.md.IsDefined(key...) {
		return true
	}
	if v.err == nil {
		parent := field
		if i := strings.LastIndex(field, "."); i >= 0 {
			parent = field[:i]
		} else {
			parent = ""
		}
		v.err = &FieldError{Field: field, Line: v.ix.of(parent), Kind: ErrMissingField}
	}
	return false
}

func (v *validator) profile(r *rawProfile) *Profile {
	p := &Profile{Format: r.Format, Serial: r.Serial}
	if v.require("format", "format") && r.Format != FormatVersion {
		v.fail("format", ErrInvalidValue, "this securesend reads format %d, the file says %d", FormatVersion, r.Format)
	}
	if v.require("serial", "serial") && r.Serial < 1 {
		v.fail("serial", ErrInvalidValue, "must be a whole number of 1 or more, increased with every new version")
	}
	v.require("organisation", "organisation")
	p.Organisation = v.organisation(r.Organisation)
	v.require("policy", "policy")
	p.Policy = v.policy(r.Policy)
	for i, a := range r.Account {
		p.Accounts = append(p.Accounts, v.account(fmt.Sprintf("account[%d]", i+1), a))
	}
	seen := map[string]string{}
	aliases := map[string]string{}
	for i, rr := range r.Recipient {
		field := fmt.Sprintf("recipient[%d]", i+1)
		rec := v.recipient(field, rr)
		if prev, dup := seen[strings.ToLower(rec.Email)]; dup && rec.Email != "" {
			v.fail(field+".email", ErrInvalidValue, "%s is already listed in %s", rec.Email, prev)
		}
		seen[strings.ToLower(rec.Email)] = field
		rec.RelayAliases = v.relayAliases(field+".relay_aliases", rr.RelayAliases, aliases)
		p.Recipients = append(p.Recipients, rec)
	}
	for _, l := range r.Locked {
		if !slices.Contains(KnownSettings(), Setting(l)) {
			v.fail("locked", ErrInvalidValue, "%q is not a setting that can be locked (known: %s)", l, settingList())
		}
		p.Locked = append(p.Locked, Setting(l))
	}
	return p
}

func settingList() string {
	var s []string
	for _, k := range KnownSettings() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

func (v *validator) organisation(r rawOrg) Organisation {
	o := Organisation{Name: strings.TrimSpace(r.Name)}
	if v.require("organisation.name", "organisation", "name") && o.Name == "" {
		v.fail("organisation.name", ErrInvalidValue, "must not be empty")
	}
	if r.LogoPNGBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(r.LogoPNGBase64), ""))
		switch {
		case err != nil:
			v.fail("organisation.logo_png_base64", ErrInvalidValue, "not valid base64")
		case !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
			v.fail("organisation.logo_png_base64", ErrInvalidValue, "not a PNG image")
		case len(b) > 512<<10:
			v.fail("organisation.logo_png_base64", ErrInvalidValue, "logo is larger than 512 KiB")
		}
		o.LogoPNG = b
	}
	return o
}

func (v *validator) policy(r rawPolicy) OrgPolicy {
	p := OrgPolicy{
		MinTLS:                  r.MinTLS,
		Encryption:              Encryption(r.Encryption),
		RequireREQUIRETLS:       r.RequireREQUIRETLS,
		MaxAttachmentMB:         r.MaxAttachmentMB,
		UsersMayAddRecipients:   r.UsersMayAddRecipients,
		UsersMayAddKeys:         r.UsersMayAddKeys,
		EncryptDomains:          v.domains("policy.encrypt_domains", r.EncryptDomains),
		AllowedRecipientDomains: v.domains("policy.allowed_recipient_domains", r.AllowedRecipientDomains),
	}
	if v.require("policy.min_tls", "policy", "min_tls") && p.MinTLS != "1.2" && p.MinTLS != "1.3" {
		v.fail("policy.min_tls", ErrInvalidValue, `must be "1.2" or "1.3", not %q`, p.MinTLS)
	}
	if v.require("policy.encryption", "policy", "encryption") {
		switch p.Encryption {
		case EncryptAlways, EncryptAuto:
		case EncryptDomains:
			if len(p.EncryptDomains) == 0 {
				v.fail("policy.encrypt_domains", ErrMissingField, `encryption = "domains" needs the list of domains`)
			}
		default:
			v.fail("policy.encryption", ErrInvalidValue, `must be "always", "domains" or "auto", not %q`, r.Encryption)
		}
	}
	if p.MaxAttachmentMB < 0 || p.MaxAttachmentMB > 10240 {
		v.fail("policy.max_attachment_mb", ErrInvalidValue, "must be between 0 (no limit) and 10240")
	}
	switch m := AckMode(r.Acknowledgements); m {
	case "":
		p.Acknowledgements = AckAuto
	case AckAuto, AckManual, AckOff:
		p.Acknowledgements = m
	default:
		v.fail("policy.acknowledgements", ErrInvalidValue, `must be "auto", "manual" or "off", not %q`, r.Acknowledgements)
	}
	if r.AcknowledgementWait == "" {
		p.AcknowledgementWait = DefaultAcknowledgementWait
	} else if d, err := time.ParseDuration(r.AcknowledgementWait); err != nil || d < 10*time.Minute || d > 7*24*time.Hour {
		v.fail("policy.acknowledgement_wait", ErrInvalidValue, `must be a duration between 10m and 168h, such as "4h", not %q`, r.AcknowledgementWait)
	} else {
		p.AcknowledgementWait = d
	}
	return p
}

// domains lower-cases and checks a list of mail domains.
func (v *validator) domains(field string, in []string) []string {
	var out []string
	for _, d := range in {
		d = strings.ToLower(strings.TrimSpace(d))
		if !validDomain(d) {
			v.fail(field, ErrInvalidValue, "%q is not a mail domain (write it like pharmacy.example.nz)", d)
		}
		out = append(out, d)
	}
	return out
}

// validDomain reports whether d is a lower-case domain name of at least two
// labels (maildomain.Valid): no IP address, address literal or trailing
// dot. Domains in the profile and the user's settings must pass it.
func validDomain(d string) bool {
	return d == strings.ToLower(d) && strings.Contains(d, ".") && maildomain.Valid(d)
}

func (v *validator) account(field string, r rawAccount) AccountTemplate {
	a := AccountTemplate{
		Name: r.Name, SMTPHost: r.SMTPHost, SMTPPort: r.SMTPPort, SMTPSecurity: r.SMTPSecurity,
		IMAPHost: r.IMAPHost, IMAPPort: r.IMAPPort, IMAPSecurity: r.IMAPSecurity,
		Auth: r.Auth, OAuthProvider: r.OAuthProvider, OAuthTenant: r.OAuthTenant,
		OAuthClientID: r.OAuthClientID, CAPEM: r.CAPEM,
	}
	for _, req := range []struct{ key, val string }{{"name", a.Name}, {"smtp_host", a.SMTPHost}, {"auth", a.Auth}} {
		if strings.TrimSpace(req.val) == "" {
			v.fail(field+"."+req.key, ErrMissingField, "")
		}
	}
	if a.SMTPPort == 0 {
		a.SMTPPort = 465
	}
	if a.SMTPSecurity == "" {
		a.SMTPSecurity = "tls"
	}
	v.port(field+".smtp_port", a.SMTPPort)
	v.security(field+".smtp_security", a.SMTPSecurity)
	if a.IMAPHost != "" {
		if a.IMAPPort == 0 {
			a.IMAPPort = 993
		}
		if a.IMAPSecurity == "" {
			a.IMAPSecurity = "tls"
		}
		v.port(field+".imap_port", a.IMAPPort)
		v.security(field+".imap_security", a.IMAPSecurity)
	}
	switch a.Auth {
	case "", "password":
	case "oauth2":
		if a.OAuthProvider != "microsoft" && a.OAuthProvider != "google" {
			v.fail(field+".oauth_provider", ErrInvalidValue, `auth = "oauth2" needs oauth_provider "microsoft" or "google", not %q`, a.OAuthProvider)
		}
	default:
		v.fail(field+".auth", ErrInvalidValue, `must be "password" or "oauth2", not %q`, a.Auth)
	}
	if a.CAPEM != "" {
		a.CAs = x509.NewCertPool()
		if !a.CAs.AppendCertsFromPEM([]byte(a.CAPEM)) {
			v.fail(field+".ca_pem", ErrInvalidValue, "no PEM certificate found")
		}
	}
	return a
}

func (v *validator) port(field string, p int) {
	if p < 1 || p > 65535 {
		v.fail(field, ErrInvalidValue, "must be a port between 1 and 65535")
	}
}

func (v *validator) security(field, s string) {
	if s != "tls" && s != "starttls" {
		v.fail(field, ErrInvalidValue, `must be "tls" (implicit TLS) or "starttls", not %q; plaintext is not possible`, s)
	}
}

func (v *validator) recipient(field string, r rawRecip) Recipient {
	rec := Recipient{Name: strings.TrimSpace(r.Name), Email: strings.TrimSpace(r.Email),
		Organisation: r.Organisation, HPIOrgID: r.HPIOrgID, HPIFacilityID: r.HPIFacilityID, PublicKey: r.PublicKey}
	for _, req := range []struct{ key, val string }{{"name", rec.Name}, {"email", rec.Email}, {"public_key", rec.PublicKey}} {
		if strings.TrimSpace(req.val) == "" {
			v.fail(field+"."+req.key, ErrMissingField, "")
			return rec
		}
	}
	a, err := mail.ParseAddress(rec.Email)
	if err != nil || a.Address != rec.Email || a.Name != "" {
		v.fail(field+".email", ErrInvalidValue, "%q is not a plain e-mail address", rec.Email)
		return rec
	}
	rec.Email = strings.ToLower(rec.Email)
	ent, err := parseRecipientKey(rec.PublicKey, rec.Email)
	if err != nil {
		v.fail(field+".public_key", ErrInvalidValue, "%v", err)
		return rec
	}
	rec.Entity = ent
	rec.Fingerprint = fingerprintHex(ent.PrimaryKey.Fingerprint)
	return rec
}

// parseRecipientKey reads exactly one armored public key that names email in
// one of its identities and can encrypt.
func parseRecipientKey(armored, email string) (*openpgp.Entity, error) {
	l, err := openpgp.ReadArmoredKeyRing(strings.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("not an armored OpenPGP public key (%v)", err)
	}
	if len(l) != 1 {
		return nil, fmt.Errorf("holds %d keys; give exactly one", len(l))
	}
	e := l[0]
	if e.PrivateKey != nil {
		return nil, fmt.Errorf("is a PRIVATE key; the directory takes public keys only")
	}
	named := false
	for _, id := range e.Identities {
		if id.UserId != nil && strings.EqualFold(id.UserId.Email, email) {
			named = true
		}
	}
	if !named {
		return nil, fmt.Errorf("key %s has no identity for %s", fingerprintHex(e.PrimaryKey.Fingerprint), email)
	}
	if !canEncrypt(e) {
		return nil, fmt.Errorf("key %s has no encryption subkey", fingerprintHex(e.PrimaryKey.Fingerprint))
	}
	return e, nil
}

func canEncrypt(e *openpgp.Entity) bool {
	enc := func(s *packet.Signature) bool {
		return s != nil && s.FlagsValid && (s.FlagEncryptCommunications || s.FlagEncryptStorage)
	}
	for _, sk := range e.Subkeys {
		if enc(sk.Sig) && sk.PublicKey.PubKeyAlgo.CanEncrypt() {
			return true
		}
	}
	for _, id := range e.Identities {
		if enc(id.SelfSignature) && e.PrimaryKey.PubKeyAlgo.CanEncrypt() {
			return true
		}
	}
	return false
}

func fingerprintHex(fp []byte) string { return strings.ToUpper(fmt.Sprintf("%x", fp)) }
