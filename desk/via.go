package desk

import (
	"fmt"
	"sync"
	"time"

	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/send"
)

// ViaOptions say how a message goes out in the words of the command
// line's settings ('securesend send', 'outbox run', 'hotfolder'): a
// stored account, or a server given by hand, and the user's tightenings
// of the policy. Via checks them and makes the Via; its errors name the
// setting by its flag ("--min-tls must be 1.2 or 1.3, ...").
type ViaOptions struct {
	// Account is the stored account to send with; when set, the server
	// settings below must be empty.
	Account string
	// Server is the submission server as host:port, when there is no
	// Account.
	Server string
	// Security is "tls" (implicit TLS, the default when "") or
	// "starttls".
	Security string
	// CAFile is a PEM file of extra CA certificates to trust.
	CAFile string
	// User signs in to Server with Password; "" for no sign-in.
	User string
	// Password, when not nil, returns User's password. Via calls it at
	// most once, and only when a delivery needs it (after the policy
	// allowed the server).
	Password func() (string, error)
	// MinTLS is "1.2" (the default when "") or "1.3".
	MinTLS string
	// RequireTLS requires the server's REQUIRETLS (RFC 8689).
	RequireTLS bool
	// Timeout bounds each step of a connection; it must be positive.
	Timeout time.Duration
}

// ParseSecurity parses the --security setting: "tls" (or "") or
// "starttls".
func ParseSecurity(s string) (send.Security, error) {
	switch s {
	case "tls", "":
		return send.ImplicitTLS, nil
	case "starttls":
		return send.StartTLS, nil
	}
	return send.ImplicitTLS, fmt.Errorf("--security must be tls or starttls, not %q", s)
}

// Via checks o and returns the Via it names: the account, or the server
// with its security, CA file and sign-in; MinTLS, RequireTLS and Timeout
// tighten the policy.
func (o ViaOptions) Via() (Via, error) {
	v := Via{Account: o.Account, Timeout: o.Timeout,
		Tighten: profile.UserSettings{MinTLS: o.MinTLS, RequireREQUIRETLS: o.RequireTLS}}
	if o.Account == "" {
		sec, err := ParseSecurity(o.Security)
		if err != nil {
			return v, err
		}
		v.Server = &Server{Address: o.Server, Security: sec, User: o.User, CAFile: o.CAFile}
		if o.Password != nil {
			v.Server.Password = sync.OnceValues(o.Password)
		}
	}
	switch o.MinTLS {
	case "1.2", "1.3", "":
	default:
		return v, fmt.Errorf("--min-tls must be 1.2 or 1.3, not %q", o.MinTLS)
	}
	if o.Timeout <= 0 {
		return v, fmt.Errorf("--timeout must be positive")
	}
	return v, nil
}
