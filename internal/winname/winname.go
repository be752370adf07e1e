// Package winname knows the file names Windows treats specially.
package winname

import "strings"

// Reserved reports whether Windows would open name as a device (CON,
// NUL, COM1, CONIN$, ...): it looks at the part before the first dot,
// ignoring trailing spaces and dots, case-insensitively ("nul.tar.gz",
// "CON .pdf", "com\u00b9.pdf").
func Reserved(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	base = strings.ToUpper(strings.TrimRight(base, " ."))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$":
		return true
	}
	if len(base) >= 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) {
		switch base[3:] {
		case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "\u00b9", "\u00b2", "\u00b3":
			return true
		}
	}
	return false
}
