package desk

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/send"
)

// transmissionTitle heads the fax-style transmission report
// (transmissionReport).
const transmissionTitle = "securesend transmission report"

// transmissionReport is the fax-style transmission confirmation of a
// delivery as labelled fields, every value made safe for a terminal (they
// carry a server's words): after 'send', and in 'outbox show' of a sent
// job (sendErr nil; its rejected recipients make it PARTLY SENT).
func transmissionReport(res *send.Result, sendErr error) []Field {
	var fs fields
	status := "SENT: accepted by the server for every recipient"
	switch {
	case errors.Is(sendErr, send.ErrRecipientsRejected) || (sendErr == nil && len(res.Rejected) > 0):
		status = "PARTLY SENT: some recipients were rejected (see below)"
	case sendErr != nil:
		status = "NOT SENT"
	}
	fs.add("Status", "%s", status)
	if res.MessageID != "" {
		fs.add("Message-ID", "<%s>", res.MessageID)
	}
	sec := "implicit TLS"
	if res.Security == "starttls" {
		sec = "STARTTLS"
	}
	fs.add("Server", "%s (%s)", res.Server, sec)
	for _, r := range res.Accepted {
		fs.add("Accepted", "%s  [%s]", r.Address, replyText(r.Reply))
	}
	for _, r := range res.Rejected {
		fs.add("REJECTED", "%s  [%s]", r.Address, replyText(r.Reply))
	}
	if res.Reply.Code != 0 {
		fs.add("Server reply", "%s", replyText(res.Reply))
	}
	if res.QueueID != "" {
		fs.add("Queue ID", "%s", res.QueueID)
	}
	if res.TLS.Version != "" {
		fs.add("Encryption", "%s, %s", res.TLS.Version, res.TLS.CipherSuite)
		fs.add("Certificate", "%s", res.TLS.CertSubject)
		fs.add("  issued by", "%s", res.TLS.CertIssuer)
		fs.add("  valid until", "%s", res.TLS.CertExpiry.Format("2006-01-02"))
		fs.add("  SHA-256", "%s", colonHex(res.TLS.CertSHA256))
	}
	yes := map[bool]string{true: "yes (the message may only be relayed over TLS)", false: "no (not offered by the server)"}
	fs.add("REQUIRETLS", "%s", yes[res.RequireTLS])
	if res.AuthMechanism != "" {
		fs.add("Signed in", "yes (%s)", res.AuthMechanism)
	} else {
		fs.add("Signed in", "no")
	}
	fs = append(fs, protectionFields(res.Encrypted, res.Signed, res.SignerFingerprint, res.Size, res.Documents)...)
	fs.add("Started", "%s", res.Started.Format(time.RFC3339))
	if !res.Finished.IsZero() {
		fs.add("Finished", "%s (%s)", res.Finished.Format(time.RFC3339), res.Finished.Sub(res.Started).Round(time.Millisecond))
	}
	return fs
}

// protectionFields say how a message is protected and what it carries:
// for a delivery's report, and for a job not sent yet.
func protectionFields(encrypted, signed bool, signer string, size int64, docs []send.DocumentInfo) []Field {
	var fs fields
	if encrypted {
		fs.add("Encrypted", "yes (OpenPGP, for every recipient; the subject travels inside)")
	} else {
		fs.add("Encrypted", "no (the content is protected by TLS in transit only)")
	}
	if signed {
		fs.add("Signed", "yes, by your key %s", pgp.Fingerprint(signer).Grouped())
	} else {
		fs.add("Signed", "no")
	}
	if size > 0 {
		fs.add("Size", "%s bytes", thousands(size))
	}
	for i, d := range docs {
		fs.add(fmt.Sprintf("Document %d", i+1), "%s (%s, %s bytes)", d.Name, d.ContentType, thousands(d.Size))
		fs.add("  SHA-256", "%s", d.SHA256)
	}
	return fs
}

// fields builds a list of Fields whose values are made safe.
type fields []Field

// add appends the field label with its value formatted and made safe for
// a terminal.
func (fs *fields) add(label, format string, a ...any) {
	*fs = append(*fs, Field{label, termsafe.String(fmt.Sprintf(format, a...))})
}

// replyText is an SMTP reply as one line: code, enhanced code, text
// (made safe and bounded, shownError).
func replyText(r send.Reply) string {
	s := fmt.Sprint(r.Code)
	if r.EnhancedCode != "" {
		s += " " + r.EnhancedCode
	}
	if r.Text != "" {
		s += " " + shownError(r.Text)
	}
	return s
}

// colonHex groups a hex digest in colon-separated upper-case byte pairs.
func colonHex(hex string) string {
	var parts []string
	for i := 0; i+2 <= len(hex); i += 2 {
		parts = append(parts, strings.ToUpper(hex[i:i+2]))
	}
	return strings.Join(parts, ":")
}

// thousands formats n with thousands separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// ErrorJSON is the machine-readable form of a failed send, as 'send
// --json' and the relay print it.
type ErrorJSON struct {
	Kind    string      `json:"kind"`
	Stage   string      `json:"stage,omitempty"`
	Message string      `json:"message"`
	Reply   *send.Reply `json:"reply,omitempty"`
}

// errorKinds are the ErrorJSON kinds of send's errors, first match wins.
var errorKinds = []struct {
	err  error
	name string
}{
	{send.ErrRecipientsRejected, "recipients_rejected"},
	{send.ErrNoTLS, "no_tls"},
	{send.ErrTLSVersion, "tls_version"},
	{send.ErrCertificate, "certificate"},
	{send.ErrAuth, "auth"},
	{send.ErrRequireTLS, "requiretls"},
	{send.ErrTemporary, "temporary"},
	{send.ErrPermanent, "permanent"},
	{send.ErrInvalidMessage, "invalid_message"},
}

// JSONError is err as ErrorJSON (its message PlainError's), nil for nil.
func JSONError(err error) *ErrorJSON {
	if err == nil {
		return nil
	}
	je := &ErrorJSON{Kind: "other", Message: PlainError(err)}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			je.Kind = k.name
			break
		}
	}
	var se *send.Error
	if errors.As(err, &se) {
		je.Stage = se.Stage
		if se.Reply.Code != 0 {
			r := se.Reply
			je.Reply = &r
		}
	}
	return je
}
