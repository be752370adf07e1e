package desk

import "testing"

func TestDisplayName(t *testing.T) {
	for in, want := range map[string]string{
		"scan 1.pdf":      "scan 1.pdf",
		"Überweisung.pdf": "Überweisung.pdf",
		"a\nb.pdf":        `"a\nb.pdf"`,
		"\x1b[31mred.png": `"\x1b[31mred.png"`,
		"fdp.\u202egnp":   `"fdp.\u202egnp"`,
		"bad\xffutf8.tif": `"bad\xffutf8.tif"`,
	} {
		if got := DisplayName(in); got != want {
			t.Errorf("DisplayName(%q) = %s, want %s", in, got, want)
		}
	}
}
