package send

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
)

// NewMessageID returns a fresh, random Message-ID (RFC 5322 section 3.6.4)
// for domain, without angle brackets: 26 random base32 characters, "@",
// domain. Generate it once per message, before the first attempt, and keep
// it for every retry. An empty domain becomes "localhost".
func NewMessageID(domain string) (string, error) {
	if domain == "" {
		domain = "localhost"
	}
	if !isDotAtom(domain) {
		return "", fmt.Errorf("send: message id: %q is not a usable domain", domain)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("send: message id: %w", err)
	}
	local := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
	return local + "@" + domain, nil
}

// isDotAtom reports whether s is an RFC 5322 dot-atom-text made of letters,
// digits, '-', '_' and '.', which is what a Message-ID half may safely be.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("-_.+=", r):
		default:
			return false
		}
	}
	return true
}

// validMessageID reports whether id is an acceptable Message-ID without
// angle brackets: local@domain, both dot-atoms.
func validMessageID(id string) bool {
	local, domain, ok := strings.Cut(id, "@")
	return ok && isDotAtom(local) && isDotAtom(domain)
}
