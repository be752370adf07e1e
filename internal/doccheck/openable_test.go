package doccheck

import "testing"

func TestOpenable(t *testing.T) {
	pdf := []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	tiffLE := []byte("II*\x00\x08\x00\x00\x00")
	tiffBE := []byte("MM\x00*\x00\x00\x00\x08")
	jpeg := []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00")
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	elf := []byte("\x7fELF\x02\x01\x01\x00")
	mz := []byte("MZ\x90\x00\x03\x00\x00\x00")
	html := []byte("<html><script>")
	desktop := []byte("[Desktop Entry]\nExec=sh")
	tests := []struct {
		name     string
		head     []byte
		wantKind string
		wantOK   bool
	}{
		{"prescription.pdf", pdf, "PDF", true},
		{"PRESCRIPTION.PDF", pdf, "PDF", true},
		{"scan.tif", tiffLE, "TIFF", true},
		{"scan.tiff", tiffBE, "TIFF", true},
		{"photo.jpg", jpeg, "JPEG", true},
		{"photo.JPEG", jpeg, "JPEG", true},
		{"x.png", png, "PNG", true},
		{"report.exe.pdf", pdf, "PDF", true}, // the system opens it as a PDF
		// the name decides the program: it must match the content
		{"run.exe", mz, "", false},
		{"run.exe", pdf, "PDF", false},
		{"report.pdf.exe", pdf, "PDF", false},
		{"x.desktop", desktop, "", false},
		{"x.desktop", pdf, "PDF", false},
		{"evil.html", html, "", false},
		{"evil.html", png, "PNG", false},
		{"scan.pdf", elf, "", false}, // an executable named .pdf
		{"scan.pdf", html, "", false},
		{"scan.pdf", png, "PNG", false}, // mismatched type
		{"scan.png", jpeg, "JPEG", false},
		{"scan.jpg", tiffLE, "TIFF", false},
		{"scan", pdf, "PDF", false}, // no extension
		{"scan.pdf", nil, "", false},
		{"scan.pdf", []byte("%PD"), "", false}, // too short to tell
		{"big.tif", []byte("II+\x00\x08\x00"), "", false},
	}
	for _, tt := range tests {
		kind, ok := Openable(tt.name, tt.head)
		if kind != tt.wantKind || ok != tt.wantOK {
			t.Errorf("Openable(%q, %q) = %q, %v; want %q, %v", tt.name, tt.head, kind, ok, tt.wantKind, tt.wantOK)
		}
	}
}
