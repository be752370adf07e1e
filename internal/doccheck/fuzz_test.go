package doccheck

import (
	"bytes"
	"testing"
)

// FuzzTIFFPages: the IFD walk never panics or loops on any input.
func FuzzTIFFPages(f *testing.F) {
	f.Add(multiTIFF(2, 4, 4, false))
	f.Add(multiTIFF(2, 4, 4, true))
	f.Add([]byte("II*\x00\x08\x00\x00\x00"))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := tiffPages(bytes.NewReader(b))
		if err == nil && (n < 1 || n > maxTIFFPages) {
			t.Fatalf("%d pages", n)
		}
	})
}
