package relay

import (
	"errors"
	"fmt"
	"strings"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/gate"
	"github.com/securesend/securesend/profile"
)

// AliasDomain is the domain of short recipient names: NAME@relay is the
// alias NAME (a bare NAME is too).
const AliasDomain = "relay"

// DirectoryResolver lets a device send only to the organisation's
// directory entries (their keys pinned by the signed profile) and to
// addresses whose keys the user pinned, where the policy lets users add
// keys and allows the address's domain, or to an alias of one of them:
// the profile's relay aliases (profile.Recipient.RelayAliases) and this
// relay's own (Aliases). It asks Current at every call, so a profile or
// key change counts at once.
type DirectoryResolver struct {
	// Current returns the policy in force now and the user's key store.
	Current func() (profile.Policy, *pgp.Store, error)
	// Aliases map short names (lower case) to addresses, in addition to
	// the profile's; they may not redefine one of the profile's
	// (CheckAliases).
	Aliases map[string]string
}

// Resolve implements Resolver. An error that does not wrap
// ErrUnknownRecipient (the profile or key store cannot be read) is
// temporary.
func (r *DirectoryResolver) Resolve(addr string) (Recipient, error) {
	target := addr
	local, domain, _ := strings.Cut(strings.ToLower(strings.TrimSpace(addr)), "@")
	if domain == AliasDomain || domain == "" {
		pol, _, err := r.Current()
		if err != nil {
			return Recipient{}, err
		}
		if d, ok := pol.Profile().Alias(local); ok {
			target = d.Email
		} else if a, ok := r.Aliases[local]; ok {
			target = a
		}
	}
	rc, err := r.resolve(target)
	if err != nil {
		return rc, err
	}
	rc.Requested = addr
	return rc, nil
}

func (r *DirectoryResolver) resolve(addr string) (Recipient, error) {
	pol, ks, err := r.Current()
	if err != nil {
		return Recipient{}, err
	}
	if d, ok := pol.Profile().Recipient(addr); ok {
		return Recipient{Address: d.Email, Name: d.Name}, nil
	}
	_, entry, err := gate.New(pol, ks).Keys().Lookup(addr)
	switch {
	case errors.Is(err, pgp.ErrNotFound) || errors.Is(err, profile.ErrKeyNotPinned):
		return Recipient{}, fmt.Errorf("%s: %w", addr, ErrUnknownRecipient)
	case err != nil:
		return Recipient{}, fmt.Errorf("%s: %w: %v", addr, ErrUnknownRecipient, err)
	case entry.Trust != pgp.Pinned:
		return Recipient{}, fmt.Errorf("%s: its key is not pinned: %w", addr, ErrUnknownRecipient)
	case !pol.Allowed(addr):
		return Recipient{}, fmt.Errorf("%s: the organisation's policy does not allow its domain: %w", addr, ErrUnknownRecipient)
	}
	return Recipient{Address: strings.ToLower(strings.TrimSpace(addr))}, nil
}

// CheckAliases resolves the address of every alias of the relay's own,
// so that a relay with an alias to nobody does not start, and refuses one
// that redefines a profile alias (the signed profile decides those).
func (r *DirectoryResolver) CheckAliases() error {
	pol, _, err := r.Current()
	if err != nil {
		return err
	}
	for name, a := range r.Aliases {
		if d, ok := pol.Profile().Alias(name); ok {
			if strings.EqualFold(d.Email, strings.TrimSpace(a)) {
				continue
			}
			return fmt.Errorf("alias %s: the organisation's profile already names %s by it", name, d.Email)
		}
		if _, err := r.resolve(a); err != nil {
			return fmt.Errorf("alias %s: %w", name, err)
		}
	}
	return nil
}
