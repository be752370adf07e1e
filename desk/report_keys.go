package desk

import (
	"fmt"
	"strings"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/termsafe"
)

// KeyText makes text from a key (user IDs, addresses) safe to print on a
// terminal: control, bidi and other invisible format characters are shown
// as <U+XXXX>, invalid UTF-8 as U+FFFD.
func KeyText(s string) string { return termsafe.Key(s) }

// boundText describes the addresses ent is bound to, or what it claims
// when it is bound to none, made safe (KeyText).
func boundText(ent pgp.Entry) string {
	if len(ent.Emails) > 0 {
		return KeyText(strings.Join(ent.Emails, ", "))
	}
	return "(not bound to any address; claims " + KeyText(strings.Join(ent.Claimed, ", ")) + ")"
}

// KeyLine is the line of ent in 'keys list': its trust ("yours" for
// your own key), its fingerprint and its addresses.
func KeyLine(ent pgp.Entry) string {
	trust := string(ent.Trust)
	if ent.Secret {
		trust = "yours"
	}
	return fmt.Sprintf("%-10s %s  %s", trust, ent.Fingerprint.Grouped(), boundText(ent))
}

// KeyDetails are what 'keys show' prints of the key fpr: its user IDs,
// the addresses it is bound to, its trust, its dates and whether it can be
// encrypted to now.
func (m *KeyManager) KeyDetails(fpr pgp.Fingerprint) ([]string, error) {
	ent, err := m.Entry(fpr)
	if err != nil {
		return nil, err
	}
	k, err := m.Public(fpr)
	if err != nil {
		return nil, err
	}
	trust := string(ent.Trust)
	if ent.Secret {
		trust = "yours (secret key locked on disk, passphrase in the OS keychain)"
	}
	fs := []Field{{"Fingerprint", fpr.Grouped()}}
	for _, id := range k.UserIDs() {
		fs = append(fs, Field{"User ID", KeyText(id)})
	}
	fs = append(fs, Field{"Bound to", boundText(ent)}, Field{"Trust", trust},
		Field{"Created", k.Created().UTC().Format("2006-01-02")})
	if exp := k.Expires(); !exp.IsZero() {
		fs = append(fs, Field{"Expires", exp.UTC().Format("2006-01-02")})
	}
	status := "usable"
	if err := k.UsableForEncryption(m.d.Now()); err != nil {
		status = "not usable to encrypt: " + KeyText(err.Error())
	}
	return fieldLines(append(fs, Field{"Status", status}), 12), nil
}
