//go:build ignore

// icon_gen draws icon.png: go run icon_gen.go icon.png

package main

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

// An original icon: a rounded teal square, a white envelope, and a green
// disc with a white check mark at the lower right.
func main() {
	const n = 512
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	teal := color.NRGBA{0x0b, 0x5e, 0x7a, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	green := color.NRGBA{0x1e, 0x9e, 0x4a, 0xff}
	inRounded := func(x, y, x0, y0, x1, y1, r float64) bool {
		if x < x0 || x > x1 || y < y0 || y > y1 {
			return false
		}
		cx := math.Max(x0+r, math.Min(x, x1-r))
		cy := math.Max(y0+r, math.Min(y, y1-r))
		return (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r
	}
	distSeg := func(px, py, ax, ay, bx, by float64) float64 {
		dx, dy := bx-ax, by-ay
		t := ((px-ax)*dx + (py-ay)*dy) / (dx*dx + dy*dy)
		t = math.Max(0, math.Min(1, t))
		qx, qy := ax+t*dx, ay+t*dy
		return math.Hypot(px-qx, py-qy)
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			var c color.NRGBA
			if inRounded(fx, fy, 16, 16, 496, 496, 96) {
				c = teal
			}
			// envelope body
			if inRounded(fx, fy, 96, 140, 416, 360, 18) {
				c = white
				// flap lines
				if distSeg(fx, fy, 104, 150, 256, 270) < 10 || distSeg(fx, fy, 408, 150, 256, 270) < 10 {
					c = teal
				}
			}
			// badge
			if math.Hypot(fx-380, fy-380) < 100 {
				c = white
			}
			if math.Hypot(fx-380, fy-380) < 86 {
				c = green
				if distSeg(fx, fy, 335, 382, 367, 414) < 13 || distSeg(fx, fy, 367, 414, 428, 348) < 13 {
					c = white
				}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	f, _ := os.Create(os.Args[1])
	png.Encode(f, img)
	f.Close()
}
