package winname

import "testing"

func TestReserved(t *testing.T) {
	for name, want := range map[string]bool{
		"NUL.tar.gz": true, "CON .pdf": true, "com\u00b9.pdf": true, "CONIN$": true, "clock$.txt": true,
		"lpt9": true, "nul. .pdf": true, "LPT1 ..pdf": true,
		"console.pdf": false, "COM10.pdf": false, "prescription.pdf": false, "_NUL.pdf": false, "": false,
	} {
		if got := Reserved(name); got != want {
			t.Errorf("Reserved(%q) = %v, want %v", name, got, want)
		}
	}
}
