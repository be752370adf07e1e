package receive

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// TestBoundaryScan: the pattern is found wherever it falls across reads,
// and the bytes pass through unchanged.
func TestBoundaryScan(t *testing.T) {
	pat := "\r--b0undary"
	for _, tt := range []struct {
		in   string
		want bool
	}{
		{"", false},
		{pat, true},
		{"x" + pat + "y", true},
		{"\r-b0undary \r--b0undar", false},
		{"--b0undary\n--b0undary", false},
		{"\r\r--b0undary", true},
	} {
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"whole":    func(r io.Reader) io.Reader { return r },
			"one byte": iotest.OneByteReader,
			"half":     iotest.HalfReader,
		} {
			s := &boundaryScan{r: wrap(bytes.NewReader([]byte(tt.in))), pat: []byte(pat)}
			out, err := io.ReadAll(s)
			if err != nil || string(out) != tt.in || s.found != tt.want {
				t.Errorf("%q (%s): found %v, passed %q, %v; want found %v", tt.in, name, s.found, out, err, tt.want)
			}
		}
	}
}
