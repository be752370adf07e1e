package account

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"regexp"
	"strconv"
	"strings"

	"github.com/securesend/securesend/account/oauth"
)

// Security says how TLS is set up with a server.
type Security string

// Security modes. There is no plaintext mode.
const (
	// ImplicitTLS: TLS from the first byte (SMTP 465, IMAP 993; RFC 8314).
	ImplicitTLS Security = "tls"
	// StartTLS: plaintext greeting upgraded with STARTTLS (SMTP 587,
	// IMAP 143) before anything else.
	StartTLS Security = "starttls"
)

// AuthMethod says how the account signs in.
type AuthMethod string

// Sign-in methods.
const (
	// AuthPassword: user name and password (from the keychain) with SASL
	// PLAIN or LOGIN inside TLS.
	AuthPassword AuthMethod = "password"
	// AuthMicrosoft: OAuth 2.0 with Microsoft 365 (Entra ID).
	AuthMicrosoft AuthMethod = "microsoft"
	// AuthGoogle: OAuth 2.0 with Google.
	AuthGoogle AuthMethod = "google"
	// AuthOAuth: OAuth 2.0 with another identity provider, whose endpoints
	// are in Account.OAuth.
	AuthOAuth AuthMethod = "oauth"
)

// Server is one mail server of an account.
type Server struct {
	// Address is host:port.
	Address  string   `json:"address"`
	Security Security `json:"security"`
}

// Host is the host part of Address.
func (s Server) Host() string {
	h, _, err := net.SplitHostPort(s.Address)
	if err != nil {
		return s.Address
	}
	return h
}

// OAuthSettings are the non-secret parts of an OAuth 2.0 client
// registration. A client secret, if the provider needs one, is in the
// keychain.
type OAuthSettings struct {
	ClientID string `json:"client_id"`
	// Tenant is the Microsoft directory (tenant ID or domain); "organizations"
	// when empty.
	Tenant string `json:"tenant,omitempty"`
	// AuthURL, TokenURL and Scopes override the preset (and are required for
	// AuthOAuth).
	AuthURL  string   `json:"auth_url,omitempty"`
	TokenURL string   `json:"token_url,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
}

// Account is one mailbox. It holds no secret.
type Account struct {
	// Name is the short name used on the command line (--account NAME).
	Name string `json:"name"`
	// Email is the mailbox's address, used as the sender.
	Email string `json:"email"`
	SMTP  Server `json:"smtp"`
	IMAP  Server `json:"imap"`
	// CAFile is a PEM file of extra trusted CA certificates (a private CA);
	// the system roots are always trusted as well.
	CAFile string `json:"ca_file,omitempty"`
	// User is the sign-in name; Email when empty.
	User string     `json:"user,omitempty"`
	Auth AuthMethod `json:"auth"`
	// OAuth is set for the OAuth methods.
	OAuth *OAuthSettings `json:"oauth,omitempty"`
	// RequireTLS makes REQUIRETLS (RFC 8689) mandatory when sending.
	RequireTLS bool `json:"require_tls,omitempty"`

	// lockDir is where the lock file of its OAuth refresh is (the folder of
	// accounts.json), set by the Store it came from; see RefreshStore.
	lockDir string
}

// Login is the user name to authenticate with.
func (a *Account) Login() string {
	if a.User != "" {
		return a.User
	}
	return a.Email
}

// IsOAuth reports whether the account signs in with OAuth 2.0.
func (a *Account) IsOAuth() bool {
	return a.Auth == AuthMicrosoft || a.Auth == AuthGoogle || a.Auth == AuthOAuth
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidName reports whether name is one Validate accepts as an account's
// name: 1 to 64 letters, digits, '.', '_' or '-', not starting with
// '.', '_' or '-'.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// Validate checks the settings.
func (a *Account) Validate() error {
	if !nameRE.MatchString(a.Name) {
		return fmt.Errorf("account: name %q: use 1-64 letters, digits, '.', '_' or '-'", a.Name)
	}
	if _, err := mail.ParseAddress(a.Email); err != nil || strings.ContainsAny(a.Email, "<> ") {
		return fmt.Errorf("account %s: %q is not an e-mail address", a.Name, a.Email)
	}
	for _, s := range []struct {
		what string
		srv  Server
	}{{"SMTP", a.SMTP}, {"IMAP", a.IMAP}} {
		if s.srv.Address == "" && s.what == "IMAP" {
			continue // a send-only account
		}
		host, port, err := net.SplitHostPort(s.srv.Address)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("account %s: %s server %q: want host:port", a.Name, s.what, s.srv.Address)
		}
		if s.srv.Security != ImplicitTLS && s.srv.Security != StartTLS {
			return fmt.Errorf("account %s: %s security %q: want %q or %q", a.Name, s.what, s.srv.Security, ImplicitTLS, StartTLS)
		}
	}
	switch a.Auth {
	case AuthPassword:
	case AuthMicrosoft, AuthGoogle, AuthOAuth:
		if _, err := a.OAuthConfig(""); err != nil {
			return fmt.Errorf("account %s: %w", a.Name, err)
		}
	default:
		return fmt.Errorf("account %s: auth %q: want password, microsoft, google or oauth", a.Name, a.Auth)
	}
	return nil
}

// ErrNotOAuth is returned by OAuthConfig for a password account.
var ErrNotOAuth = errors.New("account: this account signs in with a password, not OAuth")

// OAuthConfig returns the OAuth 2.0 client configuration of the account:
// the provider preset overridden by Account.OAuth. clientSecret comes from
// the keychain (see Store.ClientSecret) and may be empty.
func (a *Account) OAuthConfig(clientSecret string) (oauth.Config, error) {
	if !a.IsOAuth() {
		return oauth.Config{}, ErrNotOAuth
	}
	var s OAuthSettings
	if a.OAuth != nil {
		s = *a.OAuth
	}
	var cfg oauth.Config
	if p, ok := oauth.PresetByName(string(a.Auth), s.Tenant); ok {
		cfg = p.Config(s.ClientID, clientSecret)
	} else {
		cfg = oauth.Config{ClientID: s.ClientID, ClientSecret: clientSecret}
	}
	if s.AuthURL != "" {
		cfg.AuthURL = s.AuthURL
	}
	if s.TokenURL != "" {
		cfg.TokenURL = s.TokenURL
	}
	if len(s.Scopes) > 0 {
		cfg.Scopes = s.Scopes
	}
	if err := cfg.Validate(); err != nil {
		return oauth.Config{}, err
	}
	return cfg, nil
}

// ApplyPreset fills empty server settings from the provider preset of the
// account's auth method (Microsoft 365 or Google).
func (a *Account) ApplyPreset() {
	tenant := ""
	if a.OAuth != nil {
		tenant = a.OAuth.Tenant
	}
	p, ok := oauth.PresetByName(string(a.Auth), tenant)
	if !ok {
		return
	}
	if a.SMTP.Address == "" {
		a.SMTP = Server{Address: p.SMTP, Security: Security(p.SMTPSecurity)}
	}
	if a.IMAP.Address == "" {
		a.IMAP = Server{Address: p.IMAP, Security: Security(p.IMAPSecurity)}
	}
}
