package desk

import (
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/gate"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
)

// PolicyVerdict is what a policy says of a message it allows.
type PolicyVerdict struct {
	// MustEncrypt is set when the message may only leave encrypted.
	MustEncrypt bool
	// MinTLS is the lowest TLS version of the connection
	// (tls.VersionTLS12 or tls.VersionTLS13).
	MinTLS uint16
	// RequireTLS is set when the server must offer REQUIRETLS.
	RequireTLS bool
}

// CheckPolicy checks m against pol as Send's policy gate does, without
// composing, queueing or sending anything (securesend admin policy
// check): keys is the key store the gate consults, nil when the policy
// admits only its own keys. A refusal is a *Refused with Policy set and
// the reasons in Reasons.
func CheckPolicy(pol profile.Policy, keys *pgp.Store, m *send.Message) (*PolicyVerdict, error) {
	g := gate.New(pol, keys)
	must, err := g.CheckMessage(m)
	if err != nil {
		return nil, policyRefusal(err)
	}
	var opts send.Options
	g.Transport(gate.Route{}, &opts)
	return &PolicyVerdict{MustEncrypt: must, MinTLS: opts.MinTLSVersion, RequireTLS: opts.RequireTLS}, nil
}
