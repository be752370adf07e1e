package maildomain

import "testing"

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		domain string
		want   bool
	}{
		{"pharmacy.example.nz", true},
		{"Pharmacy.Example.NZ", true},
		{"xn--mori-qsa.example.nz", true},
		{"localhost", true},
		{"lab-1.example.nz", true},
		{"192.0.2.10", false},            // bare IPv4 address
		{"[192.0.2.10]", false},          // address literal
		{"[IPv6:2001:db8::1]", false},    // IPv6 address literal
		{"pharmacy.example.nz.", false},  // trailing dot
		{".example.nz", false},           // empty label
		{"example..nz", false},           // empty label
		{"-lab.example.nz", false},       // hyphen at a label's start
		{"lab-.example.nz", false},       // hyphen at a label's end
		{"lab_1.example.nz", false},      // underscore
		{"pharmacy.example.123", false},  // all-numeric top-level domain
		{"10", false},                    // a number
		{"", false},                      // nothing
		{"pharmäcy.example.nz", false},   // not ASCII (IDNs go as xn--)
		{"lab.example.nz\r\nbcc", false}, // line break
	} {
		if got := Valid(tc.domain); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.domain, got, tc.want)
		}
	}
	long := ""
	for len(long) < 260 {
		long += "abcdefghi."
	}
	if Valid(long + "nz") {
		t.Errorf("Valid accepts a %d-character name", len(long)+2)
	}
}

func TestOfAddress(t *testing.T) {
	for _, tc := range []struct {
		addr, domain string
		ok           bool
	}{
		{"dr@clinic.example.nz", "clinic.example.nz", true},
		{"dr@[192.0.2.10]", "[192.0.2.10]", false},
		{"dr@192.0.2.10", "192.0.2.10", false},
		{"no-at-sign", "", false},
		{`"a@b"@example.nz`, "example.nz", true},
	} {
		d, ok := OfAddress(tc.addr)
		if d != tc.domain || ok != tc.ok {
			t.Errorf("OfAddress(%q) = %q, %v; want %q, %v", tc.addr, d, ok, tc.domain, tc.ok)
		}
	}
}
