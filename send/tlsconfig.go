package send

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"strings"
	"time"
)

// minTLS is the lowest TLS version securesend ever accepts.
const minTLS = tls.VersionTLS12

// minVersion is the effective minimum TLS version for opts.
func minVersion(opts Options) uint16 {
	return max(opts.MinTLSVersion, minTLS)
}

// errInsecureConfig is returned for a TLSConfig with InsecureSkipVerify.
var errInsecureConfig = errors.New("send: Options.TLSConfig must not disable certificate verification (InsecureSkipVerify)")

// tlsConfig builds the client TLS configuration for host: verified
// certificates (system roots plus opts.RootCAs), ServerName = host, and at
// least TLS 1.2. onVerified is called with the connection state once the
// peer's certificate has been verified.
func tlsConfig(opts Options, host string, now func() time.Time, onVerified func(tls.ConnectionState)) (*tls.Config, error) {
	cfg := &tls.Config{}
	if opts.TLSConfig != nil {
		if opts.TLSConfig.InsecureSkipVerify {
			return nil, errInsecureConfig
		}
		cfg = opts.TLSConfig.Clone()
	}
	cfg.MinVersion = minVersion(opts)
	cfg.ServerName = host
	cfg.RootCAs = nil // the system roots...
	cfg.Time = now
	base := cfg.VerifyConnection
	extra := opts.RootCAs
	if extra != nil {
		// ...plus opts.RootCAs. A CertPool cannot be merged into another,
		// so the standard check is replaced by verifyPeer, which runs on
		// every handshake (VerifyConnection is called even when
		// InsecureSkipVerify is set) and verifies chain and host name
		// against both pools.
		cfg.InsecureSkipVerify = true
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if extra != nil {
			if err := verifyPeer(cs, host, extra, now()); err != nil {
				return err
			}
		}
		if base != nil {
			if err := base(cs); err != nil {
				return err
			}
		}
		if onVerified != nil {
			onVerified(cs)
		}
		return nil
	}
	return cfg, nil
}

// verifyPeer verifies the peer's chain and host name against extra and,
// failing that, the system roots. The error is a
// *tls.CertificateVerificationError, as the standard check would return.
func verifyPeer(cs tls.ConnectionState, host string, extra *x509.CertPool, now time.Time) error {
	certs := cs.PeerCertificates
	if len(certs) == 0 {
		return &tls.CertificateVerificationError{Err: errors.New("the server sent no certificate")}
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	vo := x509.VerifyOptions{DNSName: host, Intermediates: inter, Roots: extra, CurrentTime: now}
	_, err := certs[0].Verify(vo)
	if err == nil {
		return nil
	}
	if sys, serr := x509.SystemCertPool(); serr == nil {
		vo.Roots = sys
		if _, err2 := certs[0].Verify(vo); err2 == nil {
			return nil
		}
	}
	return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
}

// tlsInfo describes the session for the Result.
func tlsInfo(cs tls.ConnectionState, host string) TLSInfo {
	info := TLSInfo{
		Version:     tls.VersionName(cs.Version),
		CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
		ServerName:  host,
	}
	if len(cs.PeerCertificates) > 0 {
		leaf := cs.PeerCertificates[0]
		sum := sha256.Sum256(leaf.Raw)
		info.CertSubject = leaf.Subject.String()
		info.CertIssuer = leaf.Issuer.String()
		info.CertSHA256 = hex.EncodeToString(sum[:])
		info.CertExpiry = leaf.NotAfter.UTC()
	}
	return info
}

// tlsKind classifies a TLS handshake error: ErrCertificate for
// verification failures, ErrTLSVersion for version mismatches, ErrNoTLS
// when the peer does not speak TLS or the handshake fails otherwise, and
// nil for errors that are not about TLS (network failures).
func tlsKind(err error) error {
	var (
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
		rhe tls.RecordHeaderError
		ae  tls.AlertError
	)
	switch {
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &he), errors.As(err, &cie):
		return ErrCertificate
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "protocol version"), strings.Contains(msg, "unsupported protocol version"),
		strings.Contains(msg, "no supported versions"), strings.Contains(msg, "server selected unsupported"):
		return ErrTLSVersion
	case strings.Contains(msg, "certificate"):
		// e.g. the server rejected or could not use a certificate (alerts
		// "bad certificate", "unknown certificate authority").
		return ErrCertificate
	case errors.As(err, &rhe), errors.As(err, &ae), strings.HasPrefix(msg, "tls:"), strings.Contains(msg, "remote error: tls:"):
		return ErrNoTLS
	}
	return nil
}
