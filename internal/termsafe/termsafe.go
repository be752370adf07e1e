// Package termsafe makes text that comes from a message or a key safe to
// show: on a terminal, where control characters and escape sequences move
// the cursor, recolour or erase what was printed before (a forged VERIFIED
// over a NOT VERIFIED banner), and in the GUI, where bidi overrides and
// invisible characters make a name or subject read differently from what
// it is.
//
// Nothing is dropped silently: each unsafe character is replaced by a
// visible stand-in, so the reader sees that the text carried something
// odd. C0 controls and DEL become Go-style escapes ("\x1b"), every other
// control, bidi, invisible formatting or separator character becomes
// "<U+202E>", and invalid UTF-8 becomes U+FFFD.
package termsafe

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// String returns s safe to print on one line: every control character
// (newline and tab included), bidi control, invisible format character
// and line or paragraph separator is shown as a visible escape, and
// invalid UTF-8 is replaced by U+FFFD. Printable text, including
// non-Latin scripts and emoji, is unchanged.
func String(s string) string { return clean(s, false) }

// Text is String for multi-line text such as a note: line feeds are kept
// (a CR LF pair becomes a line feed; a lone CR is escaped, since it would
// return the cursor over the line), tabs are kept, everything else is as
// in String.
func Text(s string) string { return clean(s, true) }

// Lines is Text split into its lines, for printing each with an indent.
func Lines(s string) []string {
	return strings.Split(Text(s), "\n")
}

// Key returns text from a key (user IDs, addresses) safe to show: every
// character that is not graphic (controls, bidi and other invisible format
// characters) is shown as <U+XXXX>, so a user ID cannot reorder or hide
// what is displayed, and invalid UTF-8 as U+FFFD.
func Key(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			b.WriteRune(utf8.RuneError)
		case strconv.IsGraphic(r):
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "<U+%04X>", r)
		}
	}
	return b.String()
}

// Unsafe reports whether r is shown as an escape: C0 and C1 controls,
// DEL, format characters (bidi controls, zero-width characters, soft
// hyphen, tag characters), line and paragraph separators, private-use
// characters (a font may draw them as anything) and noncharacters.
func Unsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f:
		return true
	case r < 0x7f:
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Bidi_Control,
		unicode.Zl, unicode.Zp, unicode.Co, unicode.Noncharacter_Code_Point)
}

func clean(s string, multiline bool) string {
	if isClean(s, multiline) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteRune(utf8.RuneError)
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case multiline && r == '\r' && i+1 < len(s) && s[i+1] == '\n':
			// CR LF: the LF is written next.
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case Unsafe(r):
			fmt.Fprintf(&b, "<U+%04X>", r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// isClean is the fast path: true when s needs no change.
func isClean(s string, multiline bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 || c == 0x7f) && !(multiline && (c == '\n' || c == '\t')) {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size <= 1) || Unsafe(r) {
			return false
		}
		i += size
	}
	return true
}

// JSON returns the JSON text doc with every unsafe non-ASCII character
// (C1 controls, bidi and other format characters, separators, private
// use, noncharacters) written as a \u escape, so that JSON printed on a
// terminal cannot reorder or hide what it shows. The JSON value is
// unchanged: those characters can only occur inside strings, where the
// escape means the same character. DEL is escaped too; encoding/json
// already escapes the other ASCII controls and replaces invalid UTF-8.
func JSON(doc []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(doc); {
		if doc[i] < utf8.RuneSelf && doc[i] != 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRune(doc[i:])
		if r == utf8.RuneError && size <= 1 {
			// Not from encoding/json; keep the document valid UTF-8.
			out = append(out, doc[last:i]...)
			out = append(out, `\ufffd`...)
			i += size
			last = i
			continue
		}
		if !Unsafe(r) {
			i += size
			continue
		}
		out = append(out, doc[last:i]...)
		if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += size
		last = i
	}
	if out == nil {
		return doc
	}
	return append(out, doc[last:]...)
}
