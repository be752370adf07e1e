package clocale

import "testing"

func TestIsC(t *testing.T) {
	for v, want := range map[string]bool{
		"C": true, "C.UTF-8": true, "C.utf8": true, "POSIX": true,
		"": false, "en_NZ.UTF-8": false, "mi_NZ": false, "Ca": false,
	} {
		if got := isC(v); got != want {
			t.Errorf("isC(%q) = %v, want %v", v, got, want)
		}
	}
}
