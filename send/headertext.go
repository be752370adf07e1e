package send

import (
	"encoding/base64"
	"mime"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// encodeText returns s ready for an unstructured header field such as
// Subject (RFC 5322 section 3.2.5). Plain printable ASCII is kept as is;
// anything else (non-ASCII, leading or trailing blanks, a tab or a run of
// blanks that folding a long line would change, a literal "=?" that a
// reader would take for an encoded word) becomes RFC 2047 encoded words, so
// the value reads back exactly as given.
func encodeText(s string) string {
	if plainText(s) {
		return s
	}
	return encodedWords(s)
}

// plainText reports whether s can appear verbatim in a header.
func plainText(s string) bool {
	if s == "" {
		return true
	}
	if strings.Contains(s, "=?") || strings.Contains(s, "  ") || s != strings.TrimSpace(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// encodedWords encodes all of s as "B" encoded words (RFC 2047) of at most
// 75 characters each, split on rune boundaries.
func encodedWords(s string) string {
	const maxRaw = 45 // 60 base64 characters + 12 of framing
	var b strings.Builder
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > maxRaw {
				break
			}
			n += size
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("=?utf-8?b?")
		b.WriteString(base64.StdEncoding.EncodeToString([]byte(s[:n])))
		b.WriteString("?=")
		s = s[n:]
	}
	return b.String()
}

// formatAddress formats a for an address header: the display name as a
// quoted string (printable ASCII) or as encoded words (anything else),
// then the address in angle brackets.
func formatAddress(a mail.Address) string {
	addr := (&mail.Address{Address: a.Address}).String()
	if a.Name == "" {
		return addr
	}
	if plainText(a.Name) {
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		return `"` + r.Replace(a.Name) + `" ` + addr
	}
	return encodedWords(a.Name) + " " + addr
}

// formatAddressList joins addresses with ", ".
func formatAddressList(as []mail.Address) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = formatAddress(a)
	}
	return strings.Join(parts, ", ")
}

// formatParams formats a Content-Type or Content-Disposition value with
// parameters; non-ASCII values use RFC 2231 extended notation (name*=utf-8).
func formatParams(value string, params map[string]string) string {
	return mime.FormatMediaType(value, params)
}
