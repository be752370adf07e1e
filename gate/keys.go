package gate

import (
	"fmt"
	"strings"
	"time"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
)

// Keys finds encryption keys as the policy allows: for a directory
// recipient always the directory's key (pinned by the signed profile); for
// anyone else the key store's key, and only when the policy lets users add
// keys. It implements send.KeyLookup. Get it from Gate.Keys.
type Keys struct {
	pol   profile.Policy
	store *pgp.Store // nil: no user keys
	now   func() time.Time
}

var _ send.KeyLookup = Keys{}

// Lookup returns the key to encrypt to addr (send.KeyLookup).
func (k Keys) Lookup(addr string) (*pgp.PublicKey, pgp.Entry, error) {
	now := time.Now
	if k.now != nil {
		now = k.now
	}
	if r, ok := k.pol.Profile().Recipient(addr); ok {
		key, err := pgp.ReadPublicKey(strings.NewReader(r.PublicKey))
		if err != nil {
			return nil, pgp.Entry{}, fmt.Errorf("directory key for %s: %w", addr, err)
		}
		if err := key.UsableForEncryption(now()); err != nil {
			return nil, pgp.Entry{}, fmt.Errorf("directory key for %s: %w", addr, err)
		}
		return key, pgp.Entry{Fingerprint: key.Fingerprint(), Emails: []string{r.Email}, Trust: pgp.Pinned}, nil
	}
	if !k.pol.MayAddKeys() || k.store == nil {
		return nil, pgp.Entry{}, fmt.Errorf("%s: %w: %w", addr, profile.ErrKeyNotPinned, pgp.ErrNotFound)
	}
	return k.store.Lookup(addr)
}

// Has reports whether Lookup finds a usable key for addr (the HaveKey of
// profile.Outgoing).
func (k Keys) Has(addr string) bool {
	_, _, err := k.Lookup(addr)
	return err == nil
}
