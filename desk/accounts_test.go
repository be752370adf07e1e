package desk

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/profile"
)

// lockedDesk is a Desk in a new home whose binary carries a signed
// organisation profile (the example, made with a TEST ONLY admin key) that
// locks accounts: no account of the user's own is allowed.
func lockedDesk(t *testing.T) *Desk {
	t.Helper()
	data := profile.Example("Kowhai Medical Centre")
	if !strings.Contains(string(data), `"accounts"]`) {
		t.Fatal("the example profile no longer locks accounts")
	}
	d := signedProfileDesk(t, "Kowhai IT", "it@kowhai.example.nz", data)
	if l, err := d.Profile(); err != nil || !l.Managed() {
		t.Fatalf("profile: %v", err)
	}
	return d
}

// TestAccountManagerPolicyAndAudit: with a profile that locks accounts,
// adding an account is refused and nothing is stored; without one, an
// account is added, tested against a real server, given a new password
// and removed, and each change is in the audit log without the password.
func TestAccountManagerPolicyAndAudit(t *testing.T) {
	requireKeychain(t)
	const user, pw = "clinic@example.test", "pa55-for-desk-accounts"
	pki := accounttest.NewPKI(t)
	creds := accounttest.Credentials{User: user, Password: pw}
	smtpSrv := accounttest.StartSMTP(t, pki, creds, accounttest.Options{StartTLS: true})
	imapSrv := accounttest.StartIMAP(t, pki, creds, accounttest.Options{})
	a := account.Account{Name: "practice", Email: user, Auth: account.AuthPassword,
		SMTP: account.Server{Address: smtpSrv.Addr, Security: account.StartTLS},
		IMAP: account.Server{Address: imapSrv.Addr, Security: account.ImplicitTLS}, CAFile: pki.CAFile}

	locked := lockedDesk(t).ManageAccounts()
	if err := locked.Add(a, account.Credentials{Password: pw}); err == nil || !strings.Contains(err.Error(), "locks the mail accounts") {
		t.Fatalf("a profile that locks accounts, adding one: %v", err)
	}
	if accts, _ := locked.List(); len(accts) != 0 {
		t.Fatalf("a refused account was stored: %+v", accts)
	}

	d, warnings := testDesk(t)
	m := d.ManageAccounts()
	if err := m.Add(a, account.Credentials{Password: pw}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := m.Test(ctx, "practice")
	if err != nil || rep.SMTP.SignedInWith == "" || rep.IMAP == nil || rep.IMAP.SignedInWith == "" {
		t.Fatalf("test: %+v, %v", rep, err)
	}
	if err := m.SetPassword("practice", "new-"+pw); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Test(ctx, "practice"); err == nil {
		t.Error("the test signed in with the replaced password")
	}
	if err := m.Remove("practice"); err != nil {
		t.Fatal(err)
	}
	l, err := d.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := l.Export(&log, audit.JSON, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, setting := range []string{"add", "password", "remove"} {
		if !strings.Contains(log.String(), `"setting":"`+setting+`"`) && !strings.Contains(log.String(), `"setting": "`+setting+`"`) {
			t.Errorf("no account.change %s in the audit log:\n%s", setting, log.String())
		}
	}
	if strings.Contains(log.String(), pw) {
		t.Error("the password is in the audit log")
	}
	if len(*warnings) != 0 {
		t.Errorf("warnings: %v", *warnings)
	}
}

// TestAccountManagerPasswordOfOAuthAccount: an OAuth account has no
// password to replace.
func TestAccountManagerPasswordOfOAuthAccount(t *testing.T) {
	requireKeychain(t)
	d, _ := testDesk(t)
	m := d.ManageAccounts()
	a := account.Account{Name: "m365", Email: "clinic@example.test", Auth: account.AuthMicrosoft,
		OAuth: &account.OAuthSettings{ClientID: "00000000-0000-0000-0000-000000000000"}}
	a.ApplyPreset()
	if err := m.Add(a, account.Credentials{}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetPassword("m365", "x"); !errors.Is(err, ErrOAuthAccount) {
		t.Errorf("password for an OAuth account: %v", err)
	}
}

// TestAccountDefaults: the security left empty follows the port, a
// security given is kept, a send-only account gets no IMAP server, and a
// provider's preset fills the servers of an OAuth account.
func TestAccountDefaults(t *testing.T) {
	tests := []struct {
		name       string
		a          account.Account
		smtp, imap account.Server
	}{
		{"implicit TLS ports", account.Account{SMTP: account.Server{Address: "mail.example.org:465"}, IMAP: account.Server{Address: "mail.example.org:993"}},
			account.Server{Address: "mail.example.org:465", Security: account.ImplicitTLS}, account.Server{Address: "mail.example.org:993", Security: account.ImplicitTLS}},
		{"other ports", account.Account{SMTP: account.Server{Address: "mail.example.org:587"}, IMAP: account.Server{Address: "mail.example.org:143"}},
			account.Server{Address: "mail.example.org:587", Security: account.StartTLS}, account.Server{Address: "mail.example.org:143", Security: account.StartTLS}},
		{"port 4650 is not 465", account.Account{SMTP: account.Server{Address: "mail.example.org:4650"}},
			account.Server{Address: "mail.example.org:4650", Security: account.StartTLS}, account.Server{}},
		{"given security kept", account.Account{SMTP: account.Server{Address: "mail.example.org:465", Security: account.StartTLS}},
			account.Server{Address: "mail.example.org:465", Security: account.StartTLS}, account.Server{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			a.Auth = account.AuthPassword
			AccountDefaults(&a)
			if a.SMTP != tt.smtp || a.IMAP != tt.imap {
				t.Errorf("SMTP %+v, IMAP %+v; want %+v, %+v", a.SMTP, a.IMAP, tt.smtp, tt.imap)
			}
		})
	}
	m365 := account.Account{Auth: account.AuthMicrosoft}
	AccountDefaults(&m365)
	if m365.SMTP.Address == "" || m365.SMTP.Security == "" || m365.IMAP.Address == "" {
		t.Errorf("Microsoft 365 preset not applied: %+v", m365)
	}
}
