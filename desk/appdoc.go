package desk

import (
	"os"
	"path/filepath"

	"github.com/securesend/securesend/receive"
)

// AppDocumentFile is the file a front end may read document n of report r
// from as it stands, or "" when there is none to read directly.
//
// A report of a message verified into a folder (VerifyOptions.Extract)
// names the file each document was written to. A report from the inbox
// store names the store's encrypted copy inside its item instead
// ("doc-1.enc", relative to the item, never a path to open): that
// document is read through Setup.Document, which decrypts it by the
// rules of OpenDocument. A document of a withheld message is never
// readable, and a path that is not an existing regular file (a folder, a
// link put in its place, a file since removed) is not handed out.
func AppDocumentFile(r *receive.Report, n int) string {
	if r == nil || Withheld(r) || n < 0 || n >= len(r.Documents) {
		return ""
	}
	p := r.Documents[n].Path
	// A store name is relative: read as a path it would be looked up in
	// the working directory.
	if p == "" || !filepath.IsAbs(p) {
		return ""
	}
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return p
}
