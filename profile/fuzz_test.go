package profile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never panics, and every error is a *FieldError with a
// line inside the file.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.toml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err == nil {
			if p.Format != FormatVersion || p.Serial < 1 || p.Organisation.Name == "" {
				t.Fatalf("accepted an incomplete profile: %+v", p)
			}
			return
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("%T is not a *FieldError: %v", err, err)
		}
		lines := 1
		for _, c := range data {
			if c == '\n' {
				lines++
			}
		}
		if fe.Line < 0 || fe.Line > lines {
			t.Fatalf("line %d outside the file (%d lines): %v", fe.Line, lines, err)
		}
	})
}
