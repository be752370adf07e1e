package desk

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/profile"
)

// TestAccountFromTemplate: an organisation's template gives the account
// its servers, their security and its sign-in; the person gives only the
// name and address.
func TestAccountFromTemplate(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    profile.AccountTemplate
		want account.Account
	}{
		{"password, STARTTLS and an inbox", profile.AccountTemplate{Name: "Practice", SMTPHost: "mail.practice.test", SMTPPort: 587, SMTPSecurity: "starttls",
			IMAPHost: "mail.practice.test", IMAPPort: 993, IMAPSecurity: "tls", Auth: "password"},
			account.Account{Name: "practice", Email: "reception@practice.test", Auth: account.AuthPassword,
				SMTP: account.Server{Address: "mail.practice.test:587", Security: account.StartTLS},
				IMAP: account.Server{Address: "mail.practice.test:993", Security: account.ImplicitTLS}}},
		{"Microsoft 365, send only", profile.AccountTemplate{Name: "M365", SMTPHost: "smtp.office365.com", SMTPPort: 587, SMTPSecurity: "starttls",
			Auth: "oauth2", OAuthProvider: "microsoft", OAuthTenant: "practice.test", OAuthClientID: "client-1"},
			account.Account{Name: "practice", Email: "reception@practice.test", Auth: account.AuthMicrosoft,
				SMTP:  account.Server{Address: "smtp.office365.com:587", Security: account.StartTLS},
				OAuth: &account.OAuthSettings{ClientID: "client-1", Tenant: "practice.test"}}},
	} {
		got := AccountFromTemplate(tc.t, "practice", "reception@practice.test")
		if got.Name != tc.want.Name || got.Email != tc.want.Email || got.Auth != tc.want.Auth || got.SMTP != tc.want.SMTP || got.IMAP != tc.want.IMAP ||
			(got.OAuth == nil) != (tc.want.OAuth == nil) || (got.OAuth != nil && !reflect.DeepEqual(got.OAuth, tc.want.OAuth)) || got.CAFile != "" {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestAddFromTemplate: an account added on a template with the
// organisation's CA trusts that CA, kept in the home; a password
// template without a password, or a bad address, is refused before
// anything is written.
func TestAddFromTemplate(t *testing.T) {
	requireKeychain(t)
	d, _ := testDesk(t)
	m := d.ManageAccounts()
	ca, err := os.ReadFile(accounttest.NewPKI(t).CAFile)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := profile.AccountTemplate{Name: "Clinic mailbox", SMTPHost: "mail.clinic.test", SMTPPort: 465, SMTPSecurity: "tls", Auth: "password", CAPEM: string(ca)}
	for _, tc := range []struct{ name, email, password, want string }{
		{"clinic", "alice@clinic.test", "", "signs in with a password"},
		{"clinic", "not an address", "pw", "not an e-mail address"},
	} {
		if _, err := m.AddFromTemplate(tmpl, tc.name, tc.email, account.Credentials{Password: tc.password}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: %v, want %q", tc.name, tc.email, err, tc.want)
		}
		if _, err := os.Stat(d.Home().Path("ca-clinic.pem")); err == nil {
			t.Errorf("%s %q: the CA was written for an account not added", tc.name, tc.email)
		}
	}
	a, err := m.AddFromTemplate(tmpl, "clinic", "alice@clinic.test", account.Credentials{Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Remove("clinic") })
	// A second account of the name is refused without touching the
	// first one's CA file.
	other := tmpl
	other.CAPEM = "not the clinic's CA"
	if _, err := m.AddFromTemplate(other, "clinic", "bob@clinic.test", account.Credentials{Password: "pw"}); !errors.Is(err, account.ErrExists) {
		t.Errorf("second clinic: %v, want ErrExists", err)
	}
	got, err := m.Get("clinic")
	if err != nil || got.SMTP != a.SMTP || got.CAFile != d.Home().Path("ca-clinic.pem") {
		t.Fatalf("stored %+v, %v", got, err)
	}
	if pem, err := os.ReadFile(got.CAFile); err != nil || string(pem) != string(ca) {
		t.Errorf("CA file: %v", err)
	}
	if _, err := m.Template("Clinic mailbox"); err == nil || !strings.Contains(err.Error(), "(it has none)") {
		t.Errorf("Template without a profile: %v", err)
	}
}
