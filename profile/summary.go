package profile

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// SummaryLine is one row of a human-readable effective policy, for the
// Settings tab and "securesend admin profile show --effective".
type SummaryLine struct {
	// Label names the setting ("Minimum TLS version").
	Label string
	// Value is its effective value ("1.3").
	Value string
	// Setting is the lockable setting behind the row, "" when none.
	Setting Setting
	// Locked reports that the organisation locks it: show it read-only.
	Locked bool
}

// Summary lists the effective policy row by row, in a fixed order.
func (p Policy) Summary() []SummaryLine {
	tlsv := "1.2"
	if p.minTLS == tls.VersionTLS13 {
		tlsv = "1.3"
	}
	enc := map[Encryption]string{
		EncryptAlways:  "always",
		EncryptDomains: "required for " + strings.Join(p.encryptDomains, ", "),
		EncryptAuto:    "when every recipient has a key",
	}[p.encryption]
	allowed := "any"
	if p.restricted {
		allowed = strings.Join(p.allowed, ", ")
		if allowed == "" {
			allowed = "none"
		}
	}
	limit := "no limit"
	if p.maxMB > 0 {
		limit = fmt.Sprintf("%d MB", p.maxMB)
	}
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	lines := []SummaryLine{
		{Label: "Minimum TLS version", Value: tlsv, Setting: LockMinTLS},
		{Label: "Encryption", Value: enc, Setting: LockEncryption},
		{Label: "REQUIRETLS required", Value: yes(p.requireTLS), Setting: LockRequireTLS},
		{Label: "Allowed recipient domains", Value: allowed, Setting: LockAllowedDomains},
		{Label: "Largest document", Value: limit, Setting: LockMaxAttachment},
		{Label: "Own recipients allowed", Value: yes(p.addRecipients)},
		{Label: "Own keys allowed", Value: yes(p.addKeys)},
	}
	for i := range lines {
		lines[i].Locked = lines[i].Setting != "" && p.Locked(lines[i].Setting)
	}
	return lines
}
