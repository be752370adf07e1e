package pgpmime

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzRawReader: splitting never panics, parts never contain a delimiter
// line of their own boundary, and reading one byte at a time (the line by
// line path) gives the same parts as reading in bulk (the fast path).
// Run it bounded: go test -fuzz FuzzRawReader -fuzztime 60s -fuzzminimizetime 50x
func FuzzRawReader(f *testing.F) {
	f.Add("--b\r\nA: 1\r\n\r\nx\r\n--b\r\ny\r\n--b--\r\n", "b")
	f.Add("--b\nx\n--b--", "b")
	f.Add("--b\r\n", "b")
	f.Fuzz(func(t *testing.T, body, boundary string) {
		if boundary == "" || strings.ContainsAny(boundary, "\r\n") {
			return
		}
		if bulk, slow := splitAll(strings.NewReader(body), boundary), splitAll(iotest.OneByteReader(strings.NewReader(body)), boundary); bulk != slow {
			t.Fatalf("bulk and byte-wise reads differ:\n%s\n%s", bulk, slow)
		}
		m := NewRawReader(strings.NewReader(body), boundary)
		for i := 0; i < 2000; i++ {
			p, err := m.NextPart()
			if err != nil {
				return
			}
			b, err := io.ReadAll(p)
			for _, line := range strings.Split(string(b), "\n") {
				if strings.TrimRight(line, " \t\r") == "--"+boundary {
					t.Fatalf("part contains its delimiter: %q", b)
				}
			}
			if err != nil {
				return
			}
		}
		t.Fatal("too many parts")
	})
}

// splitAll describes every part of body and how the split ended.
func splitAll(r io.Reader, boundary string) string {
	m := NewRawReader(r, boundary)
	var b strings.Builder
	for i := 0; i < 2000; i++ {
		p, err := m.NextPart()
		if err != nil {
			fmt.Fprintf(&b, "end: %v", err)
			return b.String()
		}
		data, err := io.ReadAll(p)
		fmt.Fprintf(&b, "part %q err %v\n", data, err)
	}
	return b.String()
}

// FuzzArmorReader: reading armor in bulk (whole buffered lines) and one
// byte at a time (line by line) gives the same data and the same failure.
func FuzzArmorReader(f *testing.F) {
	f.Add("-----BEGIN PGP MESSAGE-----\r\n\r\nQUJD\r\nREVG\r\n=abcd\r\n-----END PGP MESSAGE-----\r\n")
	f.Add("-----BEGIN PGP MESSAGE-----\n\nQU\rJD\nRE\rVG\n-----END PGP MESSAGE-----\n")
	f.Fuzz(func(t *testing.T, in string) {
		bulk, berr := io.ReadAll(ArmorReader(strings.NewReader(in)))
		slow, serr := io.ReadAll(ArmorReader(iotest.OneByteReader(strings.NewReader(in))))
		if string(bulk) != string(slow) || (berr == nil) != (serr == nil) {
			t.Fatalf("bulk %q (%v), byte-wise %q (%v)", bulk, berr, slow, serr)
		}
	})
}
