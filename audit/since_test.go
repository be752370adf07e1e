package audit

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Pacific/Auckland even on a machine without zoneinfo
)

// TestParseSince: a date is midnight where the user is; a time keeps its
// zone; anything else is refused with the accepted forms.
func TestParseSince(t *testing.T) {
	nz, err := time.LoadLocation("Pacific/Auckland")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-01-02", time.Date(2026, 1, 2, 0, 0, 0, 0, nz), true},
		{"2026-01-02T15:04:05+13:00", time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC), true},
		{"2026-01-02T15:04:05Z", time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC), true},
		{"02/01/2026", time.Time{}, false},
		{"2026-13-01", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := ParseSince(tt.in, nz)
		if tt.ok && (err != nil || !got.Equal(tt.want)) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "not a date like 2026-01-02")) {
			t.Errorf("ParseSince(%q) = %v, %v; want an error", tt.in, got, err)
		}
	}
}
