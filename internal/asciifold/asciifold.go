// Package asciifold compares names the way DNS and e-mail addresses are
// compared: equal but for the case of ASCII letters.
package asciifold

// Equal reports whether a and b are equal but for the case of ASCII
// letters. Unlike strings.EqualFold it applies no Unicode case folding,
// which takes "\u212A" (KELVIN SIGN) for "k" and "\u017F" (LONG S) for
// "s": look-alike names that a resolver applying IDNA would send to
// another, punycode, domain, or that name another user.
func Equal(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
