package nhi

import (
	"strings"
	"testing"
)

// TestMessagesAreOneSentence: every reason Parse gives is one plain
// sentence that does not repeat that the NHI is invalid (the app says
// that once, before it), so "NHI not valid: this is not a valid NHI: …"
// cannot happen.
func TestMessagesAreOneSentence(t *testing.T) {
	for _, in := range []string{"", "ZZZ001", "ZZZ0044", "ZZZ00AA", "ZIZ0016", "1ZZ0016", "ZZZA016", "ZZZ00A1", "AAA0000"} {
		_, err := Parse(in)
		if err == nil {
			t.Fatalf("Parse(%q) accepted", in)
		}
		msg := err.Error()
		if strings.ContainsAny(msg, ";:") || strings.Contains(strings.ToLower(msg), "not a valid nhi") || strings.HasSuffix(msg, ".") {
			t.Errorf("Parse(%q): %q is not one plain sentence", in, msg)
		}
	}
}
