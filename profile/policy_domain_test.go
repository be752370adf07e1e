package profile

import (
	"errors"
	"testing"
)

// TestCheckSendAddressLiterals: the policy reasons about domains, so an
// address without a domain name (address literal, bare IP address,
// trailing dot) is refused as an invalid address, and never matched by or
// let past a domain rule: not under "any domain", not under encryption
// for a domain list, not under an allow-list.
func TestCheckSendAddressLiterals(t *testing.T) {
	open := Effective(nil)
	domains := Effective(&Profile{Policy: OrgPolicy{MinTLS: "1.2", Encryption: EncryptDomains,
		EncryptDomains: []string{"example.nz"}, UsersMayAddRecipients: true, UsersMayAddKeys: true}})
	allow := Effective(&Profile{Policy: OrgPolicy{MinTLS: "1.2", Encryption: EncryptAuto,
		AllowedRecipientDomains: []string{"pharmacy.example.nz"}, UsersMayAddRecipients: true, UsersMayAddKeys: true}})
	for _, addr := range []string{
		"dr@[192.0.2.10]",
		"Dr Who <dr@[192.0.2.10]>",
		"dr@192.0.2.10",
		"dr@[IPv6:2001:db8::1]",
		"dr@pharmacy.example.nz.",
	} {
		for name, pol := range map[string]Policy{"unmanaged": open, "encrypt domains": domains, "allow-list": allow} {
			err := pol.CheckSend(Outgoing{From: "gp@clinic.example.nz", To: []string{addr}, HaveKey: func(string) bool { return true }})
			if !errors.Is(err, ErrInvalidAddress) {
				t.Errorf("%s: CheckSend(To %q) = %v, want ErrInvalidAddress", name, addr, err)
			}
			if pol.Allowed(addr) && pol.Profile() != nil && name == "allow-list" {
				t.Errorf("%s: Allowed(%q) = true", name, addr)
			}
		}
		if err := open.CheckSend(Outgoing{From: addr, To: []string{"orders@pharmacy.example.nz"}}); !errors.Is(err, ErrInvalidAddress) {
			t.Errorf("CheckSend(From %q) = %v, want ErrInvalidAddress", addr, err)
		}
	}
	// good addresses still pass, including a single-label name
	for _, addr := range []string{"orders@pharmacy.example.nz", "Orders <ORDERS@Pharmacy.Example.NZ>", "root@localhost"} {
		if err := open.CheckSend(Outgoing{From: "gp@clinic.example.nz", To: []string{addr}}); err != nil {
			t.Errorf("CheckSend(To %q) = %v", addr, err)
		}
	}
	// a domain rule never takes an IP address for a domain
	if v := (&validator{}); validDomain("192.0.2.10") || validDomain("lab.example.nz.") || v.err != nil {
		t.Error("validDomain accepts an IP address or a trailing dot")
	}
}
