package relay

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/internal/doccheck"
)

// TestDocName: a device's file name reaches the recipient only as a safe
// base name with the extension of what the file is.
func TestDocName(t *testing.T) {
	for _, c := range []struct {
		name string
		kind doccheck.Kind
		want string
	}{
		{"scan0001.pdf", doccheck.PDF, "scan0001.pdf"},
		{"", doccheck.PDF, "scan-3.pdf"},
		{"../../etc/passwd", doccheck.PDF, "passwd.pdf"},
		{`C:\Users\mfd\scan.pdf`, doccheck.PDF, "scan.pdf"},
		{"scan.pdf\x1b[2J", doccheck.PDF, "scan.pdf_[2J.pdf"},
		{"rx\u202egnp.pdf", doccheck.PDF, "rx_gnp.pdf"},
		{"photo.jpeg", doccheck.JPEG, "photo.jpeg"},
		{"page.tiff", doccheck.TIFF, "page.tiff"},
		{"invoice.exe", doccheck.PNG, "invoice.exe.png"},
		{"..", doccheck.PDF, "scan-3.pdf"},
		{strings.Repeat("é", 200) + ".pdf", doccheck.PDF, strings.Repeat("é", 60) + ".pdf"},
	} {
		if got := docName(c.name, 3, c.kind); got != c.want {
			t.Errorf("docName(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

// FuzzExtract: no message makes extract panic, write outside its folder,
// or accept a message without a document doccheck accepts.
func FuzzExtract(f *testing.F) {
	pdf, err := os.ReadFile(filepath.Join("testdata", "good_scan.pdf"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("Subject: scan\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=s.pdf\r\n\r\n" + string(pdf) + "\r\n--b--\r\n"))
	f.Add([]byte("Subject: =?utf-8?q?scan?=\r\n\r\nno attachment\r\n"))
	f.Add([]byte("Content-Type: application/pdf; name=\"../x.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		root := t.TempDir()
		dir := filepath.Join(root, "msg")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		out, err := extract(bytes.NewReader(msg), dir)
		if left, _ := os.ReadDir(root); len(left) != 1 {
			t.Fatalf("wrote outside its folder: %v", left)
		}
		if err != nil {
			var bad *badDocumentError
			if !errors.Is(err, errNoDocument) && !errors.As(err, &bad) && !strings.HasPrefix(err.Error(), "relay: ") {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			return
		}
		if len(out.docs) == 0 {
			t.Fatal("accepted without a document")
		}
		for _, d := range out.docs {
			if filepath.Dir(filepath.Dir(d.Path)) != dir || d.Name != filepath.Base(d.Path) || strings.ContainsAny(d.Name, "/\\\x00") {
				t.Fatalf("document %+v", d)
			}
			if _, err := doccheck.Check(d.Path); err != nil {
				t.Fatalf("document %s not accepted by doccheck: %v", d.Name, err)
			}
		}
	})
}
