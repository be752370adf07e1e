// Package fieldform checks the form of the values that securesend's
// signed JSON parts (the manifest, the acknowledgement) carry: text that
// is safe to show, Message-IDs, e-mail addresses and SHA-256 hashes.
//
// Each check returns nil or an error whose text is a predicate ("is not a
// SHA-256 (64 hex digits)") for the caller to put after the field's name;
// no error quotes the value.
package fieldform

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/securesend/securesend/internal/termsafe"
)

// Limits of the forms.
const (
	// MaxMessageID is the longest Message-ID, in characters (RFC 5322's
	// line limit).
	MaxMessageID = 998
	// MaxAddress is the longest e-mail address, in characters.
	MaxAddress = 254
)

// specials are the characters neither a Message-ID nor an address (as
// securesend writes them) may hold.
const specials = `<>"\()[],;:`

// Text refuses s if it is not valid UTF-8, is longer than max bytes, or
// holds a control, bidi, invisible or separator character
// (termsafe.Unsafe). The empty string passes.
func Text(s string, max int) error {
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	if len(s) > max {
		return fmt.Errorf("is longer than %d bytes", max)
	}
	for _, r := range s {
		if termsafe.Unsafe(r) {
			return fmt.Errorf("contains a control, bidi or invisible character (%U)", r)
		}
	}
	return nil
}

// MessageID refuses id unless it is printable ASCII of the form
// local@domain, without spaces, angle brackets, quotes or other specials,
// at most MaxMessageID characters.
func MessageID(id string) error {
	if id == "" {
		return errors.New("is missing")
	}
	if len(id) > MaxMessageID {
		return fmt.Errorf("is longer than %d characters", MaxMessageID)
	}
	local, domain, ok := strings.Cut(id, "@")
	if !ok || local == "" || domain == "" {
		return errors.New("is not of the form local@domain")
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(specials, c) >= 0 {
			return errors.New("is not of the form local@domain (it contains a character a Message-ID cannot)")
		}
	}
	return nil
}

// Address refuses a unless it is a lower-case ASCII addr-spec
// local@domain without spaces, quotes or other specials, at most
// MaxAddress characters.
func Address(a string) error {
	if a == "" {
		return errors.New("is missing")
	}
	if len(a) > MaxAddress {
		return errors.New("is longer than an e-mail address can be")
	}
	local, domain, ok := strings.Cut(a, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return errors.New("is not an e-mail address")
	}
	for i := 0; i < len(a); i++ {
		if c := a[i]; c <= ' ' || c >= 0x7f || (c >= 'A' && c <= 'Z') || strings.IndexByte(specials, c) >= 0 {
			return errors.New("is not a lower-case e-mail address")
		}
	}
	return nil
}

// SHA256 refuses s unless it is 64 lower-case hex digits.
func SHA256(s string) error {
	if len(s) != 64 {
		return errors.New("is not a SHA-256 (64 hex digits)")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return errors.New("is not a SHA-256 in lower-case hex")
		}
	}
	return nil
}
