package asciifold

import "testing"

func TestEqual(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"smtp.Kowhai.example.nz", "SMTP.kowhai.EXAMPLE.NZ", true},
		{"kate@pharmacy.test", "kate@pharmacy.test", true},
		{"\u212Aate@pharmacy.test", "kate@pharmacy.test", false}, // KELVIN SIGN
		{"localho\u017Ft", "localhost", false},                   // LONG S
		{"a", "ab", false},
		{"", "", true},
		{"É", "é", false}, // only ASCII letters fold
	} {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
