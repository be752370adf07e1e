package desk

import (
	"fmt"
	"strings"

	"github.com/securesend/securesend/crypto/pgp"
)

// OwnKeyLines are what 'keys generate' (made) and 'keys import --secret'
// print about the user's own key ent: its fingerprint and where its
// passphrase is. Text from the key is made safe (KeyText).
func OwnKeyLines(ent pgp.Entry, made bool) []string {
	uids := KeyText(strings.Join(ent.UserIDs, ", "))
	if !made {
		return []string{
			fmt.Sprintf("Imported your key %s (%s).", ent.Fingerprint.Grouped(), uids),
			"It is now locked with a new random passphrase kept in the OS keychain.",
		}
	}
	return []string{
		"Created your key for " + uids,
		"Fingerprint: " + ent.Fingerprint.Grouped(),
		"The secret key is locked on disk; its passphrase is in the OS keychain.",
		"Give your correspondents 'securesend keys export' and read them the fingerprint.",
	}
}

// KeyImportedLines are what 'keys import' prints about a correspondent's
// key ent: the addresses it is bound to and, unless it is pinned, how to
// pin it after comparing its fingerprint with its owner. Text from the key
// is made safe (KeyText).
func KeyImportedLines(ent pgp.Entry) []string {
	if len(ent.Emails) == 0 {
		return []string{
			fmt.Sprintf("Imported %s (%s), not bound to any address; it claims %s.", ent.Fingerprint.Grouped(), ent.Trust, KeyText(strings.Join(ent.Claimed, ", "))),
			fmt.Sprintf("Compare the fingerprint with its owner (by phone, in person), then run 'securesend keys pin %s --email ADDRESS' for each address they confirm.", ent.Fingerprint),
		}
	}
	out := []string{fmt.Sprintf("Imported %s for %s (%s).", ent.Fingerprint.Grouped(), KeyText(strings.Join(ent.Emails, ", ")), ent.Trust)}
	if ent.Trust != pgp.Pinned {
		out = append(out, fmt.Sprintf("Compare the fingerprint with its owner (by phone, in person), then run 'securesend keys pin %s --email %s'.", ent.Fingerprint, ent.Emails[0]))
	}
	return out
}
