package send

import (
	"bytes"
	"mime"
	"path/filepath"
	"strings"
)

// sniffLen is how many leading bytes of a document detectType looks at.
const sniffLen = 16

// magic lists the signatures of the scanner formats securesend expects.
var magic = []struct {
	prefix      []byte
	contentType string
}{
	{[]byte("%PDF-"), "application/pdf"},
	{[]byte("II*\x00"), "image/tiff"},
	{[]byte("MM\x00*"), "image/tiff"},
	{[]byte("\xff\xd8\xff"), "image/jpeg"},
	{[]byte("\x89PNG\r\n\x1a\n"), "image/png"},
}

// byExtension maps the common scan extensions, so detection does not
// depend on the host's mime.types.
var byExtension = map[string]string{
	".pdf":  "application/pdf",
	".tif":  "image/tiff",
	".tiff": "image/tiff",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".png":  "image/png",
	".txt":  "text/plain",
}

// detectType returns the media type of a document from its first bytes
// (PDF, TIFF, JPEG, PNG signatures win) and otherwise from its file name,
// falling back to application/octet-stream.
func detectType(name string, head []byte) string {
	for _, m := range magic {
		if bytes.HasPrefix(head, m.prefix) {
			return m.contentType
		}
	}
	ext := strings.ToLower(filepath.Ext(name))
	if t, ok := byExtension[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		if mt, _, err := mime.ParseMediaType(t); err == nil {
			return mt
		}
	}
	return "application/octet-stream"
}
