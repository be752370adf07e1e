// Package maildomain decides what securesend accepts as the domain of an
// e-mail address: a domain name, and nothing else. The organisation's
// policy reasons about domains (allowed recipient domains, domains that
// require encryption); an address literal such as dr@[192.0.2.10] or a
// bare IP address such as dr@192.0.2.10 names no domain, so no such rule
// could ever match it, and it would slip past them. The send package and
// the profile package both use this one rule.
package maildomain

import "strings"

// Valid reports whether d is a domain name securesend sends to (one label,
// such as localhost, is a name too): ASCII
// letters, digits and hyphens in labels of 1 to 63 characters that neither
// start nor end with a hyphen (RFC 1123), at least two labels, at most 253
// characters, no trailing dot, and a last label (the top-level domain) that
// is not all digits, so that an IPv4 address is not a domain name (RFC 3696
// section 2). Upper case is accepted; callers compare lower-cased domains.
// Address literals ("[192.0.2.10]", "[IPv6:2001:db8::1]") fail on their
// brackets.
func Valid(d string) bool {
	if len(d) == 0 || len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return false
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// OfAddress returns the part of the plain address addr after its last @,
// and whether it is a domain name (Valid).
func OfAddress(addr string) (domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return "", false
	}
	d := addr[i+1:]
	return d, Valid(d)
}
