package hpi

import "testing"

func TestParseCPN(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"91ZZWJ", "91ZZWJ", true},
		{" 98zznm ", "98ZZNM", true},
		{"", "", false},
		{"91ZZW", "", false},
		{"9AZZWJ", "", false},
		{"91ZZW1", "", false},
		{"91ZZWO", "", false}, // O is never issued
		{"91ZZWJX", "", false},
		{"91\x1bZWJ", "", false},
	}
	for _, tt := range tests {
		got, err := ParseCPN(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseCPN(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseFacility(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"F2N060-E", "F2N060-E", true},
		{"fzz999-b", "FZZ999-B", true},
		{"F2N060E", "", false},
		{"G2N060-E", "", false}, // an organisation ID, not a facility
		{"F2N06A-E", "", false},
		{"F2I060-E", "", false},
		{"F2N060-", "", false},
		{"F2N060-\u00e9", "", false},
	}
	for _, tt := range tests {
		got, err := ParseFacility(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseFacility(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
