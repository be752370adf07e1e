package desk

import (
	"slices"
	"testing"

	"github.com/securesend/securesend/account"
)

// TestServerReportLines: 'account test' prints each server's TLS, sign-in
// and extension in one column, or what failed instead of the extension,
// with what the server said made safe for a terminal.
func TestServerReportLines(t *testing.T) {
	tls := account.ServerReport{Address: "smtp.example.org:465", Security: account.ImplicitTLS, AuthMechanisms: []string{"PLAIN", "LOGIN"}, SignedInWith: "PLAIN", RequireTLS: true}
	tls.TLS.Version, tls.TLS.CipherSuite, tls.TLS.ServerName = "TLS 1.3", "TLS_AES_128_GCM_SHA256", "smtp.example.org"
	failed := account.ServerReport{Address: "imap.example.org:993", Security: account.ImplicitTLS, Error: "535 bad\x1b[2J password"}
	for _, c := range []struct {
		what string
		r    account.ServerReport
		want []string
	}{
		{"SMTP", tls, []string{
			"SMTP smtp.example.org:465 (tls)",
			"  TLS:        TLS 1.3, TLS_AES_128_GCM_SHA256, certificate verified for smtp.example.org",
			"  AUTH:       PLAIN LOGIN",
			"  Signed in:  yes (PLAIN)",
			"  REQUIRETLS: yes",
		}},
		{"IMAP", failed, []string{
			"IMAP imap.example.org:993 (tls)",
			`  FAILED:     535 bad\x1b[2J password`,
		}},
		{"IMAP", account.ServerReport{Address: "imap.example.org:143", Security: account.StartTLS}, []string{
			"IMAP imap.example.org:143 (starttls)",
			"  IDLE:       no",
		}},
	} {
		if got := ServerReportLines(c.what, &c.r); !slices.Equal(got, c.want) {
			t.Errorf("ServerReportLines(%s %s):\n%q\nwant\n%q", c.what, c.r.Address, got, c.want)
		}
	}
}

// TestAccountRow: a send-only account shows "-" for IMAP; every cell is
// safe for a terminal.
func TestAccountRow(t *testing.T) {
	a := account.Account{Name: "clinic\x1b]0;x\a", Email: "c@clinic.test", Auth: account.AuthPassword}
	a.SMTP.Address, a.SMTP.Security = "smtp.clinic.test:465", account.ImplicitTLS
	want := []string{`clinic\x1b]0;x\x07`, "c@clinic.test", "smtp.clinic.test:465 (tls)", "-", "password"}
	if got := AccountRow(a); !slices.Equal(got, want) {
		t.Errorf("AccountRow = %q, want %q", got, want)
	}
}
