package desk

import (
	"net/mail"
	"strings"

	"github.com/securesend/securesend/crypto/pgp"
)

// Correspondent is an address to offer as a recipient, with what is known
// of its key.
type Correspondent struct {
	Name, Address string
	// KeyState is the key's trust: "pinned" (checked, or from the
	// organisation's signed directory) or "unverified".
	KeyState string
}

// Correspondents lists every correspondent in the key store ks (each
// address of every public key, not the user's own keys nor the address
// self), with the key's trust as its state and the name of its first
// user ID.
func Correspondents(ks *pgp.Store, self string) ([]Correspondent, error) {
	entries, err := ks.List()
	if err != nil {
		return nil, err
	}
	var out []Correspondent
	for _, en := range entries {
		if en.Secret {
			continue
		}
		name := ""
		if len(en.UserIDs) > 0 {
			if a, err := mail.ParseAddress(en.UserIDs[0]); err == nil {
				name = a.Name
			}
		}
		for _, addr := range en.Emails {
			if strings.EqualFold(addr, self) {
				continue
			}
			out = append(out, Correspondent{Name: name, Address: addr, KeyState: string(en.Trust)})
		}
	}
	return out, nil
}

// ManageKeys returns, as a KeyManager, the key store whose
// correspondents Recipients lists: the home's for an account, the demo
// clinician's (made for this session) in demo mode. A front end lists,
// imports and pins correspondents' keys there, so that what it shows is
// what the To field offers.
func (st *Setup) ManageKeys() (*KeyManager, error) {
	return st.Outbox.d.ManageKeys()
}

// OwnKey finds the user's own key for addr in ks: its fingerprint in
// groups of four ("" when there is none, so what is sent is not signed)
// and a note saying the same in words for the Settings tab.
func OwnKey(ks *pgp.Store, addr string) (grouped, note string) {
	entries, err := ks.List()
	if err != nil {
		return "", "cannot read the key store: " + err.Error()
	}
	var other []string
	for _, en := range entries {
		if !en.Secret {
			continue
		}
		for _, m := range en.Emails {
			if strings.EqualFold(m, addr) {
				g := en.Fingerprint.Grouped()
				return g, g
			}
		}
		other = append(other, en.Fingerprint.Grouped()+" ("+strings.Join(en.Emails, ", ")+")")
	}
	if len(other) > 0 {
		return "", "none for " + addr + " (yours: " + strings.Join(other, "; ") + "): create one below under Your key"
	}
	return "", "none yet: create one below under Your key (messages are sent unsigned until then)"
}
