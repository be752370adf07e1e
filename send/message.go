package send

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/mail"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/securesend/securesend/internal/manifest"
)

// Document is a file to attach. It is read from disk while the message is
// written, never loaded whole.
type Document struct {
	// Path is the file on disk.
	Path string
	// Name is the file name the recipient sees; filepath.Base(Path) if empty.
	Name string
	// ContentType is the media type; detected from the name and content when
	// empty (application/pdf, image/tiff, image/jpeg, image/png).
	ContentType string
}

// Message is what the user wants to send.
type Message struct {
	From    mail.Address
	To      []mail.Address
	Cc      []mail.Address
	Subject string
	// Note is the free-text note, sent as the first text/plain part.
	Note      string
	Documents []Document
	// MessageID is the Message-ID without angle brackets. It must be set
	// (see NewMessageID) before the first attempt and kept for every retry,
	// so receivers can de-duplicate.
	MessageID string
	// Date is the Date header; the current time when zero.
	Date time.Time

	// The fields below travel only in the message's manifest (see
	// docs/manifest.md), inside the signed and encrypted part; all are
	// optional and checked by Validate.

	// DocumentType is a lower-case word for what the documents are
	// ("prescription", "referral"); DefaultDocumentType when empty.
	DocumentType string
	// PatientNHI is the patient's National Health Index number (old or
	// new format; its check character is verified). Whether a test NHI
	// (starting with Z) may be sent is the caller's decision (nhi.Check).
	PatientNHI string
	// PrescriberName and PrescriberCPN identify the clinician
	// responsible: a name to show and an HPI Common Person Number (NNXXXX).
	PrescriberName string
	PrescriberCPN  string
	// FacilityHPI is the HPI facility ID (FXXNNN-C) of the practice.
	FacilityHPI string
	// Supersedes, when set, names the earlier message this one replaces
	// or cancels (reserved for cancel and replace, issue 16).
	Supersedes *manifest.Supersedes

	// NoAcknowledgement, when set, leaves out the request for a signed
	// acknowledgement: by default a signed message asks for one with a
	// Disposition-Notification-To field (RFC 8098) naming From, in its
	// protected header section only (docs/acknowledgements.md).
	// Acknowledgements themselves set it: nothing acknowledges them.
	NoAcknowledgement bool
}

// Security selects how the TLS session is established.
type Security int

const (
	// ImplicitTLS connects with TLS from the first byte (port 465, RFC 8314).
	// It is the zero value and the default.
	ImplicitTLS Security = iota
	// StartTLS connects in plaintext and upgrades with STARTTLS (port 587,
	// RFC 3207) before anything else is sent.
	StartTLS
)

// Authenticator chooses a SASL client given the mechanisms the server
// advertises (inside TLS). It is the seam for PLAIN/LOGIN (PasswordAuth) and
// for XOAUTH2/OAUTHBEARER later. It returns the client and its mechanism name.
type Authenticator func(mechanisms []string) (client sasl.Client, mechanism string, err error)

// Options says where and how to submit.
type Options struct {
	// Server is host:port.
	Server   string
	Security Security
	// MinTLSVersion is the lowest acceptable version; values below
	// tls.VersionTLS12 (including zero) mean tls.VersionTLS12.
	MinTLSVersion uint16
	// RootCAs, when non-nil, is trusted in addition to the system roots.
	RootCAs *x509.CertPool
	// Auth, when non-nil, authenticates after TLS is established.
	Auth Authenticator
	// RequireTLS makes the absence of the REQUIRETLS extension an error.
	RequireTLS bool
	// Timeout bounds each network step (dial, each command); 60s when zero.
	// The context bounds the whole submission.
	Timeout time.Duration
	// LocalName is the EHLO name; "localhost" when empty.
	LocalName string
	// Dial, when non-nil, replaces the network dialer (tests, proxies).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Progress, when non-nil, is called as message bytes are written to the
	// server with the running total.
	Progress func(sent int64)
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// TLSConfig, when non-nil, is cloned and used as the base TLS
	// configuration (tests); MinVersion, ServerName and RootCAs are still
	// enforced as above. InsecureSkipVerify is refused.
	TLSConfig *tls.Config
	// BeforeCommit, when non-nil, is called once per submission at the
	// commit point: after every byte of the message has been written to
	// the connection (and, with BDAT, every chunk accepted), right before
	// the end of data that makes the server take responsibility for it
	// (the final "." of DATA, or "BDAT 0 LAST"). The outbox records there,
	// durably, that the message may from now on have been delivered; an
	// attempt that dies before it is retried automatically. If it returns
	// an error, the connection is dropped without the end of data, so the
	// server discards the message, and Submit fails at stage "data" with
	// kind ErrTemporary wrapping the error.
	BeforeCommit func() error
}
