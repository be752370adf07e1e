package account

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// extraRoots returns the account's CA file as a pool, or nil when it has
// none.
func (a *Account) extraRoots() (*x509.CertPool, error) {
	if a.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(a.CAFile)
	if err != nil {
		return nil, fmt.Errorf("account %s: CA file: %w", a.Name, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("account %s: CA file %s holds no PEM certificate", a.Name, a.CAFile)
	}
	return pool, nil
}

// tlsConfig is the client TLS configuration for host: TLS 1.2 or later,
// certificates verified against the system roots plus the account's CA file.
func (a *Account) tlsConfig(host string) (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if a.CAFile != "" {
		pem, err := os.ReadFile(a.CAFile)
		if err != nil {
			return nil, fmt.Errorf("account %s: CA file: %w", a.Name, err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("account %s: CA file %s holds no PEM certificate", a.Name, a.CAFile)
		}
	}
	return &tls.Config{
		ServerName: host,
		RootCAs:    roots,
		MinVersion: tls.VersionTLS12,
	}, nil
}

// TLSInfo describes a negotiated TLS session.
type TLSInfo struct {
	Version     string `json:"version"`
	CipherSuite string `json:"cipher_suite"`
	ServerName  string `json:"server_name"`
}

func tlsInfo(cs tls.ConnectionState) TLSInfo {
	return TLSInfo{
		Version:     tls.VersionName(cs.Version),
		CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
		ServerName:  cs.ServerName,
	}
}
