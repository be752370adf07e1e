package relay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/securesend/securesend/internal/atomicfile"
)

// Generated certificate file names, in the folder given to
// LoadOrCreateCertificate.
const (
	CertFile = "relay-cert.pem"
	KeyFile  = "relay-key.pem"
)

// certValidity is how long a generated certificate is valid. MFDs pin it
// by fingerprint (or trust it on first use): a long life spares the admin
// re-pinning every device.
const certValidity = 10 * 365 * 24 * time.Hour

// LoadCertificate loads the admin's certificate chain and key (PEM files).
func LoadCertificate(certFile, keyFile string) (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("relay: certificate: %w", err)
	}
	return c, nil
}

// LoadOrCreateCertificate loads the relay's own certificate from dir
// (CertFile, KeyFile), or generates a self-signed ECDSA P-256 one for
// hosts (names and IP addresses) and keeps it there (the key mode 0600).
// created says which.
func LoadOrCreateCertificate(dir string, hosts []string, now time.Time) (c tls.Certificate, created bool, err error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	c, err = tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil {
		return c, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return tls.Certificate{}, false, fmt.Errorf("relay: certificate in %s: %w (remove %s and %s to make a new one)", dir, err, CertFile, KeyFile)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("relay: certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("relay: certificate: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "securesend relay", Organization: []string{"securesend"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("relay: certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("relay: certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	// The key first: a certificate without its key would look usable.
	if err := atomicfile.WriteFile(keyPath, keyPEM); err != nil {
		return tls.Certificate{}, false, fmt.Errorf("relay: certificate: %w", err)
	}
	if err := atomicfile.WriteFile(certPath, certPEM); err != nil {
		return tls.Certificate{}, false, fmt.Errorf("relay: certificate: %w", err)
	}
	c, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("relay: certificate: %w", err)
	}
	return c, true, nil
}

// Fingerprint is the SHA-256 fingerprint of c's leaf certificate, as MFDs'
// certificate pinning screens show it: upper-case hex pairs joined by ':'.
func Fingerprint(c tls.Certificate) string {
	if len(c.Certificate) == 0 {
		return ""
	}
	sum := sha256.Sum256(c.Certificate[0])
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	pairs := make([]string, 0, len(sum))
	for i := 0; i < len(h); i += 2 {
		pairs = append(pairs, h[i:i+2])
	}
	return strings.Join(pairs, ":")
}
