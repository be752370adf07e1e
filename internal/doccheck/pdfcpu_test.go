package doccheck

import (
	"bytes"
	"context"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"regexp"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// The package calls pdfcpu's reader, validator and writer directly instead
// of through pdfcpu's api (which would link go-runewidth into the app; see
// readAndValidate). These tests hold the two to the same results; they may
// use api because tests are not linked into the app.

// pdfVariants returns PDFs to check: the sample, ones made by this package,
// an encrypted one, and damaged copies of each (cut short, bytes changed).
func pdfVariants(t *testing.T) map[string][]byte {
	t.Helper()
	sample, err := os.ReadFile("../../assets/samples/sample-prescription.pdf")
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := TextToPDF(context.Background(), &text, []string{"Queue ID: DEMO123", "line two"}); err != nil {
		t.Fatal(err)
	}
	var img bytes.Buffer
	if err := png.Encode(&img, testImage(40, 30)); err != nil {
		t.Fatal(err)
	}
	var combined bytes.Buffer
	if err := imagesToPDF(&combined, []io.Reader{bytes.NewReader(img.Bytes()), bytes.NewReader(multiTIFF(3, 8, 8, false))}); err != nil {
		t.Fatal(err)
	}
	var enc bytes.Buffer
	conf := model.NewAESConfiguration("secret", "secret", 256)
	if err := api.Encrypt(bytes.NewReader(sample), &enc, conf); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{"sample": sample, "text": text.Bytes(), "combined": combined.Bytes(), "encrypted": enc.Bytes()}
	for name, b := range map[string][]byte{"sample": sample, "text": text.Bytes(), "combined": combined.Bytes()} {
		for _, frac := range []int{2, 3, 4, 5, 8, 10, 20} {
			cut := len(b) - len(b)/frac
			out[name+"/cut"+string(rune('0'+frac%10))] = b[:cut]
		}
		for i, at := range []int{len(b) / 7, len(b) / 3, len(b) / 2, len(b) - 40, len(b) - 200} {
			c := bytes.Clone(b)
			copy(c[at:], "99 0 R/")
			out[name+"/changed"+string(rune('0'+i))] = c
		}
	}
	return out
}

func TestReadAndValidateAsAPI(t *testing.T) {
	refused := 0
	variants := pdfVariants(t)
	for name, b := range variants {
		got, gotErr := readAndValidate(bytes.NewReader(b))
		want, wantErr := api.ReadAndValidate(bytes.NewReader(b), model.NewDefaultConfiguration())
		if gotErr != nil {
			refused++
		}
		if (gotErr == nil) != (wantErr == nil) {
			t.Errorf("%s: error %v, api says %v", name, gotErr, wantErr)
			continue
		}
		if gotErr != nil {
			if isPasswordError(gotErr) != isPasswordError(wantErr) {
				t.Errorf("%s: error %q, api says %q", name, gotErr, wantErr)
			}
			continue
		}
		if got.PageCount != want.PageCount {
			t.Errorf("%s: %d pages, api says %d", name, got.PageCount, want.PageCount)
		}
	}
	// The damaged copies must exercise both outcomes.
	if refused < 5 || refused > len(variants)-4 {
		t.Errorf("%d of %d variants refused; the test needs both outcomes", refused, len(variants))
	}
	t.Logf("%d of %d variants refused, as by api", refused, len(variants))
	if _, err := readAndValidate(bytes.NewReader(variants["encrypted"])); err == nil || !isPasswordError(err) {
		t.Errorf("encrypted PDF: %v, want a password error", err)
	}
}

// volatile matches what differs between two writes of the same PDF: the
// file identifier and the dates.
var volatile = regexp.MustCompile(`/ID\[<[0-9A-F]*> <[0-9A-F]*>\]|\(D:[0-9+\-']*\)`)

func TestImagesToPDFAsAPI(t *testing.T) {
	var p, j bytes.Buffer
	if err := png.Encode(&p, testImage(64, 48)); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&j, testImage(30, 90), nil); err != nil {
		t.Fatal(err)
	}
	inputs := [][]byte{p.Bytes(), j.Bytes(), multiTIFF(2, 16, 16, false)}
	readers := func() []io.Reader {
		var rr []io.Reader
		for _, b := range inputs {
			rr = append(rr, bytes.NewReader(b))
		}
		return rr
	}
	var got, want bytes.Buffer
	if err := imagesToPDF(&got, readers()); err != nil {
		t.Fatal(err)
	}
	imp := pdfcpu.DefaultImportConfig()
	imp.Scale = 1.0
	if err := api.ImportImages(nil, &want, readers(), imp, model.NewDefaultConfiguration()); err != nil {
		t.Fatal(err)
	}
	g := volatile.ReplaceAll(got.Bytes(), nil)
	w := volatile.ReplaceAll(want.Bytes(), nil)
	if !bytes.Equal(g, w) {
		t.Errorf("imagesToPDF wrote %d bytes that differ from api.ImportImages' %d (beyond the ID and dates)", got.Len(), want.Len())
	}
	ctx, err := readAndValidate(bytes.NewReader(got.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if ctx.PageCount != 4 {
		t.Errorf("%d pages, want 4", ctx.PageCount)
	}
	// A damaged image fails as it does through api.
	bad := []io.Reader{bytes.NewReader(p.Bytes()[:40])}
	if err := imagesToPDF(io.Discard, bad); err == nil {
		t.Error("a damaged image was combined")
	}
}
