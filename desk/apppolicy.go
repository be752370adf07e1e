package desk

// EncryptionRequired reports whether the policy this outbox sends under
// (the organisation's profile tightened by the user's settings; the
// demo's encrypts everything) requires a message to addr to be encrypted:
// the rule Send's policy gate applies (profile.Policy.MustEncrypt), asked
// before anything is written so that a front end can say at once that a
// recipient without a key cannot be sent to. Send still decides.
// The outbox's own Via tightenings count, as in checkVia.
func (o *Outbox) EncryptionRequired(addr string) (bool, error) {
	pol, err := o.d.side().policy(o.via.Tighten)
	if err != nil {
		return false, err
	}
	return pol.MustEncrypt([]string{addr}), nil
}
