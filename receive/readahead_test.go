package receive

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// A source's own error, io.ErrUnexpectedEOF included (a truncated
// stream), reaches the reader as it is and is not turned into io.EOF.
func TestReadAheadPassesSourceErrors(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100)
	for _, srcErr := range []error{io.ErrUnexpectedEOF, errors.New("boom")} {
		for _, size := range []int{7, 1000, 4096} {
			src := io.MultiReader(bytes.NewReader(data), iotest.ErrReader(srcErr))
			a := readAhead(src, size, 2)
			got, err := io.ReadAll(a)
			a.Close()
			if !errors.Is(err, srcErr) {
				t.Errorf("size %d, source error %v: got error %v", size, srcErr, err)
			}
			if !bytes.Equal(got, data) {
				t.Errorf("size %d: got %d bytes, want %d", size, len(got), len(data))
			}
		}
	}
	for _, size := range []int{7, 1000, 4096} {
		a := readAhead(iotest.HalfReader(bytes.NewReader(data)), size, 2)
		got, err := io.ReadAll(a)
		a.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("size %d, clean end: %d bytes, error %v", size, len(got), err)
		}
	}
}
