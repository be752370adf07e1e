package packaging

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
)

// icoMax is the largest icon an .ico entry can describe.
const icoMax = 256

// icoFromPNG returns a Windows .ico holding the PNG (Windows Vista and
// later read PNG-compressed icon entries). A PNG larger than 256 pixels is
// scaled down first.
func icoFromPNG(data []byte) ([]byte, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("packaging: icon: not a PNG: %w", err)
	}
	w, h := cfg.Width, cfg.Height
	if w > icoMax || h > icoMax {
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("packaging: icon: %w", err)
		}
		small := shrink(img, icoMax)
		var b bytes.Buffer
		if err := png.Encode(&b, small); err != nil {
			return nil, fmt.Errorf("packaging: icon: %w", err)
		}
		data, w, h = b.Bytes(), small.Bounds().Dx(), small.Bounds().Dy()
	}
	var b bytes.Buffer
	// ICONDIR: reserved, type 1 (icon), one image.
	binary.Write(&b, binary.LittleEndian, [3]uint16{0, 1, 1}) //nolint:errcheck // bytes.Buffer
	// ICONDIRENTRY: width and height (0 means 256), no palette, reserved,
	// 1 plane, 32 bits per pixel, size, offset of the PNG.
	b.Write([]byte{byte(w % icoMax), byte(h % icoMax), 0, 0})
	binary.Write(&b, binary.LittleEndian, [2]uint16{1, 32})                     //nolint:errcheck
	binary.Write(&b, binary.LittleEndian, [2]uint32{uint32(len(data)), 6 + 16}) //nolint:errcheck
	b.Write(data)
	return b.Bytes(), nil
}

// shrink scales img down so that its larger side is limit pixels, averaging
// the source pixels that fall into each target pixel (premultiplied RGBA).
func shrink(img image.Image, limit int) *image.NRGBA {
	sb := img.Bounds()
	sw, sh := sb.Dx(), sb.Dy()
	dw, dh := limit, limit
	if sw > sh {
		dh = sh * limit / sw
	} else {
		dw = sw * limit / sh
	}
	dw, dh = max(dw, 1), max(dh, 1)
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < dh; y++ {
		y0, y1 := y*sh/dh, max((y+1)*sh/dh, y*sh/dh+1)
		for x := 0; x < dw; x++ {
			x0, x1 := x*sw/dw, max((x+1)*sw/dw, x*sw/dw+1)
			var r, g, bl, a, n uint64
			for sy := y0; sy < y1; sy++ {
				for sx := x0; sx < x1; sx++ {
					cr, cg, cb, ca := img.At(sb.Min.X+sx, sb.Min.Y+sy).RGBA()
					r, g, bl, a, n = r+uint64(cr), g+uint64(cg), bl+uint64(cb), a+uint64(ca), n+1
				}
			}
			c := color.RGBA64{R: uint16(r / n), G: uint16(g / n), B: uint16(bl / n), A: uint16(a / n)}
			dst.Set(x, y, c)
		}
	}
	return dst
}
