package send

import (
	"encoding/base64"
	"mime"
	"net/mail"
	"sort"
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
// So does a value with a run of blanks: a reader trims the blanks before a
// line fold, so folding a long header line inside a quoted string could
// change it.
func formatParams(value string, params map[string]string) string {
	plain := make(map[string]string, len(params))
	var extended []string
	for k, v := range params {
		if strings.Contains(v, "  ") || strings.Contains(v, "\t") {
			extended = append(extended, k)
			continue
		}
		plain[k] = v
	}
	s := mime.FormatMediaType(value, plain)
	if s == "" {
		return ""
	}
	sort.Strings(extended)
	for _, k := range extended {
		s += "; " + k + "*=utf-8''" + percentEncode(params[k])
	}
	return s
}

// percentEncode encodes v as an RFC 2231 extended value: every byte that
// is not an attribute character becomes %XX.
func percentEncode(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c > ' ' && c < 0x7f && !strings.ContainsRune("*'%()<>@,;:\\\"/[]?=", rune(c)) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
