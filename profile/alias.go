package profile

import (
	"fmt"
	"strings"
)

// MaxAliasLen is the longest relay alias.
const MaxAliasLen = 64

// ValidAliasName reports why name cannot be a relay alias, or nil: an
// alias is 1 to MaxAliasLen lower-case ASCII letters, digits, '.', '-' or
// '_', starting with a letter or digit (it becomes the local part of
// NAME@relay, typed on a scanner's keypad).
func ValidAliasName(name string) error {
	if name == "" || len(name) > MaxAliasLen {
		return fmt.Errorf("%q must be 1 to %d characters", name, MaxAliasLen)
	}
	for i, c := range name {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '-' || c == '_'):
		default:
			return fmt.Errorf("%q may hold only lower-case letters a-z, digits and . - _ (not first)", name)
		}
	}
	return nil
}

// relayAliases checks one entry's aliases: each valid and not used by an
// earlier entry (taken maps each alias seen to its field).
func (v *validator) relayAliases(field string, names []string, taken map[string]string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if err := ValidAliasName(n); err != nil {
			v.fail(field, ErrInvalidValue, "%v", err)
			return out
		}
		if prev, dup := taken[n]; dup {
			v.fail(field, ErrInvalidValue, "%q is already an alias in %s", n, prev)
			return out
		}
		taken[n] = strings.TrimSuffix(field, ".relay_aliases")
		out = append(out, n)
	}
	return out
}

// Alias returns the directory entry whose relay_aliases name name
// (compared in lower case). A nil profile has none.
func (p *Profile) Alias(name string) (Recipient, bool) {
	if p == nil {
		return Recipient{}, false
	}
	name = strings.ToLower(strings.TrimSpace(name))
	for _, r := range p.Recipients {
		for _, a := range r.RelayAliases {
			if a == name {
				return r, true
			}
		}
	}
	return Recipient{}, false
}
