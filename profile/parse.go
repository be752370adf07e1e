package profile

import (
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// MaxSize is the largest profile file accepted (directory keys included).
const MaxSize = 4 << 20

// rawProfile mirrors the file; see docs/profile.md.
type rawProfile struct {
	Format       int          `toml:"format"`
	Serial       int64        `toml:"serial"`
	Locked       []string     `toml:"locked"`
	Organisation rawOrg       `toml:"organisation"`
	Policy       rawPolicy    `toml:"policy"`
	Account      []rawAccount `toml:"account"`
	Recipient    []rawRecip   `toml:"recipient"`
}

type rawOrg struct {
	Name          string `toml:"name"`
	LogoPNGBase64 string `toml:"logo_png_base64"`
}

type rawPolicy struct {
	MinTLS                  string   `toml:"min_tls"`
	Encryption              string   `toml:"encryption"`
	EncryptDomains          []string `toml:"encrypt_domains"`
	RequireREQUIRETLS       bool     `toml:"require_requiretls"`
	AllowedRecipientDomains []string `toml:"allowed_recipient_domains"`
	MaxAttachmentMB         int      `toml:"max_attachment_mb"`
	UsersMayAddRecipients   bool     `toml:"users_may_add_recipients"`
	UsersMayAddKeys         bool     `toml:"users_may_add_keys"`
	Acknowledgements        string   `toml:"acknowledgements"`
	AcknowledgementWait     string   `toml:"acknowledgement_wait"`
}

type rawAccount struct {
	Name          string `toml:"name"`
	SMTPHost      string `toml:"smtp_host"`
	SMTPPort      int    `toml:"smtp_port"`
	SMTPSecurity  string `toml:"smtp_security"`
	IMAPHost      string `toml:"imap_host"`
	IMAPPort      int    `toml:"imap_port"`
	IMAPSecurity  string `toml:"imap_security"`
	Auth          string `toml:"auth"`
	OAuthProvider string `toml:"oauth_provider"`
	OAuthTenant   string `toml:"oauth_tenant"`
	OAuthClientID string `toml:"oauth_client_id"`
	CAPEM         string `toml:"ca_pem"`
}

type rawRecip struct {
	Name          string   `toml:"name"`
	Email         string   `toml:"email"`
	Organisation  string   `toml:"organisation"`
	HPIOrgID      string   `toml:"hpi_org_id"`
	HPIFacilityID string   `toml:"hpi_facility_id"`
	PublicKey     string   `toml:"public_key"`
	RelayAliases  []string `toml:"relay_aliases"`
}

// Parse reads and validates a profile file. It does not check the signature;
// use Verify or Load for a profile that will be trusted. Every error is a
// *FieldError naming the field and line.
func Parse(data []byte) (*Profile, error) {
	if len(data) > MaxSize {
		return nil, &FieldError{Kind: ErrInvalidValue, Detail: "file is larger than 4 MiB"}
	}
	src := string(data)
	ix := indexLines(src)
	var raw rawProfile
	md, err := toml.Decode(src, &raw)
	if err != nil {
		return nil, decodeError(err, ix)
	}
	if und := md.Undecoded(); len(und) > 0 {
		field, line := ix.find(und[0].String())
		return nil, &FieldError{Field: field, Line: line, Kind: ErrUnknownField,
			Detail: "not part of profile format 1 (check the spelling against docs/profile.md)"}
	}
	v := validator{md: md, ix: ix}
	p := v.profile(&raw)
	if v.err != nil {
		return nil, v.err
	}
	p.raw = append([]byte(nil), data...)
	return p, nil
}

var lastKeyRE = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]*)"\): (.*)$`)

// decodeError turns a TOML decoder error into a *FieldError.
func decodeError(err error, ix lineIndex) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &FieldError{Field: pe.LastKey, Line: pe.Position.Line, Kind: ErrSyntax, Detail: pe.Message}
	}
	m := lastKeyRE.FindStringSubmatch(err.Error())
	if m == nil {
		return &FieldError{Kind: ErrSyntax, Detail: err.Error()}
	}
	field, line := ix.find(m[2])
	if m[1] != "" {
		line, _ = strconv.Atoi(m[1])
	}
	detail := m[3]
	if strings.Contains(detail, "incompatible types") {
		detail = strings.TrimPrefix(detail, "incompatible types: ")
		return &FieldError{Field: field, Line: line, Kind: ErrWrongType, Detail: detail}
	}
	return &FieldError{Field: field, Line: line, Kind: ErrInvalidValue, Detail: detail}
}
