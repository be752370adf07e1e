package desk

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/securesend/securesend/account"
)

// TestRelayStartedLines: the relay says where it listens, for which
// devices, as which account and the fingerprint to pin; each device
// allowed without TLS gets its own warning; names are safe for a terminal.
func TestRelayStartedLines(t *testing.T) {
	s := RelayStarted{Addr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 2525}, Devices: []string{"frontdesk", "back\x1b[2Joffice"},
		Account: account.Account{Name: "clinic", Email: "clinic@example.org"}, Fingerprint: "AB:CD", CertificateMade: true, CertificateDir: "/home/relay",
		PlainFrom: []netip.Addr{netip.MustParseAddr("192.0.2.9")}, QueueOnly: true}
	lines, warnings := RelayStartedLines(s)
	want := []string{
		"Made a TLS certificate for the relay (kept in /home/relay).",
		"Listening on 192.0.2.1:2525 for frontdesk, back<U+001B>[2Joffice; sending as clinic@example.org (account clinic).",
		"TLS certificate SHA-256 fingerprint (pin it on each device): AB:CD",
		"Queue only: 'securesend outbox run' delivers the jobs.",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("lines:\n%q\nwant\n%q", lines, want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "192.0.2.9 may sign in and send WITHOUT TLS") {
		t.Errorf("warnings: %q", warnings)
	}
	if _, warnings := RelayStartedLines(RelayStarted{Addr: s.Addr}); warnings != nil {
		t.Errorf("no plain device, warnings %q", warnings)
	}
}
