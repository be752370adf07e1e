package nhi

import (
	"errors"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	for _, tc := range []struct {
		in     string
		want   string
		format Format
		test   bool
	}{
		{"ZZZ0016", "ZZZ0016", Old, true},
		{"ZZZ0024", "ZZZ0024", Old, true},
		{"ZAC5361", "ZAC5361", Old, true},
		{"WLD9413", "WLD9413", Old, false},
		{" wld 9413 ", "WLD9413", Old, false},
		{"ZZZ00AC", "ZZZ00AC", New, true},
		{"ZBN77VL", "ZBN77VL", New, true},
		{"zsc21tn", "ZSC21TN", New, true},
		{"zvb97xq", "ZVB97XQ", New, true},
	} {
		n, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if n.Value != tc.want || n.Format != tc.format || n.Test != tc.test {
			t.Errorf("Parse(%q) = %+v", tc.in, n)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"", "empty"},
		{"ZZZ001", "7 characters"},
		{"ZZZ00166", "7 characters"},
		{"ZZZ0044", "check digit"},
		{"ZZZ0017", "check digit"},
		{"ZZZ00AA", "check letter"},
		{"ZZZ00AD", "check letter"},
		{"ZIZ0016", "I and O"},
		{"OZZ0016", "I and O"},
		{"ZZZ00IC", "I and O"},
		{"1ZZ0016", "three letters"},
		{"ZZZA016", "digits"},
		{"ZZZ00A1", "both digits"},
		{"ZZZ001A", "both digits"},
		{"AAA0000", "check digit"}, // 18 % 11 = 7: the check digit is 4
	} {
		_, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) accepted", tc.in)
			continue
		}
		if !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Parse(%q) = %q, want it to mention %q", tc.in, err, tc.msg)
		}
	}
}

func TestCheckDigitZeroRemainderInvalid(t *testing.T) {
	// Find a prefix whose weighted sum is divisible by 11: no check digit
	// is valid for it.
	for a := byte('A'); a <= 'Z'; a++ {
		if a == 'I' || a == 'O' {
			continue
		}
		s := string([]byte{a, 'A', 'A', '0', '0', '0'})
		sum := 0
		for i := 0; i < 6; i++ {
			sum += value(s[i]) * (7 - i)
		}
		if sum%11 != 0 {
			continue
		}
		for d := byte('0'); d <= '9'; d++ {
			if _, err := Parse(s + string(d)); err == nil {
				t.Errorf("Parse(%q) accepted although the remainder is 0", s+string(d))
			}
		}
		return
	}
	t.Fatal("no prefix with remainder 0 found")
}

func TestCheckRefusesTestNumbersOutsideDemo(t *testing.T) {
	if _, err := Check("ZZZ0016", false); !errors.Is(err, ErrTestNumber) {
		t.Errorf("Check(test NHI, false) = %v, want ErrTestNumber", err)
	}
	if _, err := Check("ZZZ0016", true); err != nil {
		t.Errorf("Check(test NHI, true) = %v", err)
	}
	if _, err := Check("WLD9413", false); err != nil {
		t.Errorf("Check(real NHI, false) = %v", err)
	}
}

func TestValueSkipsIAndO(t *testing.T) {
	for c, want := range map[byte]int{'A': 1, 'H': 8, 'J': 9, 'N': 13, 'P': 14, 'Z': 24, '7': 7} {
		if got := value(c); got != want {
			t.Errorf("value(%q) = %d, want %d", c, got, want)
		}
	}
}
