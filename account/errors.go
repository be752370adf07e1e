package account

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// Error kinds returned when connecting to an account's servers. They say
// plainly what went wrong; none carries a credential.
var (
	// ErrNotFound: there is no account of that name.
	ErrNotFound = errors.New("no such account")
	// ErrExists: an account of that name already exists.
	ErrExists = errors.New("an account of that name already exists")
	// ErrNoTLS: the server did not offer STARTTLS, or STARTTLS failed. No
	// credential was sent.
	ErrNoTLS = errors.New("the mail server did not offer encryption (STARTTLS), so no credential was sent")
	// ErrTLSVersion: the server only offers a TLS version below 1.2. No
	// credential was sent.
	ErrTLSVersion = errors.New("the mail server only offers an outdated TLS version, so no credential was sent")
	// ErrCertificate: the server's certificate is untrusted, expired or not
	// valid for its name. No credential was sent.
	ErrCertificate = errors.New("the mail server's certificate could not be verified, so no credential was sent")
	// ErrAuth: the server refused the sign-in or offers no usable mechanism.
	ErrAuth = errors.New("the mail server rejected the sign-in")
	// ErrUnreachable: the server could not be reached.
	ErrUnreachable = errors.New("could not connect to the mail server")
)

// classifyTLS maps a TLS handshake error to ErrCertificate or ErrTLSVersion
// (or ErrNoTLS for anything else that broke the handshake).
func classifyTLS(stage, server string, err error) error {
	var (
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		he  x509.HostnameError
		ci  x509.CertificateInvalidError
		alt tls.AlertError
	)
	switch {
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		return fmt.Errorf("%s %s: %w: %w", stage, server, ErrCertificate, err)
	case errors.As(err, &alt) && alt == 70, // protocol_version
		strings.Contains(err.Error(), "protocol version"):
		return fmt.Errorf("%s %s: %w: %w", stage, server, ErrTLSVersion, err)
	}
	return fmt.Errorf("%s %s: %w: %w", stage, server, ErrNoTLS, err)
}
