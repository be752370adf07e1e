package app

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/assets"
	"github.com/securesend/securesend/internal/doccheck"
	"github.com/securesend/securesend/receive"
)

// pngFile writes a w×h PNG whose top-left pixel is red.
func pngFile(t *testing.T, name string, w, h int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	img.Set(0, 0, color.NRGBA{R: 0xff, A: 0xff})
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return p
}

// shownPreview is the picture shown in the detail view, or nil.
func shownPreview(u *demoUI) image.Image {
	for _, o := range test.LaidOutObjects(u.inbox.detail) {
		if im, ok := o.(*canvas.Image); ok && im.Visible() && im.Image != nil && im.Resource == nil && im.File == "" {
			return im.Image
		}
	}
	return nil
}

// TestPreviewFirstPage: Preview shows the first page of a verified
// message's document in the app; for a message that is not verified
// only after the confirmation; a PDF where pages cannot be drawn says so
// next to the button.
func TestPreviewFirstPage(t *testing.T) {
	u := newDemoUI(t, nil)
	scan := pngFile(t, "scan.png", 40, 60)
	show := func(v receive.Verdict, name, path string) {
		u.inbox.showDetail(Received{Key: "1", Source: "mailbox", Report: &receive.Report{Verdict: v, From: "alice@clinic.test", Reason: "Not signed.",
			Documents: []receive.Document{{Name: name, ContentType: "image/png", Size: 100, SHA256: strings.Repeat("ab", 32), Path: path}}}})
	}
	preview := func() {
		t.Helper()
		done := expect(&u.inbox.previewDone)
		test.Tap(findButton(t, u.inbox.detail, "Preview"))
		await(t, "preview", done)
	}

	show(receive.Verified, "scan.png", scan)
	preview()
	img := shownPreview(u)
	if img == nil || img.Bounds().Dx() != 40 || img.Bounds().Dy() != 60 {
		t.Fatalf("preview %v:\n%s", img, labelsIn(u.inbox.detail))
	}
	if r, _, _, _ := img.At(0, 0).RGBA(); r>>8 != 0xff {
		t.Errorf("not the document's picture")
	}

	// Not verified: nothing is read before the user confirms.
	show(receive.NotSigned, "scan.png", scan)
	test.Tap(findButton(t, u.inbox.detail, "Preview"))
	dlg := u.win.Canvas().Overlays().Top()
	if dlg == nil || shownPreview(u) != nil {
		t.Fatal("previewed without asking")
	}
	anyway := buttonsIn(dlg, "Preview anyway")
	if len(anyway) != 1 {
		t.Fatalf("no Preview anyway:\n%s", labelsIn(dlg))
	}
	done := expect(&u.inbox.previewDone)
	test.Tap(anyway[0])
	await(t, "preview", done)
	if shownPreview(u) == nil {
		t.Error("no preview after confirming")
	}

	// An executable named .png is not rendered.
	fake := pdfFile(t, "evil.png", "MZ\x90\x00 not an image")
	show(receive.Verified, "evil.png", fake)
	preview()
	if shownPreview(u) != nil || !strings.Contains(labelsIn(u.inbox.detail), "No preview: evil.png is not a PDF, TIFF, JPEG or PNG") {
		t.Errorf("a fake image:\n%s", labelsIn(u.inbox.detail))
	}

	// A PDF where pages cannot be drawn, then (when poppler is there) one
	// that is drawn.
	dir := t.TempDir()
	samples, err := assets.WriteSamples(dir)
	if err != nil {
		t.Fatal(err)
	}
	var pdf string
	for _, s := range samples {
		if strings.HasSuffix(s, ".pdf") {
			pdf = s
		}
	}
	u.inbox.thumbnail = func(*doccheck.Info, int) (image.Image, error) { return nil, doccheck.ErrNoPDFRenderer }
	show(receive.Verified, filepath.Base(pdf), pdf)
	preview()
	if d := labelsIn(u.inbox.detail); shownPreview(u) != nil || !strings.Contains(d, "PDF pages cannot be drawn here") || !strings.Contains(d, "use Open or Save as…") {
		t.Errorf("no renderer:\n%s", d)
	}
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Log("pdftoppm not installed: the drawn PDF page is not checked")
		return
	}
	u.inbox.thumbnail = nil
	show(receive.Verified, filepath.Base(pdf), pdf)
	preview()
	if img := shownPreview(u); img == nil || img.Bounds().Dy() < 300 {
		t.Errorf("PDF first page %v:\n%s", img, labelsIn(u.inbox.detail))
	}
}
