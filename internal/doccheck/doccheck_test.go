package doccheck

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/tiff"
)

func testImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	return img
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func encode(t *testing.T, f func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := f(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// multiTIFF builds an uncompressed little-endian grey TIFF with one IFD per
// page, each w×h. loop makes the last IFD point back at the first.
func multiTIFF(pages, w, h int, loop bool) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("II*\x00")
	binary.Write(&b, le, uint32(8))
	const entries = 8
	ifdSize := 2 + 12*entries + 4
	first := 8
	for p := 0; p < pages; p++ {
		ifd := first + p*(ifdSize+w*h)
		data := ifd + ifdSize
		next := uint32(0)
		if p < pages-1 {
			next = uint32(data + w*h)
		} else if loop {
			next = uint32(first)
		}
		binary.Write(&b, le, uint16(entries))
		entry := func(tag, typ uint16, val uint32) {
			binary.Write(&b, le, tag)
			binary.Write(&b, le, typ)
			binary.Write(&b, le, uint32(1))
			binary.Write(&b, le, val)
		}
		entry(256, 4, uint32(w))    // ImageWidth
		entry(257, 4, uint32(h))    // ImageLength
		entry(258, 3, 8)            // BitsPerSample
		entry(259, 3, 1)            // Compression: none
		entry(262, 3, 1)            // Photometric: BlackIsZero
		entry(273, 4, uint32(data)) // StripOffsets
		entry(278, 4, uint32(h))    // RowsPerStrip
		entry(279, 4, uint32(w*h))  // StripByteCounts
		binary.Write(&b, le, next)
		for i := 0; i < w*h; i++ {
			b.WriteByte(byte(i * (p + 1)))
		}
	}
	return b.Bytes()
}

func TestCheckAccepts(t *testing.T) {
	dir := t.TempDir()
	pngPath := write(t, dir, "scan.png", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, testImage(40, 30)) }))
	jpgPath := write(t, dir, "photo.JPG", encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, testImage(20, 50), nil) }))
	tifPath := write(t, dir, "one.tif", encode(t, func(b *bytes.Buffer) error { return tiff.Encode(b, testImage(10, 10), nil) }))
	multi := write(t, dir, "three.tiff", multiTIFF(3, 16, 8, false))
	// A PDF named like an image is still a PDF: content decides.
	pdfPath := filepath.Join(dir, "combined.png")
	pngInfo, err := Check(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := CombineToFile(context.Background(), pdfPath, pngInfo); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path  string
		kind  Kind
		pages int
		w, h  int
	}{
		{pngPath, PNG, 1, 40, 30},
		{jpgPath, JPEG, 1, 20, 50},
		{tifPath, TIFF, 1, 10, 10},
		{multi, TIFF, 3, 16, 8},
		{pdfPath, PDF, 1, 0, 0},
	} {
		info, err := Check(tc.path)
		if err != nil {
			t.Errorf("Check(%s): %v", filepath.Base(tc.path), err)
			continue
		}
		if info.Kind != tc.kind || info.Pages != tc.pages || info.Width != tc.w || info.Height != tc.h || info.Size <= 0 {
			t.Errorf("Check(%s) = %+v", filepath.Base(tc.path), info)
		}
	}
}

func TestCheckSamples(t *testing.T) {
	for name, kind := range map[string]Kind{"sample-prescription.pdf": PDF, "sample-referral.tif": TIFF} {
		p := filepath.Join("..", "..", "assets", "samples", name)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("sample %s not present: %v", name, err)
		}
		info, err := Check(p)
		if err != nil {
			t.Errorf("sample %s refused: %v", name, err)
			continue
		}
		if info.Kind != kind || info.Pages < 1 {
			t.Errorf("sample %s: %+v", name, info)
		}
	}
}

func TestCheckRefuses(t *testing.T) {
	dir := t.TempDir()
	pngData := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, testImage(40, 30)) })
	for _, tc := range []struct {
		name   string
		data   []byte
		reason string
	}{
		{"empty.pdf", nil, "empty"},
		{"notes.txt", []byte("Dear pharmacist,\n"), "not supported"},
		{"renamed.pdf", []byte("PK\x03\x04zip file"), "not supported"},
		{"truncated.pdf", []byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog"), "damaged"},
		{"header-only.png", pngData[:20], "damaged"},
		{"loop.tif", multiTIFF(2, 4, 4, true), "loop"},
		{"cut.tif", multiTIFF(2, 4, 4, false)[:40], "cut short"},
		{"big.tif", []byte("II+\x00\x08\x00\x00\x00"), "BigTIFF"},
	} {
		p := write(t, dir, tc.name, tc.data)
		_, err := Check(p)
		var de *Error
		if !errors.As(err, &de) {
			t.Errorf("Check(%s) = %v, want *Error", tc.name, err)
			continue
		}
		if de.Name != tc.name || !strings.Contains(de.Reason, tc.reason) {
			t.Errorf("Check(%s): reason %q, want it to mention %q", tc.name, de.Reason, tc.reason)
		}
	}
	if _, err := Check(filepath.Join(dir, "missing.pdf")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Check(dir); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("directory: %v", err)
	}
}

func TestThumbnail(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "wide.png", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, testImage(200, 100)) }))
	info, err := Check(p)
	if err != nil {
		t.Fatal(err)
	}
	th, err := Thumbnail(info, 64)
	if err != nil {
		t.Fatal(err)
	}
	if got := th.Bounds().Size(); got != image.Pt(64, 32) {
		t.Errorf("thumbnail size %v, want 64x32", got)
	}
	multi := write(t, dir, "multi.tif", multiTIFF(2, 8, 8, false))
	info, err = Check(multi)
	if err != nil {
		t.Fatal(err)
	}
	if th, err := Thumbnail(info, 64); err != nil || th.Bounds().Dx() != 8 {
		t.Errorf("TIFF thumbnail: %v, %v", th, err)
	}
}

func TestCombineMultiPageTIFF(t *testing.T) {
	dir := t.TempDir()
	multi := write(t, dir, "three.tif", multiTIFF(3, 16, 8, false))
	jpg := write(t, dir, "page.jpg", encode(t, func(b *bytes.Buffer) error { return jpeg.Encode(b, testImage(20, 50), nil) }))
	var infos []*Info
	for _, p := range []string{multi, jpg} {
		info, err := Check(p)
		if err != nil {
			t.Fatal(err)
		}
		infos = append(infos, info)
	}
	out := filepath.Join(dir, "out.pdf")
	if err := CombineToFile(context.Background(), out, infos...); err != nil {
		t.Fatal(err)
	}
	info, err := Check(out)
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != PDF || info.Pages != 4 {
		t.Errorf("combined PDF: %+v, want 4 pages", info)
	}
	pdfInfo := info
	if err := CombineToFile(context.Background(), filepath.Join(dir, "x.pdf"), pdfInfo); err == nil {
		t.Error("combining a PDF as an image succeeded")
	}
}
