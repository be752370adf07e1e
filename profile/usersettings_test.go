package profile

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// An edited user settings file cannot lower the minimum TLS version, turn
// off required encryption, or open a domain; it can tighten.
func TestEditedUserSettingsFileCannotLoosen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, UserSettingsFile)
	if u, err := ReadUserSettings(path); err != nil || u.MinTLS != "" {
		t.Fatalf("missing file: %+v %v", u, err)
	}
	org := unlocked(t)
	org.Policy.MinTLS = "1.3"
	os.WriteFile(path, []byte(`# edited by hand
min_tls = "1.0"
encryption = "auto"
allowed_recipient_domains = ["gmail.com"]
max_attachment_mb = 500
require_requiretls = false
`), 0o600)
	u, err := ReadUserSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	p := Effective(org, u)
	if p.MinTLS() != tls.VersionTLS13 || p.Encryption() != EncryptDomains || p.Allowed("x@gmail.com") || p.MaxAttachmentBytes() != 20<<20 {
		t.Fatalf("file loosened the policy: %x %q gmail=%v %d", p.MinTLS(), p.Encryption(), p.Allowed("x@gmail.com"), p.MaxAttachmentBytes())
	}
	if len(p.Notes()) < 4 {
		t.Errorf("ignored values not reported: %q", p.Notes())
	}
	os.WriteFile(path, []byte("require_requiretls = true\nencryption = \"always\"\n"), 0o600)
	u, _ = ReadUserSettings(path)
	if p := Effective(org, u); !p.RequireTLS() || p.Encryption() != EncryptAlways {
		t.Errorf("file could not tighten: %+v", p)
	}
}

func TestParseUserSettingsErrors(t *testing.T) {
	cases := []struct {
		data  string
		field string
		line  int
		kind  error
	}{
		{"min_tls = \"1.3\"\nminimum_tls = \"1.0\"\n", "minimum_tls", 2, ErrUnknownField},
		{"\nmin_tls = 1.3\n", "min_tls", 2, ErrWrongType},
		{"require_requiretls = \"yes\"\n", "require_requiretls", 1, ErrWrongType},
		{"min_tls = \"1.3\n", "min_tls", 1, ErrSyntax},
	}
	for _, c := range cases {
		_, err := ParseUserSettings([]byte(c.data))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || fe.Line != c.line || !errors.Is(err, c.kind) {
			t.Errorf("%q: %v (%+v)", c.data, err, fe)
		}
	}
}

func TestCheckAccount(t *testing.T) {
	org := orgProfile(t) // locks "accounts"; one template smtp.kowhai.example.nz:465 tls, imap :993 tls, password
	good := AccountSettings{SMTPHost: "SMTP.kowhai.example.nz", SMTPPort: 465, SMTPSecurity: "tls", IMAPHost: "imap.kowhai.example.nz", IMAPPort: 993, IMAPSecurity: "tls", Auth: "password"}
	sendOnly := good
	sendOnly.IMAPHost = ""
	otherHost := good
	otherHost.SMTPHost = "smtp.gmail.com"
	starttls := good
	starttls.SMTPSecurity, starttls.SMTPPort = "starttls", 587
	oauth := good
	oauth.Auth = "microsoft"
	pol := Effective(org)
	for _, c := range []struct {
		name string
		a    AccountSettings
		ok   bool
	}{{"template", good, true}, {"send-only from template", sendOnly, true}, {"other host", otherHost, false}, {"other security", starttls, false}, {"other sign-in", oauth, false}} {
		err := pol.CheckAccount(c.a)
		if (err == nil) != c.ok || (!c.ok && !errors.Is(err, ErrAccountNotAllowed)) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if err := Effective(unlocked(t)).CheckAccount(otherHost); err != nil {
		t.Errorf("unlocked: %v", err)
	}
	if err := Effective(nil).CheckAccount(otherHost); err != nil || Effective(nil).Templates() != nil {
		t.Errorf("no profile: %v", err)
	}
	if len(pol.Templates()) != 1 {
		t.Error("Templates")
	}
	// an OAuth template matches the account package's provider names
	org.Accounts[0].Auth, org.Accounts[0].OAuthProvider = "oauth2", "microsoft"
	if err := Effective(org).CheckAccount(oauth); err != nil {
		t.Errorf("oauth template: %v", err)
	}
}
