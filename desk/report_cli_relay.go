package desk

import (
	"fmt"
	"strings"
)

// RelayStartedLines are what 'securesend relay' prints once it listens:
// lines for standard output (the address, the devices, the account, the
// certificate's fingerprint to pin on each device) and warnings for
// standard error, one for every device allowed to send without TLS.
func RelayStartedLines(s RelayStarted) (lines, warnings []string) {
	if s.CertificateMade {
		lines = append(lines, fmt.Sprintf("Made a TLS certificate for the relay (kept in %s).", DisplayName(s.CertificateDir)))
	}
	lines = append(lines,
		fmt.Sprintf("Listening on %s for %s; sending as %s (account %s).", s.Addr, KeyText(strings.Join(s.Devices, ", ")), KeyText(s.Account.Email), KeyText(s.Account.Name)),
		"TLS certificate SHA-256 fingerprint (pin it on each device): "+s.Fingerprint)
	if s.QueueOnly {
		lines = append(lines, "Queue only: 'securesend outbox run' delivers the jobs.")
	}
	for _, a := range s.PlainFrom {
		warnings = append(warnings, fmt.Sprintf("WARNING: the device at %s may sign in and send WITHOUT TLS: its password and scans cross the network in clear. Each such message is recorded in the audit log. Replace it with a device that does STARTTLS.", a))
	}
	return lines, warnings
}
