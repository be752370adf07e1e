package doccheck

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzTIFFPages: the IFD walk never panics or loops on any input.
func FuzzTIFFPages(f *testing.F) {
	f.Add(multiTIFF(2, 4, 4, false))
	f.Add(multiTIFF(2, 4, 4, true))
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := tiffPages(bytes.NewReader(b))
		if err == nil && (n < 1 || n > maxTIFFPages) {
			t.Fatalf("%d pages", n)
		}
	})
}

// FuzzCheck: Check never panics on any file content (a hostile scan must
// not crash the app) and either accepts with a kind or gives a reason.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"))
	f.Add(multiTIFF(1, 2, 2, false))
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
	f.Add([]byte("\xFF\xD8\xFF\xE0"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "in")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		info, err := Check(p)
		if err == nil && info.Kind == "" {
			t.Fatal("accepted without a kind")
		}
		var de *Error
		if err != nil && (!errors.As(err, &de) || de.Reason == "") {
			t.Fatalf("error without a reason: %v", err)
		}
	})
}
