package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"golang.org/x/image/tiff"
)

// TestCommittedSamplesAreReproducible regenerates the samples and compares
// them with the committed files, so nobody edits them by hand.
func TestCommittedSamplesAreReproducible(t *testing.T) {
	dir := t.TempDir()
	if err := writeSamples(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sample-prescription.pdf", "sample-referral.tif"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output; run: go run ./assets/samples/gen -out assets/samples", name)
		}
	}
}

func TestPDFIsValidWithTwoPages(t *testing.T) {
	path := filepath.Join("..", "sample-prescription.pdf")
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationStrict
	if err := api.ValidateFile(path, conf); err != nil {
		t.Fatalf("pdfcpu validate: %v", err)
	}
	n, err := api.PageCountFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("pages = %d, want 2", n)
	}
}

func TestTIFFHasTwoDecodablePages(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "sample-referral.tif"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := tiff.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode first page: %v", err)
	}
	if b := img.Bounds(); b.Dx() != tiffWidth || b.Dy() != tiffHeight {
		t.Errorf("size = %v", b)
	}
	if pages := countIFDs(t, data); pages != 2 {
		t.Errorf("pages = %d, want 2", pages)
	}
}

// countIFDs walks the chain of image file directories of a little-endian TIFF.
func countIFDs(t *testing.T, data []byte) int {
	u32 := func(off int) int {
		return int(data[off]) | int(data[off+1])<<8 | int(data[off+2])<<16 | int(data[off+3])<<24
	}
	n := 0
	for off := u32(4); off != 0; n++ {
		if off+2 > len(data) || n > 100 {
			t.Fatalf("broken IFD chain at %d", off)
		}
		entries := int(data[off]) | int(data[off+1])<<8
		off = u32(off + 2 + 12*entries)
	}
	return n
}

func TestPackBitsRoundTrip(t *testing.T) {
	rows := [][]byte{
		{},
		{1},
		{1, 1},
		{1, 2, 3},
		bytes.Repeat([]byte{0}, 300),
		append(bytes.Repeat([]byte{7}, 130), 1, 2, 3, 3, 3, 4),
	}
	for _, row := range rows {
		if got := unpackBits(packBits(row)); !bytes.Equal(got, row) {
			t.Errorf("round trip of %v gave %v", row, got)
		}
	}
}

func unpackBits(src []byte) []byte {
	var out []byte
	for i := 0; i < len(src); {
		n := int(int8(src[i]))
		i++
		switch {
		case n >= 0:
			out = append(out, src[i:i+n+1]...)
			i += n + 1
		case n != -128:
			out = append(out, bytes.Repeat([]byte{src[i]}, 1-n)...)
			i++
		}
	}
	return out
}
