package profile

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// aliasProfile is Example plus the Main Street and Harbour pharmacies
// with the given relay aliases.
func aliasProfile(t *testing.T, mainst, harbour []string) []byte {
	t.Helper()
	data := Example("Kowhai Medical Centre")
	for _, r := range []struct {
		name, email, key string
		aliases          []string
	}{
		{"Main Street Pharmacy", "orders@mainst-pharmacy.example.nz", "testdata/recipient_mainst_pharmacy.asc", mainst},
		{"Harbour Pharmacy", "scripts@harbour-pharmacy.example.nz", "testdata/recipient_harbour_pharmacy.asc", harbour},
	} {
		key, err := os.ReadFile(r.key)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, RecipientTOML(Recipient{Name: r.name, Email: r.email, PublicKey: string(key), RelayAliases: r.aliases})...)
	}
	return data
}

func TestRelayAliases(t *testing.T) {
	tests := []struct {
		name             string
		mainst, harbour  []string
		wantField, words string // wantField "": parses
	}{
		{name: "none", mainst: nil, harbour: nil},
		{name: "one each", mainst: []string{"mainst"}, harbour: []string{"harbour", "harbour-pharmacy", "h.2_x"}},
		{name: "upper case", mainst: []string{"MainSt"}, wantField: "recipient[1].relay_aliases", words: "lower-case"},
		{name: "with @", mainst: []string{"mainst@relay"}, wantField: "recipient[1].relay_aliases", words: "lower-case"},
		{name: "leading dot", mainst: []string{".mainst"}, wantField: "recipient[1].relay_aliases", words: "not first"},
		{name: "empty", mainst: []string{""}, wantField: "recipient[1].relay_aliases", words: "1 to 64"},
		{name: "too long", mainst: []string{strings.Repeat("a", 65)}, wantField: "recipient[1].relay_aliases", words: "1 to 64"},
		{name: "space", harbour: []string{"harbour pharmacy"}, wantField: "recipient[2].relay_aliases", words: "lower-case"},
		{name: "twice in one entry", mainst: []string{"ms", "ms"}, wantField: "recipient[1].relay_aliases", words: "already an alias in recipient[1]"},
		{name: "same alias for two entries", mainst: []string{"pharmacy"}, harbour: []string{"pharmacy"}, wantField: "recipient[2].relay_aliases", words: "already an alias in recipient[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse(aliasProfile(t, tt.mainst, tt.harbour))
			if tt.wantField == "" {
				if err != nil {
					t.Fatal(err)
				}
				for _, a := range tt.harbour {
					r, ok := p.Alias(strings.ToUpper(a))
					if !ok || r.Email != "scripts@harbour-pharmacy.example.nz" {
						t.Errorf("Alias(%q) = %+v, %v", a, r, ok)
					}
				}
				for _, a := range tt.mainst {
					if r, ok := p.Alias(a); !ok || r.Email != "orders@mainst-pharmacy.example.nz" {
						t.Errorf("Alias(%q) = %+v, %v", a, r, ok)
					}
				}
				if _, ok := p.Alias("nobody"); ok {
					t.Error("an unknown alias resolved")
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField || !errors.Is(err, ErrInvalidValue) || fe.Line == 0 {
				t.Fatalf("got %v, want an invalid value of %s with its line", err, tt.wantField)
			}
			if !strings.Contains(err.Error(), tt.words) {
				t.Errorf("%q does not say %q", err, tt.words)
			}
		})
	}
}

func TestRelayAliasWrongType(t *testing.T) {
	data := []byte(strings.Replace(string(aliasProfile(t, []string{"mainst"}, nil)), `relay_aliases = ["mainst"]`, `relay_aliases = "mainst"`, 1))
	_, err := Parse(data)
	var fe *FieldError
	if !errors.As(err, &fe) || !errors.Is(err, ErrWrongType) || fe.Field != "recipient[1].relay_aliases" {
		t.Fatalf("a string instead of a list: %v", err)
	}
}

func TestNilProfileAliases(t *testing.T) {
	var p *Profile
	if _, ok := p.Alias("x"); ok {
		t.Error("a nil profile has no aliases")
	}
}
