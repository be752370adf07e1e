package doccheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// textPDF writes a one-page PDF of black text on white.
func textPDF(t *testing.T) *Info {
	t.Helper()
	var b bytes.Buffer
	if err := TextToPDF(context.Background(), &b, []string{"Prescription", strings.Repeat("NHI ZZZ0016 ", 7)}); err != nil {
		t.Fatal(err)
	}
	p := write(t, t.TempDir(), "-looks-like-a-flag.pdf", b.Bytes())
	info, err := Check(p)
	if err != nil {
		t.Fatal(err)
	}
	// A relative path starting with "-" must not be read as an option.
	t.Chdir(filepath.Dir(p))
	info.Path = filepath.Base(p)
	return info
}

// usePdftoppm points the renderer at prog for the test.
func usePdftoppm(t *testing.T, prog string) {
	t.Helper()
	old := pdftoppm
	pdftoppm = prog
	t.Cleanup(func() { pdftoppm = old })
}

func TestPDFThumbnailRendered(t *testing.T) {
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		// scripts/install-deps.sh installs poppler-utils: CI must run this.
		if os.Getenv("CI") == "true" {
			t.Fatalf("pdftoppm (poppler-utils) is not installed (CI=true, so this is a failure, not a skip): %v", err)
		}
		t.Skipf("pdftoppm (poppler-utils) is not installed, so PDF first pages cannot be rendered here; install with scripts/install-deps.sh: %v", err)
	}
	info := textPDF(t)
	th, err := Thumbnail(info, 128)
	if err != nil {
		t.Fatal(err)
	}
	// An A4 page, portrait: 128 high, about 90 wide.
	if got := th.Bounds().Size(); got.Y != 128 || got.X < 85 || got.X > 95 {
		t.Fatalf("thumbnail size %v, want about 90x128", got)
	}
	// Mostly white paper with some dark text on it.
	light, dark := 0, 0
	b := th.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := th.At(x, y).RGBA()
			switch l := (r + g + bl) / 3 >> 8; {
			case l > 200:
				light++
			case l < 160:
				dark++
			}
		}
	}
	if total := b.Dx() * b.Dy(); light < total*8/10 || dark == 0 {
		t.Errorf("not a rendered page: %d light, %d dark of %d pixels", light, dark, total)
	}
}

// octal is b for printf in a shell script: every byte as \ooo.
func octal(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		fmt.Fprintf(&s, "\\%03o", c)
	}
	return s.String()
}

// fakeRenderer writes a shell script standing in for pdftoppm (shell
// built-ins only).
func fakeRenderer(t *testing.T, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts stand in for pdftoppm")
	}
	p := filepath.Join(t.TempDir(), "fake-pdftoppm")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPDFThumbnailFallback: whatever goes wrong with the renderer, the
// caller gets an error quickly (and shows the page-count tile), never a
// broken picture or a hang.
func TestPDFThumbnailFallback(t *testing.T) {
	var b bytes.Buffer
	if err := TextToPDF(context.Background(), &b, []string{"Referral"}); err != nil {
		t.Fatal(err)
	}
	info, err := Check(write(t, t.TempDir(), "referral.pdf", b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}

	// A valid PNG far larger than asked for.
	big := encode(t, func(b *bytes.Buffer) error { return png.Encode(b, testImage(600, 300)) })

	usePdftoppm(t, "securesend-test-no-such-pdftoppm")
	if th, err := Thumbnail(info, 64); !errors.Is(err, ErrNoPDFRenderer) || th != nil {
		t.Errorf("without pdftoppm: %v, %v", th, err)
	}

	for _, c := range []struct{ name, script, want string }{
		{"fails", "echo 'Syntax Error: broken' >&2; exit 99", "broken"},
		{"fails after many warnings", "i=0; while [ $i -lt 2000 ]; do echo 'Syntax Warning: damaged' >&2; i=$((i+1)); done; exit 98", "exit status 98"},
		{"garbage", "echo not a png", "output"},
		{"too much", "while :; do echo 0000000000000000000000000000000000000000000000000000000000000000; done", "too much"},
		{"huge picture", "printf '" + octal(big) + "'", "picture"},
	} {
		usePdftoppm(t, fakeRenderer(t, c.script))
		th, err := Thumbnail(info, 64)
		if err == nil || th != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, %v (want an error with %q)", c.name, th, err, c.want)
		}
	}

	// A renderer that hangs is stopped at the deadline.
	usePdftoppm(t, fakeRenderer(t, "while :; do :; done"))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := pdfThumbnail(ctx, info.Path, 64); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("hanging renderer: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("gave up on a hanging renderer only after %v", d)
	}
	// The timeout Thumbnail itself uses is short.
	if pdfRenderTimeout > 10*time.Second {
		t.Errorf("render timeout %v", pdfRenderTimeout)
	}

	// Images still have thumbnails without any renderer.
	pngPath := write(t, t.TempDir(), "scan.png", encode(t, func(b *bytes.Buffer) error { return png.Encode(b, testImage(40, 20)) }))
	if info, err := Check(pngPath); err != nil {
		t.Fatal(err)
	} else if th, err := Thumbnail(info, 64); err != nil || th.Bounds().Size() != image.Pt(40, 20) {
		t.Errorf("image thumbnail: %v, %v", th, err)
	}
}
