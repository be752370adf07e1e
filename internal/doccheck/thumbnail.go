package doccheck

import (
	"bufio"
	"fmt"
	"image"
	"os"

	"golang.org/x/image/draw"
)

// maxThumbPixels bounds the images Thumbnail decodes (it holds the whole
// decoded image in memory: 4 bytes a pixel).
const maxThumbPixels = 50_000_000

// Thumbnail decodes the image (the first page of a TIFF) at path and scales
// it to fit within max×max pixels, keeping its proportions. PDFs have no
// thumbnail (rendering PDF is beyond this package), nor have images of more
// than 50 million pixels; the error says so.
func Thumbnail(info *Info, max int) (image.Image, error) {
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
	return dst, nil
}
