package doccheck

import (
	"path/filepath"
	"strings"
)

// SniffLen is how many leading bytes Openable needs to see.
const SniffLen = 16

// extKinds are the file name extensions each kind may be opened under.
var extKinds = map[string]Kind{
	".pdf":  PDF,
	".tif":  TIFF,
	".tiff": TIFF,
	".jpg":  JPEG,
	".jpeg": JPEG,
	".png":  PNG,
}

// Openable decides whether a received document may be handed to the
// system's viewer with a click: only the kinds the product sends (PDF,
// TIFF, JPEG, PNG), and only when its content (head, its first SniffLen
// bytes or more) is that kind AND its name ends with an extension of that
// same kind, since the system picks the program by the name. kind is what
// the content is ("" when none of the four); ok is false when the name
// and content disagree or the content is not one of them. Anything not
// ok may be saved, with a warning, but never launched: "report.pdf.exe",
// "x.desktop", "evil.html", or an executable named "scan.pdf".
func Openable(name string, head []byte) (kind string, ok bool) {
	k, why := sniff(head)
	if why != "" {
		return "", false
	}
	ext := strings.ToLower(filepath.Ext(name))
	want, known := extKinds[ext]
	return string(k), known && want == k
}
