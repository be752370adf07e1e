package doccheck

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Page geometry of TextToPDF: A4 at 150 dots per inch.
const (
	textPageW, textPageH = 1240, 1754
	textMargin           = 110
	textPoints           = 9.0
	textDPI              = 150
	textCols             = 92 // characters per line at that size
)

// TextToPDF writes lines as a PDF of A4 pages in a monospaced font (for a
// transmission confirmation the user wants to file or print). Long lines
// are wrapped. The pages are images of the text: exact, but not
// searchable.
func TextToPDF(ctx context.Context, w io.Writer, lines []string) error {
	f, err := opentype.Parse(gomono.TTF)
	if err != nil {
		return fmt.Errorf("doccheck: font: %w", err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: textPoints, DPI: textDPI, Hinting: font.HintingFull})
	if err != nil {
		return fmt.Errorf("doccheck: font: %w", err)
	}
	defer face.Close()
	lineH := face.Metrics().Height.Ceil() + 4
	perPage := (textPageH - 2*textMargin) / lineH

	var wrapped []string
	for _, l := range lines {
		l = strings.ReplaceAll(l, "\t", "    ")
		for len([]rune(l)) > textCols {
			r := []rune(l)
			cut := textCols
			if i := strings.LastIndex(string(r[:textCols]), " "); i > textCols/2 {
				cut = len([]rune(string(r[:textCols])[:i]))
			}
			wrapped = append(wrapped, string(r[:cut]))
			l = "    " + strings.TrimLeft(string(r[cut:]), " ")
		}
		wrapped = append(wrapped, l)
	}
	var pages []io.Reader
	for start := 0; start == 0 || start < len(wrapped); start += perPage {
		if err := ctx.Err(); err != nil {
			return err
		}
		img := image.NewGray(image.Rect(0, 0, textPageW, textPageH))
		draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
		d := &font.Drawer{Dst: img, Src: image.NewUniform(color.Black), Face: face}
		end := min(start+perPage, len(wrapped))
		for i, l := range wrapped[start:end] {
			d.Dot = fixed.P(textMargin, textMargin+(i+1)*lineH)
			d.DrawString(l)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return fmt.Errorf("doccheck: page: %w", err)
		}
		pages = append(pages, &buf)
		if end == len(wrapped) {
			break
		}
	}
	if err := imagesToPDF(w, pages); err != nil {
		return fmt.Errorf("doccheck: write PDF: %w", err)
	}
	return nil
}
