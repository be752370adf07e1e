package desk

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/profile"
)

// ProfileLines describe the organisation profile l ('admin profile
// show'): the organisation, where the profile came from and who signed
// it, its policy, locked settings, account templates and directory. Every
// line is made safe for a terminal (termsafe): the names, hosts and
// domains come from a file.
func ProfileLines(l *profile.Loaded) []string {
	return safeLines(profileLines(l))
}

// safeLines makes each of lines safe for a terminal (termsafe.String), in
// place, and returns it.
func safeLines(lines []string) []string {
	for i, l := range lines {
		lines[i] = termsafe.String(l)
	}
	return lines
}

// profileLines are ProfileLines before they are made safe.
func profileLines(l *profile.Loaded) []string {
	p := l.Profile
	out := []string{
		"Organisation: " + p.Organisation.Name,
		fmt.Sprintf("Profile: serial %d, from %s, verified: signed by pinned admin key %s", p.Serial, l.Source, l.Fingerprint),
	}
	op := p.Policy
	line := fmt.Sprintf("Policy: min TLS %s; encryption %s", op.MinTLS, op.Encryption)
	if len(op.EncryptDomains) > 0 {
		line += fmt.Sprintf(" (%s)", strings.Join(op.EncryptDomains, ", "))
	}
	out = append(out, line+fmt.Sprintf("; REQUIRETLS required: %t; max attachment: %s", op.RequireREQUIRETLS, megabytes(op.MaxAttachmentMB)))
	allowed := "any"
	if len(op.AllowedRecipientDomains) > 0 {
		allowed = strings.Join(op.AllowedRecipientDomains, ", ")
	}
	out = append(out, "Allowed recipient domains: "+allowed,
		fmt.Sprintf("Users may add recipients: %t; users may add keys: %t", op.UsersMayAddRecipients, op.UsersMayAddKeys))
	locked := "none"
	if len(p.Locked) > 0 {
		var ls []string
		for _, s := range p.Locked {
			ls = append(ls, string(s))
		}
		locked = strings.Join(ls, ", ")
	}
	out = append(out, "Locked settings: "+locked, fmt.Sprintf("Account templates: %d", len(p.Accounts)))
	for _, a := range p.Accounts {
		line := fmt.Sprintf("  %s: smtp %s:%d (%s), auth %s", a.Name, a.SMTPHost, a.SMTPPort, a.SMTPSecurity, a.Auth)
		if a.OAuthProvider != "" {
			line += fmt.Sprintf(" (%s)", a.OAuthProvider)
		}
		if a.IMAPHost != "" {
			line += fmt.Sprintf(", imap %s:%d (%s)", a.IMAPHost, a.IMAPPort, a.IMAPSecurity)
		}
		out = append(out, line)
	}
	out = append(out, fmt.Sprintf("Directory: %d recipients (keys pinned)", len(p.Recipients)))
	for _, r := range p.Recipients {
		line := fmt.Sprintf("  %s <%s>", r.Name, r.Email)
		if r.Organisation != "" {
			line += ", " + r.Organisation
		}
		if r.HPIOrgID != "" {
			line += ", HPI " + r.HPIOrgID
		}
		out = append(out, line+", key "+r.Fingerprint)
	}
	return out
}

// PolicyLines are the effective policy pol, line by line, with the user
// settings it ignored ('admin profile show --effective'), each made safe
// for a terminal (domains and notes come from the profile and the user's
// settings file).
func PolicyLines(pol profile.Policy) []string {
	out := []string{"Effective policy:"}
	for _, l := range pol.Summary() {
		locked := ""
		if l.Locked {
			locked = " (locked)"
		}
		out = append(out, fmt.Sprintf("  %s: %s%s", l.Label, l.Value, locked))
	}
	for _, n := range pol.Notes() {
		out = append(out, "  ignored: "+n)
	}
	return safeLines(out)
}

// megabytes is an attachment limit in words.
func megabytes(n int) string {
	if n == 0 {
		return "no limit"
	}
	return fmt.Sprintf("%d MB", n)
}

// String is the verdict in one line ('admin policy check').
func (v *PolicyVerdict) String() string {
	tlsv := "1.2"
	if v.MinTLS == tls.VersionTLS13 {
		tlsv = "1.3"
	}
	return fmt.Sprintf("Allowed by policy; must be encrypted: %s; connection: TLS %s or later, REQUIRETLS required: %t", yesNo(v.MustEncrypt), tlsv, v.RequireTLS)
}
