package desk

import (
	"fmt"
	"strings"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/internal/termsafe"
)

// AccountRowHeader are the column titles of AccountRow.
var AccountRowHeader = []string{"NAME", "EMAIL", "SMTP", "IMAP", "AUTH"}

// AccountRow is a as a row of 'account list': its servers with their
// security ("-" for a send-only account's IMAP), made safe for a terminal.
func AccountRow(a account.Account) []string {
	imap := "-"
	if a.IMAP.Address != "" {
		imap = a.IMAP.Address + " (" + string(a.IMAP.Security) + ")"
	}
	row := []string{a.Name, a.Email, a.SMTP.Address + " (" + string(a.SMTP.Security) + ")", imap, string(a.Auth)}
	for i := range row {
		row[i] = termsafe.String(row[i])
	}
	return row
}

// ServerReportLines are the lines of 'account test' for one server (what
// is "SMTP" or "IMAP"): its TLS, sign-in and extensions, or what failed.
// What the server said is made safe for a terminal.
func ServerReportLines(what string, r *account.ServerReport) []string {
	out := []string{fmt.Sprintf("%s %s (%s)", what, r.Address, r.Security)}
	add := func(label, value string) { out = append(out, fmt.Sprintf("  %-11s %s", label+":", value)) }
	if r.TLS.Version != "" {
		add("TLS", fmt.Sprintf("%s, %s, certificate verified for %s", r.TLS.Version, r.TLS.CipherSuite, r.TLS.ServerName))
	}
	if len(r.AuthMechanisms) > 0 {
		add("AUTH", strings.Join(r.AuthMechanisms, " "))
	}
	if r.SignedInWith != "" {
		add("Signed in", "yes ("+r.SignedInWith+")")
	}
	switch {
	case r.Error != "":
		add("FAILED", r.Error)
	case what == "SMTP":
		add("REQUIRETLS", yesNo(r.RequireTLS))
	case what == "IMAP":
		add("IDLE", yesNo(r.IDLE))
	}
	for i := range out {
		out[i] = termsafe.String(out[i])
	}
	return out
}
