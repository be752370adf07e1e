package pgpmime

import (
	"io"
	"strings"
	"testing"
)

// FuzzRawReader: splitting never panics and parts never contain a
// delimiter line of their own boundary.
// Run it bounded: go test -fuzz FuzzRawReader -fuzztime 60s -fuzzminimizetime 50x
func FuzzRawReader(f *testing.F) {
	f.Add("--b\r\nA: 1\r\n\r\nx\r\n--b\r\ny\r\n--b--\r\n", "b")
	f.Add("--b\nx\n--b--", "b")
	f.Add("--b\r\n", "b")
	f.Fuzz(func(t *testing.T, body, boundary string) {
		if boundary == "" || strings.ContainsAny(boundary, "\r\n") {
			return
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
