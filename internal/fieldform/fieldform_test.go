package fieldform

import (
	"strings"
	"testing"
)

func TestForms(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	tests := []struct {
		name  string
		check func(string) error
		in    string
		ok    bool
	}{
		{"text plain", func(s string) error { return Text(s, 20) }, "Āwhina script.pdf", true},
		{"text empty", func(s string) error { return Text(s, 20) }, "", true},
		{"text too long", func(s string) error { return Text(s, 20) }, strings.Repeat("a", 21), false},
		{"text invalid UTF-8", func(s string) error { return Text(s, 20) }, "a\xff", false},
		{"text escape", func(s string) error { return Text(s, 20) }, "a\x1b[2J", false},
		{"text bidi", func(s string) error { return Text(s, 20) }, "fdp.\u202eexe", false},
		{"text newline", func(s string) error { return Text(s, 20) }, "a\nb", false},
		{"message id", MessageID, "abc.123@clinic.example", true},
		{"message id empty", MessageID, "", false},
		{"message id no at", MessageID, "abc", false},
		{"message id brackets", MessageID, "<abc@clinic.example>", false},
		{"message id space", MessageID, "a bc@clinic.example", false},
		{"message id non-ASCII", MessageID, "ä@clinic.example", false},
		{"message id too long", MessageID, strings.Repeat("a", 990) + "@clinic.x", false},
		{"address", Address, "pharmacy@pharmacy.example", true},
		{"address empty", Address, "", false},
		{"address upper case", Address, "Pharmacy@pharmacy.example", false},
		{"address two ats", Address, "a@b@c", false},
		{"address display name", Address, "Ph <p@x.example>", false},
		{"address too long", Address, strings.Repeat("a", 250) + "@x.nz", false},
		{"hash", SHA256, hash, true},
		{"hash upper case", SHA256, strings.ToUpper(hash), false},
		{"hash short", SHA256, hash[:63], false},
		{"hash not hex", SHA256, "g" + hash[1:], false},
	}
	for _, tt := range tests {
		err := tt.check(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && tt.in != "" && strings.Contains(err.Error(), tt.in) {
			t.Errorf("%s: error quotes the value: %v", tt.name, err)
		}
	}
}
