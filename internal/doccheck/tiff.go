package doccheck

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxTIFFPages bounds the IFD chain walk.
const maxTIFFPages = 10000

// tiffPages counts the images (IFDs) in a classic TIFF file by walking the
// chain of directories, refusing loops and offsets outside the file.
func tiffPages(r io.ReadSeeker) (int, error) {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	var hdr [8]byte
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, errors.New("the header is cut short")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if hdr[0] == 'M' {
		bo = binary.BigEndian
	}
	off := int64(bo.Uint32(hdr[4:]))
	seen := map[int64]bool{}
	pages := 0
	for off != 0 {
		if off < 8 || off+2 > size {
			return 0, fmt.Errorf("page %d points outside the file", pages+1)
		}
		if seen[off] {
			return 0, errors.New("its pages refer to each other in a loop")
		}
		seen[off] = true
		if pages++; pages > maxTIFFPages {
			return 0, fmt.Errorf("it claims more than %d pages", maxTIFFPages)
		}
		var b [4]byte
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(r, b[:2]); err != nil {
			return 0, fmt.Errorf("page %d is cut short", pages)
		}
		entries := int64(bo.Uint16(b[:2]))
		if entries == 0 {
			return 0, fmt.Errorf("page %d is empty", pages)
		}
		next := off + 2 + 12*entries
		if next+4 > size {
			return 0, fmt.Errorf("page %d is cut short", pages)
		}
		if _, err := r.Seek(next, io.SeekStart); err != nil {
			return 0, err
		}
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, fmt.Errorf("page %d is cut short", pages)
		}
		off = int64(bo.Uint32(b[:]))
	}
	if pages == 0 {
		return 0, errors.New("it has no pages")
	}
	return pages, nil
}
