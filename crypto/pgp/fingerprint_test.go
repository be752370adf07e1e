package pgp

import "testing"

func TestFingerprint(t *testing.T) {
	const want = "0123456789ABCDEF0123456789ABCDEF01234567"
	tests := []struct {
		in      string
		wantErr bool
	}{
		{in: want},
		{in: "0123 4567 89ab cdef 0123  4567 89ab cdef 0123 4567"},
		{in: "0x0123456789abcdef0123456789abcdef01234567"},
		{in: "0123", wantErr: true},
		{in: "Z123456789ABCDEF0123456789ABCDEF01234567", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseFingerprint(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseFingerprint(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && string(got) != want {
			t.Errorf("ParseFingerprint(%q) = %q, want %q", tt.in, got, want)
		}
	}
	g := Fingerprint(want).Grouped()
	if g != "0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567" {
		t.Errorf("Grouped = %q", g)
	}
}
