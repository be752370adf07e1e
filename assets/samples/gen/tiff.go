package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// referralPages is the text of the sample referral letter, one slice per
// page, as it would look when scanned on a fax-era MFD.
var referralPages = [][]string{
	{
		"SAMPLE \u2014 NOT A REAL PRESCRIPTION",
		"Referral letter (test document)",
		"",
		"To: Testville Community Pharmacy (test)",
		"From: Dr A. Sample, Kowhai Street Medical Centre",
		"",
		"Re: TEST PATIENT, Sample",
		"NHI: ZZZ0016 (test number)",
		"",
		"Please review the attached sample",
		"prescription with the patient.",
		"",
		"Generated for software testing only.",
		"Page 1 of 2",
	},
	{
		"SAMPLE \u2014 NOT A REAL PRESCRIPTION",
		"",
		"Clinical notes (test content)",
		"  Nothing real is recorded here.",
		"",
		"Page 2 of 2",
	},
}

const (
	tiffDPI    = 100
	tiffWidth  = 827  // A4 at 100 dpi
	tiffHeight = 1169 // A4 at 100 dpi
)

// renderPage draws lines of text onto a white A4 page at 100 dpi.
func renderPage(lines []string, regular, heading font.Face) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, tiffWidth, tiffHeight))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	// A border, as on a letterhead.
	for x := 40; x < tiffWidth-40; x++ {
		img.SetGray(x, 40, color.Gray{})
		img.SetGray(x, tiffHeight-40, color.Gray{})
	}
	for y := 40; y <= tiffHeight-40; y++ {
		img.SetGray(40, y, color.Gray{})
		img.SetGray(tiffWidth-41, y, color.Gray{})
	}
	y := 110
	for i, line := range lines {
		face := regular
		if i == 0 {
			face = heading
		}
		d := font.Drawer{Dst: img, Src: image.Black, Face: face, Dot: fixed.P(80, y)}
		d.DrawString(line)
		y += 36
	}
	return img
}

// bilevelRows converts img to 1-bit rows, WhiteIsZero (1 = black).
func bilevelRows(img *image.Gray) [][]byte {
	b := img.Bounds()
	rows := make([][]byte, b.Dy())
	for y := range rows {
		row := make([]byte, (b.Dx()+7)/8)
		for x := 0; x < b.Dx(); x++ {
			if img.GrayAt(b.Min.X+x, b.Min.Y+y).Y < 128 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
		rows[y] = row
	}
	return rows
}

// packBits compresses one row with the PackBits scheme (TIFF 6.0 section 9).
func packBits(row []byte) []byte {
	var out []byte
	for i := 0; i < len(row); {
		// Length of the run of equal bytes starting at i.
		run := 1
		for i+run < len(row) && run < 128 && row[i+run] == row[i] {
			run++
		}
		if run >= 2 {
			out = append(out, byte(1-run), row[i])
			i += run
			continue
		}
		// A literal stretch up to the next run of 2 or more.
		j := i
		for j < len(row) && j-i < 128 && (j+1 >= len(row) || row[j+1] != row[j]) {
			j++
		}
		if j == i {
			j = i + 1
		}
		out = append(out, byte(j-i-1))
		out = append(out, row[i:j]...)
		i = j
	}
	return out
}

// referralTIFF returns a multi-page, bilevel, PackBits-compressed TIFF.
func referralTIFF() ([]byte, error) {
	regular, err := newFace(goregular.TTF, 20)
	if err != nil {
		return nil, err
	}
	heading, err := newFace(gobold.TTF, 26)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	var out bytes.Buffer
	out.Write([]byte{'I', 'I', 42, 0, 0, 0, 0, 0}) // first IFD offset patched below
	prevNext := 4                                  // where to write the next IFD's offset
	for p, lines := range referralPages {
		var strip []byte
		for _, row := range bilevelRows(renderPage(lines, regular, heading)) {
			strip = append(strip, packBits(row)...)
		}
		stripOff := out.Len()
		out.Write(strip)
		if out.Len()%2 == 1 {
			out.WriteByte(0) // IFDs start on a word boundary
		}
		resOff := out.Len()
		for range 2 { // XResolution, YResolution: tiffDPI/1
			binary.Write(&out, le, uint32(tiffDPI))
			binary.Write(&out, le, uint32(1))
		}
		type entry struct {
			tag, typ uint16
			count    uint32
			value    uint32
		}
		const short, long, rational = 3, 4, 5
		entries := []entry{
			{254, long, 1, 2},                                           // NewSubfileType: page
			{256, long, 1, tiffWidth},                                   // ImageWidth
			{257, long, 1, tiffHeight},                                  // ImageLength
			{258, short, 1, 1},                                          // BitsPerSample
			{259, short, 1, 32773},                                      // Compression: PackBits
			{262, short, 1, 0},                                          // Photometric: WhiteIsZero
			{273, long, 1, uint32(stripOff)},                            // StripOffsets
			{277, short, 1, 1},                                          // SamplesPerPixel
			{278, long, 1, tiffHeight},                                  // RowsPerStrip
			{279, long, 1, uint32(len(strip))},                          // StripByteCounts
			{282, rational, 1, uint32(resOff)},                          // XResolution
			{283, rational, 1, uint32(resOff + 8)},                      // YResolution
			{296, short, 1, 2},                                          // ResolutionUnit: inch
			{297, short, 2, uint32(p) | uint32(len(referralPages))<<16}, // PageNumber
		}
		ifdOff := out.Len()
		le.PutUint32(out.Bytes()[prevNext:], uint32(ifdOff))
		binary.Write(&out, le, uint16(len(entries)))
		for _, e := range entries {
			binary.Write(&out, le, e.tag)
			binary.Write(&out, le, e.typ)
			binary.Write(&out, le, e.count)
			binary.Write(&out, le, e.value) // SHORT values sit in the low half (little endian)
		}
		prevNext = out.Len()
		binary.Write(&out, le, uint32(0)) // next IFD, patched by the next page
	}
	if out.Len() > 1<<30 {
		return nil, fmt.Errorf("tiff too large")
	}
	return out.Bytes(), nil
}

func newFace(ttf []byte, size float64) (font.Face, error) {
	f, err := opentype.Parse(ttf)
	if err != nil {
		return nil, err
	}
	return opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
}
