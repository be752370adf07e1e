package termsafe

import "testing"

// TestKey: a key's text keeps what is graphic and shows everything else
// as <U+XXXX> (the escape, a bidi override, a zero-width space), invalid
// UTF-8 as U+FFFD; a real U+FFFD stays.
func TestKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Dr Alice <alice@clinic.test>", "Dr Alice <alice@clinic.test>"},
		{"Māori Ōtautahi 薬局", "Māori Ōtautahi 薬局"},
		{"evil\x1b[2Kalice", "evil<U+001B>[2Kalice"},
		{"alice\u202egnp.exe", "alice<U+202E>gnp.exe"},
		{"a\u200bb", "a<U+200B>b"},
		{"bad\xffbyte", "bad\uFFFDbyte"},
		{"kept \uFFFD", "kept \uFFFD"},
		{"line\nbreak", "line<U+000A>break"},
	}
	for _, tt := range tests {
		if got := Key(tt.in); got != tt.want {
			t.Errorf("Key(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
