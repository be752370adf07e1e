package send

import "time"

// Result is the transmission confirmation of one submission: what a fax
// machine's "OK" report would show, and more.
type Result struct {
	MessageID string    `json:"message_id"`
	Server    string    `json:"server"`   // host:port submitted to
	Security  string    `json:"security"` // "tls" or "starttls"
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`

	// Reply is the server's final reply to the message data.
	Reply Reply `json:"reply"`
	// QueueID is the server's queue identifier parsed from Reply, if any.
	QueueID string `json:"queue_id,omitempty"`

	Accepted []RecipientResult `json:"accepted"`
	Rejected []RecipientResult `json:"rejected,omitempty"`

	TLS           TLSInfo `json:"tls"`
	RequireTLS    bool    `json:"requiretls"`     // REQUIRETLS was requested and accepted
	AuthMechanism string  `json:"auth,omitempty"` // SASL mechanism used, "" when none

	// Size is the message size in bytes as handed to the server (before
	// dot-stuffing), i.e. the size on the wire of the RFC 5322 message.
	Size int64 `json:"size"`

	Documents []DocumentInfo `json:"documents"`

	// Encrypted reports that the message was OpenPGP-encrypted (PGP/MIME
	// multipart/encrypted) to every recipient; Signed that it was signed,
	// by the key with SignerFingerprint (40 hex digits).
	Encrypted         bool   `json:"encrypted"`
	Signed            bool   `json:"signed"`
	SignerFingerprint string `json:"signer_fingerprint,omitempty"`
}

// SetProtection records on r how p protected the message (Encrypted,
// Signed, SignerFingerprint). r may be nil.
func (r *Result) SetProtection(p Protection) {
	if r == nil {
		return
	}
	r.Encrypted = p.Encrypt && p.Signer != nil
	r.Signed = p.Signer != nil
	r.SignerFingerprint = ""
	if p.Signer != nil {
		r.SignerFingerprint = string(p.Signer.Public().Fingerprint())
	}
}

// Reply is one SMTP reply.
type Reply struct {
	Code         int    `json:"code"`
	EnhancedCode string `json:"enhanced_code,omitempty"` // e.g. "2.0.0"
	Text         string `json:"text"`
}

// RecipientResult is the server's answer to one RCPT TO.
type RecipientResult struct {
	Address string `json:"address"`
	Reply   Reply  `json:"reply"`
}

// TLSInfo describes the negotiated TLS session.
type TLSInfo struct {
	Version     string `json:"version"`      // "TLS 1.3"
	CipherSuite string `json:"cipher_suite"` // "TLS_AES_128_GCM_SHA256"
	ServerName  string `json:"server_name"`  // name the certificate was verified for
	// CertSubject and CertIssuer are the leaf certificate's distinguished names.
	CertSubject string `json:"cert_subject"`
	CertIssuer  string `json:"cert_issuer"`
	// CertSHA256 is the hex SHA-256 fingerprint of the leaf certificate (DER).
	CertSHA256 string    `json:"cert_sha256"`
	CertExpiry time.Time `json:"cert_not_after"`
}

// DocumentInfo identifies one attached document as it was sent.
type DocumentInfo struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"` // hex
}
