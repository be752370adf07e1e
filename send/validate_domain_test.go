package send

import (
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateAddressDomain: an address whose domain is not a domain name
// (address literal, bare IP address, trailing dot) is refused with an
// error that names the field and says why, in From, To and Cc alike.
func TestValidateAddressDomain(t *testing.T) {
	doc := filepath.Join(t.TempDir(), "referral.pdf")
	if err := os.WriteFile(doc, []byte("%PDF-1.7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := func() *Message {
		return &Message{
			From:      mail.Address{Address: "dr@clinic.example.nz"},
			To:        []mail.Address{{Address: "orders@pharmacy.example.nz"}},
			Documents: []Document{{Path: doc}},
		}
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("good message: %v", err)
	}
	for _, tc := range []struct {
		name, addr string
		field      func(m *Message, a mail.Address)
		want       string // in the error
	}{
		{"To IPv4 literal", "dr@[192.0.2.10]", func(m *Message, a mail.Address) { m.To[0] = a }, `recipient 1 (To) address "dr@[192.0.2.10]"`},
		{"To IPv6 literal", "dr@[IPv6:2001:db8::1]", func(m *Message, a mail.Address) { m.To[0] = a }, "recipient 1 (To)"},
		{"To bare IP", "dr@192.0.2.10", func(m *Message, a mail.Address) { m.To[0] = a }, `"192.0.2.10" is an IP address`},
		{"To trailing dot", "dr@pharmacy.example.nz.", func(m *Message, a mail.Address) { m.To[0] = a }, "recipient 1 (To)"},
		{"Cc literal", "lab@[192.0.2.11]", func(m *Message, a mail.Address) { m.Cc = []mail.Address{a} }, "copy recipient 1 (Cc)"},
		{"From literal", "dr@[192.0.2.12]", func(m *Message, a mail.Address) { m.From = a }, "sender (From)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			tc.field(m, mail.Address{Address: tc.addr})
			err := m.Validate()
			if !errors.Is(err, ErrInvalidMessage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an ErrInvalidMessage naming %s", err, tc.want)
			}
		})
	}
}
