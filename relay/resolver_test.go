package relay

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/profile"
)

// aliasResolver is a DirectoryResolver over a real profile (Main Street
// with the alias "mainst", Harbour with none) and an empty key store,
// with the relay's own aliases.
func aliasResolver(t *testing.T, own map[string]string) *DirectoryResolver {
	t.Helper()
	data := profile.Example("Kowhai Medical Centre")
	for _, r := range []struct {
		name, email, key string
		aliases          []string
	}{
		{"Main Street Pharmacy", "orders@mainst-pharmacy.example.nz", "recipient_mainst_pharmacy.asc", []string{"mainst"}},
		{"Harbour Pharmacy", "scripts@harbour-pharmacy.example.nz", "recipient_harbour_pharmacy.asc", nil},
	} {
		key, err := os.ReadFile("../profile/testdata/" + r.key)
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, profile.RecipientTOML(profile.Recipient{Name: r.name, Email: r.email, PublicKey: string(key), RelayAliases: r.aliases})...)
	}
	p, err := profile.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := pgp.OpenStore(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &DirectoryResolver{Aliases: own, Current: func() (profile.Policy, *pgp.Store, error) {
		return profile.Effective(p), ks, nil
	}}
}

// TestDirectoryResolverProfileAliases: the profile's relay aliases reach
// their directory entries (NAME@relay or a bare NAME, any case); the
// relay's own aliases add to them; anything else is an unknown recipient.
func TestDirectoryResolverProfileAliases(t *testing.T) {
	r := aliasResolver(t, map[string]string{"harbour": "scripts@harbour-pharmacy.example.nz"})
	if err := r.CheckAliases(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		to, want string // want "": unknown
	}{
		{"mainst@relay", "orders@mainst-pharmacy.example.nz"},
		{"MainSt@Relay", "orders@mainst-pharmacy.example.nz"},
		{"mainst", "orders@mainst-pharmacy.example.nz"},
		{"harbour@relay", "scripts@harbour-pharmacy.example.nz"},
		{"orders@mainst-pharmacy.example.nz", "orders@mainst-pharmacy.example.nz"},
		{"mainst@mainst-pharmacy.example.nz", ""}, // an alias only in the relay's domain
		{"nobody@relay", ""},
		{"someone@elsewhere.example.nz", ""},
	}
	for _, tt := range tests {
		t.Run(tt.to, func(t *testing.T) {
			rc, err := r.Resolve(tt.to)
			if tt.want == "" {
				if !errors.Is(err, ErrUnknownRecipient) {
					t.Fatalf("Resolve(%q) = %+v, %v; want unknown recipient", tt.to, rc, err)
				}
				return
			}
			if err != nil || rc.Address != tt.want || rc.Requested != tt.to {
				t.Fatalf("Resolve(%q) = %+v, %v; want %s", tt.to, rc, err, tt.want)
			}
		})
	}
}

// TestDirectoryResolverCheckAliases: a relay alias must name a directory
// or pinned recipient, and may not give a profile alias another address
// (the same address again is harmless).
func TestDirectoryResolverCheckAliases(t *testing.T) {
	tests := []struct {
		name  string
		own   map[string]string
		words string // "": accepted
	}{
		{"same as the profile", map[string]string{"mainst": "Orders@mainst-pharmacy.example.nz"}, ""},
		{"redefines the profile's", map[string]string{"mainst": "scripts@harbour-pharmacy.example.nz"}, "profile already names orders@mainst-pharmacy.example.nz"},
		{"to nobody", map[string]string{"lab": "lab@results.example.nz"}, "not a directory or pinned recipient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := aliasResolver(t, tt.own).CheckAliases()
			if tt.words == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.words) {
				t.Fatalf("got %v, want %q", err, tt.words)
			}
		})
	}
}
