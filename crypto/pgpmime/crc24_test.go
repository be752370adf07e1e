package pgpmime

import (
	"math/rand/v2"
	"testing"
)

// crc24Bitwise is RFC 9580's reference CRC-24, one bit at a time.
func crc24Bitwise(p []byte) uint32 {
	crc := uint32(0xB704CE)
	for _, b := range p {
		crc ^= uint32(b) << 16
		for range 8 {
			crc <<= 1
			if crc&0x1000000 != 0 {
				crc ^= 0x1864CFB
			}
		}
	}
	return crc & 0xFFFFFF
}

func TestCRC24(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for n := range 40 {
		for _, split := range []int{0, 1, 7, 8, 9} {
			p := data[:n*25]
			s := min(split, len(p))
			got := crc24Sum(crc24Update(crc24Update(crc24Init, p[:s]), p[s:]))
			if want := crc24Bitwise(p); got != want {
				t.Fatalf("len %d split %d: %06x, want %06x", len(p), s, got, want)
			}
		}
	}
}

func BenchmarkCRC24(b *testing.B) {
	p := make([]byte, 64<<10)
	b.SetBytes(int64(len(p)))
	crc := uint32(crc24Init)
	for b.Loop() {
		crc = crc24Update(crc, p)
	}
	_ = crc
}
