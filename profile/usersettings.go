package profile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/BurntSushi/toml"
)

// UserSettingsFile is the name of the user's own security settings file in
// the securesend home.
const UserSettingsFile = "security.toml"

type rawUser struct {
	MinTLS                  string   `toml:"min_tls"`
	Encryption              string   `toml:"encryption"`
	EncryptDomains          []string `toml:"encrypt_domains"`
	RequireREQUIRETLS       bool     `toml:"require_requiretls"`
	AllowedRecipientDomains []string `toml:"allowed_recipient_domains"`
	MaxAttachmentMB         int      `toml:"max_attachment_mb"`
	AcknowledgementWait     string   `toml:"acknowledgement_wait"`
}

// ParseUserSettings reads the user's security settings file: the keys of the
// profile's [policy] section that a user may set (min_tls, encryption,
// encrypt_domains, require_requiretls, allowed_recipient_domains,
// max_attachment_mb, acknowledgement_wait) at top level. Unknown fields and wrong types are
// *FieldError. Values are not judged here: Effective ignores (and notes) any
// that would loosen the organisation's policy, so editing this file can only
// ever tighten it.
func ParseUserSettings(data []byte) (UserSettings, error) {
	src := string(data)
	ix := indexLines(src)
	var raw rawUser
	md, err := toml.Decode(src, &raw)
	if err != nil {
		return UserSettings{}, decodeError(err, ix)
	}
	if und := md.Undecoded(); len(und) > 0 {
		field, line := ix.find(und[0].String())
		return UserSettings{}, &FieldError{Field: field, Line: line, Kind: ErrUnknownField, Detail: "not a user security setting"}
	}
	var wait time.Duration
	if raw.AcknowledgementWait != "" {
		if wait, err = time.ParseDuration(raw.AcknowledgementWait); err != nil || wait <= 0 {
			field, line := ix.find("acknowledgement_wait")
			return UserSettings{}, &FieldError{Field: field, Line: line, Kind: ErrInvalidValue, Detail: `not a duration such as "2h"`}
		}
	}
	return UserSettings{
		MinTLS: raw.MinTLS, Encryption: Encryption(raw.Encryption), EncryptDomains: raw.EncryptDomains,
		RequireREQUIRETLS: raw.RequireREQUIRETLS, AllowedRecipientDomains: raw.AllowedRecipientDomains,
		MaxAttachmentMB: raw.MaxAttachmentMB, AcknowledgementWait: wait,
	}, nil
}

// ReadUserSettings reads path with ParseUserSettings; a missing file is no
// preference (the zero UserSettings).
func ReadUserSettings(path string) (UserSettings, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return UserSettings{}, nil
	}
	if err != nil {
		return UserSettings{}, fmt.Errorf("profile: user settings: %w", err)
	}
	u, err := ParseUserSettings(data)
	if err != nil {
		return UserSettings{}, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}
