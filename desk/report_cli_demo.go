package desk

import (
	"fmt"

	"github.com/securesend/securesend/internal/demomail"
)

// DemoSystemLines are what 'securesend demo' prints about the running
// demo mail system sys, whose CA certificate is in the file caFile: its
// servers, its accounts with this run's passwords, and a send to try.
func DemoSystemLines(sys *demomail.System, caFile string) []string {
	out := []string{
		"securesend demo mail system (loopback only; stops with Ctrl-C)",
		"",
		"  SMTP, implicit TLS:  " + sys.SMTPAddr,
		"  SMTP, STARTTLS:      " + sys.StartTLSAddr,
		"  IMAP, implicit TLS:  " + sys.IMAPAddr,
		"  CA certificate:      " + caFile,
		"",
		"Accounts (user name = address; the passwords are for this run only):",
	}
	for _, a := range sys.Accounts {
		out = append(out, fmt.Sprintf("  %-22s %s", a.Address, a.Password))
	}
	cl := sys.Accounts[0]
	return append(out, "", "Try it, for example:",
		fmt.Sprintf("  securesend send --server %s --ca-file %s --user %s --password-stdin \\", sys.SMTPAddr, caFile, cl.Address),
		fmt.Sprintf("      --from %s --to %s FILE.pdf", cl.Address, demomail.Pharmacy),
		"then type the clinician's password and press Enter.",
		"(see 'securesend send --help' for the exact flags)")
}
