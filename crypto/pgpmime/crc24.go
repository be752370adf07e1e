package pgpmime

import "encoding/binary"

// CRC-24 of OpenPGP armor (RFC 9580 section 6.1.1), table-driven and eight
// bytes at a time ("slicing by 8"): the armor of a 50 MB document is
// checksummed in tens of milliseconds. The register is kept in the top 24
// bits of a uint32.
const (
	crc24Init = 0xB704CE << 8
	crc24Poly = 0x864CFB << 8 // 0x1864CFB without its top bit
)

var crc24Table = func() (t [8][256]uint32) {
	for i := range 256 {
		c := uint32(i) << 24
		for range 8 {
			if c&0x80000000 != 0 {
				c = c<<1 ^ crc24Poly
			} else {
				c <<= 1
			}
		}
		t[0][i] = c
	}
	for k := 1; k < 8; k++ {
		for i := range 256 {
			c := t[k-1][i]
			t[k][i] = c<<8 ^ t[0][c>>24]
		}
	}
	return t
}()

// crc24Update adds p to the register crc (crc24Init to start).
func crc24Update(crc uint32, p []byte) uint32 {
	t := &crc24Table
	for len(p) >= 8 {
		hi := crc ^ binary.BigEndian.Uint32(p)
		lo := binary.BigEndian.Uint32(p[4:])
		crc = t[7][hi>>24] ^ t[6][hi>>16&0xff] ^ t[5][hi>>8&0xff] ^ t[4][hi&0xff] ^
			t[3][lo>>24] ^ t[2][lo>>16&0xff] ^ t[1][lo>>8&0xff] ^ t[0][lo&0xff]
		p = p[8:]
	}
	for _, b := range p {
		crc = crc<<8 ^ t[0][byte(crc>>24)^b]
	}
	return crc
}

// crc24Sum returns the 24-bit checksum of register crc.
func crc24Sum(crc uint32) uint32 { return crc >> 8 }
