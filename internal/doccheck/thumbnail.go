package doccheck

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/image/draw"
)

// maxThumbPixels bounds the images Thumbnail decodes (it holds the whole
// decoded image in memory: 4 bytes a pixel).
const maxThumbPixels = 50_000_000

// PDF first pages are rendered by poppler's pdftoppm (Debian package
// poppler-utils) when it is on PATH: never through a shell, first page
// only, scaled to the thumbnail size, within pdfRenderTimeout, its output
// read up to maxPDFThumbBytes.
const (
	pdfRenderTimeout = 5 * time.Second
	maxPDFThumbBytes = 4 << 20
)

// pdftoppm is the program that renders PDF thumbnails (tests point it
// elsewhere).
var pdftoppm = "pdftoppm"

// ErrNoPDFRenderer says that PDF thumbnails cannot be made here because
// pdftoppm (poppler-utils) is not installed.
var ErrNoPDFRenderer = errors.New("doccheck: no thumbnail for PDF files: pdftoppm (poppler-utils) is not installed")

// Thumbnail returns a picture of the document at path scaled to fit within
// max×max pixels, keeping its proportions: the image (the first page of a
// TIFF) decoded, or the first page of a PDF rendered by pdftoppm when it is
// installed. It fails, and the caller shows no picture, for a PDF when
// pdftoppm is missing (ErrNoPDFRenderer), fails or takes longer than 5 s,
// and for images of more than 50 million pixels.
func Thumbnail(info *Info, max int) (image.Image, error) {
	if info.Kind == PDF {
		ctx, cancel := context.WithTimeout(context.Background(), pdfRenderTimeout)
		defer cancel()
		return pdfThumbnail(ctx, info.Path, max)
	}
	if !info.Kind.IsImage() {
		return nil, fmt.Errorf("doccheck: no thumbnail for %s files", info.Kind)
	}
	if int64(info.Width)*int64(info.Height) > maxThumbPixels {
		return nil, fmt.Errorf("doccheck: image too large for a thumbnail")
	}
	f, err := os.Open(info.Path)
	if err != nil {
		return nil, fmt.Errorf("doccheck: thumbnail: %w", err)
	}
	defer f.Close()
	src, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("doccheck: thumbnail: %w", err)
	}
	return scaleToFit(src, max), nil
}

// scaleToFit scales src down to fit within max×max pixels (never up).
func scaleToFit(src image.Image, max int) image.Image {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > max || h > max {
		if w >= h {
			w, h = max, max*h/w
		} else {
			w, h = max*w/h, max
		}
	}
	if w < 1 {
		w = 1
	}
	if h < 1 {
		h = 1
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
	return dst
}

// pdfThumbnail renders the first page of the PDF at path with pdftoppm,
// its longer side max pixels, as PNG on standard output.
func pdfThumbnail(ctx context.Context, path string, max int) (image.Image, error) {
	prog, err := exec.LookPath(pdftoppm)
	if err != nil {
		return nil, ErrNoPDFRenderer
	}
	if max < 1 {
		max = 1
	}
	// An absolute path, so that a file name starting with "-" is not taken
	// for an option.
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("doccheck: thumbnail: %w", err)
	}
	var out limitedBuffer
	out.max = maxPDFThumbBytes
	// Its complaints about a damaged PDF are kept up to 4 KiB and the rest
	// dropped: a long list of warnings must not fail the rendering.
	var stderr limitedBuffer
	stderr.max, stderr.truncate = 4<<10, true
	cmd := exec.CommandContext(ctx, prog, "-f", "1", "-l", "1", "-singlefile", "-png", "-scale-to", strconv.Itoa(max), abs)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	cmd.WaitDelay = time.Second // do not wait for children holding the pipes
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("doccheck: thumbnail: pdftoppm took too long: %w", ctx.Err())
		}
		if out.over {
			return nil, errors.New("doccheck: thumbnail: pdftoppm wrote too much")
		}
		return nil, fmt.Errorf("doccheck: thumbnail: pdftoppm: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(out.Bytes()))
	if err != nil {
		return nil, fmt.Errorf("doccheck: thumbnail: pdftoppm output: %w", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > 4*max || cfg.Height > 4*max {
		return nil, fmt.Errorf("doccheck: thumbnail: pdftoppm made a %d×%d picture", cfg.Width, cfg.Height)
	}
	img, err := png.Decode(bytes.NewReader(out.Bytes()))
	if err != nil {
		return nil, fmt.Errorf("doccheck: thumbnail: pdftoppm output: %w", err)
	}
	return scaleToFit(img, max), nil
}

// limitedBuffer keeps what is written up to max bytes; beyond that writes
// fail (and the writing process gets a broken pipe), or with truncate are
// dropped.
// (Not an embedded bytes.Buffer: io.Copy would use its ReadFrom and pass
// the limit by.)
type limitedBuffer struct {
	buf      bytes.Buffer
	max      int
	over     bool
	truncate bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.max {
		b.over = true
		if b.truncate {
			b.buf.Write(p[:max(0, b.max-b.buf.Len())])
			return len(p), nil
		}
		return 0, errors.New("output too large")
	}
	return b.buf.Write(p)
}

func (b *limitedBuffer) Bytes() []byte { return b.buf.Bytes() }
