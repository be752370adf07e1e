package desk

import "fmt"

// CheckRelaySigner makes sure, before any device connects to a relay
// sending as addr, that one of the user's keys is for addr and unlocks:
// every relayed message is signed with it, and a device should not learn
// at its first scan that nothing can be sent.
func (d *Desk) CheckRelaySigner(addr string) error {
	ks, err := d.Keys()
	if err != nil {
		return err
	}
	es, err := ks.List()
	if err != nil {
		return err
	}
	for _, ent := range es {
		if !ent.Secret || !containsFold(ent.Emails, addr) {
			continue
		}
		if _, err := ks.SecretKey(ent.Fingerprint); err != nil {
			return fmt.Errorf("your key %s for %s cannot be unlocked, so nothing could be signed: %w", ent.Fingerprint.Grouped(), addr, err)
		}
		return nil
	}
	return fmt.Errorf("none of your keys is for %s, the account's address, so nothing could be signed; create one with 'securesend keys generate --email %s'", addr, addr)
}
