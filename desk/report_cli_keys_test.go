package desk

import (
	"slices"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
)

// TestKeyImportedLines: an imported key says which addresses it is bound
// to; one not pinned says how to pin it (for the first address, or for
// each address the owner confirms when none is bound); what the key says
// about itself is made safe for a terminal.
func TestKeyImportedLines(t *testing.T) {
	fpr := pgp.Fingerprint("92ED5241BA63195B7331E0E1D0C4F7A27B2D374A")
	for _, c := range []struct {
		name string
		ent  pgp.Entry
		want []string
	}{
		{"pinned", pgp.Entry{Fingerprint: fpr, Emails: []string{"a@pharmacy.test"}, Trust: pgp.Pinned},
			[]string{"Imported " + fpr.Grouped() + " for a@pharmacy.test (pinned)."}},
		{"bound", pgp.Entry{Fingerprint: fpr, Emails: []string{"a@pharmacy.test", "b@pharmacy.test"}, Trust: pgp.Unverified},
			[]string{"Imported " + fpr.Grouped() + " for a@pharmacy.test, b@pharmacy.test (unverified).",
				"Compare the fingerprint with its owner (by phone, in person), then run 'securesend keys pin " + string(fpr) + " --email a@pharmacy.test'."}},
		{"unbound", pgp.Entry{Fingerprint: fpr, Claimed: []string{"evil\x1b[2J@x.test"}, Trust: pgp.Unverified},
			[]string{"Imported " + fpr.Grouped() + " (unverified), not bound to any address; it claims evil<U+001B>[2J@x.test.",
				"Compare the fingerprint with its owner (by phone, in person), then run 'securesend keys pin " + string(fpr) + " --email ADDRESS' for each address they confirm."}},
	} {
		if got := KeyImportedLines(c.ent); !slices.Equal(got, c.want) {
			t.Errorf("%s:\n%q\nwant\n%q", c.name, got, c.want)
		}
	}
}

// TestOwnKeyLines: the user's own key, made here or imported, shows its
// fingerprint and says its passphrase is in the keychain.
func TestOwnKeyLines(t *testing.T) {
	ent := pgp.Entry{Fingerprint: "92ED5241BA63195B7331E0E1D0C4F7A27B2D374A", UserIDs: []string{"Dr A <a@clinic.test>"}, Secret: true}
	made, imported := strings.Join(OwnKeyLines(ent, true), "\n"), strings.Join(OwnKeyLines(ent, false), "\n")
	for _, want := range []string{"Created your key for Dr A <a@clinic.test>", "Fingerprint: " + ent.Fingerprint.Grouped(), "its passphrase is in the OS keychain"} {
		if !strings.Contains(made, want) {
			t.Errorf("made: %q lacks %q", made, want)
		}
	}
	if want := "Imported your key " + ent.Fingerprint.Grouped() + " (Dr A <a@clinic.test>)."; !strings.HasPrefix(imported, want) || !strings.Contains(imported, "OS keychain") {
		t.Errorf("imported: %q", imported)
	}
}
