package termsafe

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Prescription for J. Test (NHI ZZZ0016)", "Prescription for J. Test (NHI ZZZ0016)"},
		{"maori and emoji kept", "Tēnā koe 🙂 Ōtautahi", "Tēnā koe 🙂 Ōtautahi"},
		{"empty", "", ""},
		{"escape sequence", "ok\x1b[1A\x1b[2KVERIFIED", `ok\x1b[1A\x1b[2KVERIFIED`},
		{"carriage return", "bad\rVERIFIED", `bad\x0dVERIFIED`},
		{"newline in a one-line field", "a\nb", `a\x0ab`},
		{"tab", "a\tb", `a\x09b`},
		{"nul and del", "a\x00b\x7f", `a\x00b\x7f`},
		{"bell and backspace", "\a\b", `\x07\x08`},
		{"C1 CSI", "a\u009b2Jb", "a<U+009B>2Jb"},
		{"C1 NEL", "a\u0085b", "a<U+0085>b"},
		{"RLO", "invoice\u202Efdp.exe", "invoice<U+202E>fdp.exe"},
		{"LRI PDI", "\u2066x\u2069", "<U+2066>x<U+2069>"},
		{"RLM ALM", "\u200f\u061c", "<U+200F><U+061C>"},
		{"zero width space and joiner", "ali\u200bce\u200d", "ali<U+200B>ce<U+200D>"},
		{"BOM", "\ufeffx", "<U+FEFF>x"},
		{"soft hyphen", "a\u00adb", "a<U+00AD>b"},
		{"tag character", "a\U000E0041", "a<U+E0041>"},
		{"line separator", "a\u2028b\u2029", "a<U+2028>b<U+2029>"},
		{"private use", "\ue000", "<U+E000>"},
		{"noncharacter", "\uffff", "<U+FFFF>"},
		{"invalid utf-8", "a\xffb\xc3", "a\ufffdb\ufffd"},
		{"surrogate bytes", "\xed\xa0\x80", "\ufffd\ufffd\ufffd"},
		{"real replacement char kept", "\ufffd", "\ufffd"},
		{"backslash kept", `C:\x`, `C:\x`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"lines and tabs kept", "Dispense 30\n\tthen stop", "Dispense 30\n\tthen stop"},
		{"CRLF becomes LF", "a\r\nb", "a\nb"},
		{"lone CR escaped", "Dispense 90\rDispense 30", `Dispense 90\x0dDispense 30`},
		{"escape sequence", "x\x1b]0;title\x07", `x\x1b]0;title\x07`},
		{"bidi", "take \u202e03\u202c tablets", "take <U+202E>03<U+202C> tablets"},
		{"trailing CR", "a\r", `a\x0d`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Text(tt.in); got != tt.want {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if got := Lines("a\r\nb\x1b"); len(got) != 2 || got[1] != `b\x1b` {
		t.Errorf("Lines = %q", got)
	}
}

// FuzzString checks the invariants: the output is valid UTF-8, holds no
// unsafe character (no newline for String), and safe input is unchanged.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[2J", "a\u202eb", "\xff\xfe", "a\r\nb", "\u2066\u2069", "\U000E0041"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, _ := json.Marshal(s)
		js := JSON(raw)
		var back string
		if err := json.Unmarshal(js, &back); err != nil || back != strings.ToValidUTF8(s, "\ufffd") && utf8.ValidString(s) {
			t.Fatalf("JSON(%s) = %s: %v, %q", raw, js, err, back)
		}
		if strings.ContainsFunc(string(js), Unsafe) {
			t.Fatalf("JSON(%s) = %s keeps an unsafe character", raw, js)
		}
		for _, c := range []struct {
			name      string
			out       string
			multiline bool
		}{{"String", String(s), false}, {"Text", Text(s), true}} {
			if !utf8.ValidString(c.out) {
				t.Fatalf("%s(%q) = %q: invalid UTF-8", c.name, s, c.out)
			}
			for _, r := range c.out {
				if c.multiline && (r == '\n' || r == '\t') {
					continue
				}
				if Unsafe(r) {
					t.Fatalf("%s(%q) = %q keeps %U", c.name, s, c.out, r)
				}
			}
			safe := utf8.ValidString(s) && !strings.ContainsFunc(s, Unsafe)
			if safe && c.out != s && !c.multiline {
				t.Fatalf("%s changed safe input %q to %q", c.name, s, c.out)
			}
		}
	})
}

func TestJSON(t *testing.T) {
	in := map[string]string{
		"subject": "a\u202eb\x1b[2K\u0085c\U000E0041 Tēnā 🙂",
		"name":    "x\u2066y\u2028",
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got := JSON(raw)
	for _, r := range string(got) {
		if Unsafe(r) {
			t.Fatalf("JSON keeps %U: %s", r, got)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("not JSON any more: %v\n%s", err, got)
	}
	for k, v := range in {
		if back[k] != v {
			t.Errorf("%s: %q, want %q", k, back[k], v)
		}
	}
	if !strings.Contains(string(got), `a\u202eb`) || !strings.Contains(string(got), `Tēnā 🙂`) {
		t.Errorf("got %s", got)
	}
	plain := []byte(`{"a":"b"}`)
	if g := JSON(plain); &g[0] != &plain[0] {
		t.Error("safe JSON was copied")
	}
	if g := string(JSON([]byte("\"a\xffb\""))); g != `"a\ufffdb"` {
		t.Errorf("invalid UTF-8: %s", g)
	}
}
