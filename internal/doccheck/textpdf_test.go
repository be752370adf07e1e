package doccheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTextToPDF(t *testing.T) {
	for _, tc := range []struct {
		lines int
		pages int
	}{{3, 1}, {200, 4}} {
		var lines []string
		for i := 0; i < tc.lines; i++ {
			lines = append(lines, "Queue ID: DEMO123 "+strings.Repeat("long text ", i%20))
		}
		p := filepath.Join(t.TempDir(), "confirmation.pdf")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := TextToPDF(context.Background(), f, lines); err != nil {
			t.Fatal(err)
		}
		f.Close()
		info, err := Check(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Kind != PDF || info.Pages < tc.pages {
			t.Errorf("%d lines: %+v, want at least %d pages", tc.lines, info, tc.pages)
		}
	}
}
