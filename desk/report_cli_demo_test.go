package desk

import (
	"strings"
	"testing"

	"github.com/securesend/securesend/internal/demomail"
)

// TestDemoSystemLines: the demo names its three servers, the CA file,
// every account with its password for this run, and a send from the
// clinician (the first account) to the pharmacy through the TLS server.
func TestDemoSystemLines(t *testing.T) {
	sys := &demomail.System{SMTPAddr: "127.0.0.1:4650", StartTLSAddr: "127.0.0.1:5870", IMAPAddr: "127.0.0.1:9930",
		Accounts: []demomail.Account{{Address: "gp@clinic.demo", Password: "pw-one"}, {Address: demomail.Pharmacy, Password: "pw-two"}}}
	got := strings.Join(DemoSystemLines(sys, "/tmp/demo-ca.pem"), "\n")
	for _, want := range []string{
		"  SMTP, implicit TLS:  127.0.0.1:4650\n  SMTP, STARTTLS:      127.0.0.1:5870\n  IMAP, implicit TLS:  127.0.0.1:9930\n  CA certificate:      /tmp/demo-ca.pem",
		"  gp@clinic.demo         pw-one\n  " + demomail.Pharmacy,
		"securesend send --server 127.0.0.1:4650 --ca-file /tmp/demo-ca.pem --user gp@clinic.demo --password-stdin \\\n      --from gp@clinic.demo --to " + demomail.Pharmacy + " FILE.pdf",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo lines lack %q:\n%s", want, got)
		}
	}
}
