package app

import (
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/receive"
)

// TestDocumentPathFromDesk: the Inbox reads a document from the path in
// its report only when the desk says it is a file to read as it is
// (desk.AppDocumentFile); otherwise, as for a stored document, it asks
// cfg.Document. A link put in the place of the written file is not
// followed (the app decided by filepath.IsAbs alone and opened it).
func TestDocumentPathFromDesk(t *testing.T) {
	stored := pdfFile(t, "rx.pdf", "%PDF-1.4\n")
	elsewhere := pdfFile(t, "other.pdf", "%PDF-1.4\n")
	link := filepath.Join(t.TempDir(), "prescription.pdf")
	if err := os.Symlink(elsewhere, link); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path, want string
		calls            int
	}{
		{"written to a folder", elsewhere, elsewhere, 0},
		{"a link in its place", link, stored, 1},
		{"in the inbox store", "doc-1.enc", stored, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := rxDoc[0]
			doc.Path = tt.path
			r := &receive.Report{Verdict: receive.Verified, From: "alice@clinic.test", Documents: []receive.Document{doc}}
			calls := 0
			u := inboxWith(t, stored, &calls, r)
			var opened []string
			u.cfg.OpenFile = func(p string) error { opened = append(opened, p); return nil }
			test.Tap(findButton(t, u.inbox.detail, "Open"))
			if len(opened) != 1 || opened[0] != tt.want || calls != tt.calls {
				t.Errorf("opened %q with %d call(s) of cfg.Document; want %q with %d:\n%s", opened, calls, tt.want, tt.calls, labelsIn(u.inbox.detail))
			}
		})
	}
}
