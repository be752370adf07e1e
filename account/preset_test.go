package account_test

import (
	"strings"
	"testing"

	"github.com/securesend/securesend/account"
)

func TestApplyPresetAndOAuthConfig(t *testing.T) {
	tests := []struct {
		name               string
		a                  account.Account
		smtp, imap         account.Server
		tokenPrefix, scope string
	}{
		{
			name:        "microsoft 365",
			a:           account.Account{Name: "m", Email: "gp@clinic.test", Auth: account.AuthMicrosoft, OAuth: &account.OAuthSettings{ClientID: "cid", Tenant: "clinic.onmicrosoft.com"}},
			smtp:        account.Server{Address: "smtp.office365.com:587", Security: account.StartTLS},
			imap:        account.Server{Address: "outlook.office365.com:993", Security: account.ImplicitTLS},
			tokenPrefix: "https://login.microsoftonline.com/clinic.onmicrosoft.com/oauth2/v2.0/token",
			scope:       "https://outlook.office.com/SMTP.Send",
		},
		{
			name:        "google",
			a:           account.Account{Name: "g", Email: "gp@clinic.test", Auth: account.AuthGoogle, OAuth: &account.OAuthSettings{ClientID: "cid"}},
			smtp:        account.Server{Address: "smtp.gmail.com:465", Security: account.ImplicitTLS},
			imap:        account.Server{Address: "imap.gmail.com:993", Security: account.ImplicitTLS},
			tokenPrefix: "https://oauth2.googleapis.com/token",
			scope:       "https://mail.google.com/",
		},
		{
			name: "explicit servers win",
			a: account.Account{Name: "x", Email: "gp@clinic.test", Auth: account.AuthMicrosoft, OAuth: &account.OAuthSettings{ClientID: "cid"},
				SMTP: account.Server{Address: "relay.clinic.test:465", Security: account.ImplicitTLS}},
			smtp:        account.Server{Address: "relay.clinic.test:465", Security: account.ImplicitTLS},
			imap:        account.Server{Address: "outlook.office365.com:993", Security: account.ImplicitTLS},
			tokenPrefix: "https://login.microsoftonline.com/organizations/",
			scope:       "offline_access",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			a.ApplyPreset()
			if a.SMTP != tt.smtp || a.IMAP != tt.imap {
				t.Errorf("servers %+v %+v, want %+v %+v", a.SMTP, a.IMAP, tt.smtp, tt.imap)
			}
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
			cfg, err := a.OAuthConfig("")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(cfg.TokenURL, tt.tokenPrefix) || !strings.Contains(strings.Join(cfg.Scopes, " "), tt.scope) {
				t.Errorf("config %+v", cfg)
			}
		})
	}
	p := passwordAccount("p")
	if _, err := p.OAuthConfig(""); err != account.ErrNotOAuth {
		t.Errorf("OAuthConfig of a password account = %v", err)
	}
}
