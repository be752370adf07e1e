package oauth

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// Config describes one OAuth 2.0 client registration at an identity
// provider. Its zero value is not usable: ClientID, AuthURL and TokenURL are
// required.
type Config struct {
	// ClientID is the public client's identifier at the provider.
	ClientID string
	// ClientSecret is sent to the token endpoint when set. Public desktop
	// clients usually have none; Google's "desktop app" clients have one that
	// is not confidential. Keep it in the keychain, not in a config file.
	ClientSecret string
	// AuthURL and TokenURL are the provider's authorization and token
	// endpoints. Both must be https unless the host is a loopback address.
	AuthURL  string
	TokenURL string
	// Scopes are requested at sign-in.
	Scopes []string
	// AuthParams are extra query parameters for the authorization request
	// (for example Google's access_type=offline).
	AuthParams map[string]string
}

// Validate reports a missing field or a non-https endpoint.
func (c Config) Validate() error {
	if c.ClientID == "" {
		return errors.New("oauth: no client ID is configured for this account")
	}
	for _, e := range []struct{ name, u string }{{"authorization", c.AuthURL}, {"token", c.TokenURL}} {
		if e.u == "" {
			return fmt.Errorf("oauth: no %s endpoint is configured for this account", e.name)
		}
		u, err := url.Parse(e.u)
		if err != nil || u.Host == "" {
			return fmt.Errorf("oauth: the %s endpoint %q is not a valid URL", e.name, e.u)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
			return fmt.Errorf("oauth: the %s endpoint %q must use https", e.name, e.u)
		}
	}
	return nil
}

func (c Config) oauth2(redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   c.AuthURL,
			TokenURL:  c.TokenURL,
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: redirectURL,
		Scopes:      c.Scopes,
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Preset is what securesend knows about a large mail provider: its OAuth
// endpoints and scopes and its submission and retrieval servers.
type Preset struct {
	// Name is the --auth value: "microsoft" or "google".
	Name string
	// SMTP is the submission server, host:port; SMTPSecurity is "tls"
	// (implicit TLS) or "starttls".
	SMTP         string
	SMTPSecurity string
	// IMAP is the retrieval server, host:port, with IMAPSecurity as above.
	IMAP         string
	IMAPSecurity string
	// AuthURL, TokenURL, Scopes and AuthParams fill a Config.
	AuthURL    string
	TokenURL   string
	Scopes     []string
	AuthParams map[string]string
}

// Config returns the Config for this preset with the given client.
func (p Preset) Config(clientID, clientSecret string) Config {
	params := make(map[string]string, len(p.AuthParams))
	for k, v := range p.AuthParams {
		params[k] = v
	}
	return Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		AuthURL:      p.AuthURL,
		TokenURL:     p.TokenURL,
		Scopes:       append([]string(nil), p.Scopes...),
		AuthParams:   params,
	}
}

// Microsoft is the Microsoft 365 (Exchange Online) preset for tenant, which
// is a directory (tenant) ID or domain, or "organizations" when empty.
// SMTP AUTH uses smtp.office365.com:587 with STARTTLS, IMAP
// outlook.office365.com:993.
func Microsoft(tenant string) Preset {
	if tenant == "" {
		tenant = "organizations"
	}
	base := "https://login.microsoftonline.com/" + url.PathEscape(tenant) + "/oauth2/v2.0/"
	return Preset{
		Name:         "microsoft",
		SMTP:         "smtp.office365.com:587",
		SMTPSecurity: "starttls",
		IMAP:         "outlook.office365.com:993",
		IMAPSecurity: "tls",
		AuthURL:      base + "authorize",
		TokenURL:     base + "token",
		Scopes: []string{
			"https://outlook.office.com/SMTP.Send",
			"https://outlook.office.com/IMAP.AccessAsUser.All",
			"offline_access",
		},
	}
}

// Google is the Google Workspace / Gmail preset: smtp.gmail.com:465 with
// implicit TLS, imap.gmail.com:993, scope https://mail.google.com/.
func Google() Preset {
	return Preset{
		Name:         "google",
		SMTP:         "smtp.gmail.com:465",
		SMTPSecurity: "tls",
		IMAP:         "imap.gmail.com:993",
		IMAPSecurity: "tls",
		AuthURL:      "https://accounts.google.com/o/oauth2/v2/auth",
		TokenURL:     "https://oauth2.googleapis.com/token",
		Scopes:       []string{"https://mail.google.com/"},
		// A refresh token is only issued for offline access.
		AuthParams: map[string]string{"access_type": "offline", "prompt": "consent"},
	}
}

// PresetByName returns the preset named "microsoft" (for tenant) or "google".
func PresetByName(name, tenant string) (Preset, bool) {
	switch name {
	case "microsoft":
		return Microsoft(tenant), true
	case "google":
		return Google(), true
	}
	return Preset{}, false
}
