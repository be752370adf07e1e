package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/send"
)

// field prints one line of a report, its label in a column and its
// value made safe for the terminal (values carry a server's words).
func field(w io.Writer, label, format string, a ...any) {
	fmt.Fprintf(w, "%-14s %s\n", label+":", termsafe.String(fmt.Sprintf(format, a...)))
}

// printSummary writes the fax-style transmission confirmation of a
// delivery: after 'send', and in 'outbox show' of a sent job (sendErr
// nil; its rejected recipients make it PARTLY SENT).
func printSummary(w io.Writer, res *send.Result, sendErr error) {
	status := "SENT: accepted by the server for every recipient"
	switch {
	case errors.Is(sendErr, send.ErrRecipientsRejected) || (sendErr == nil && len(res.Rejected) > 0):
		status = "PARTLY SENT: some recipients were rejected (see below)"
	case sendErr != nil:
		status = "NOT SENT"
	}
	fmt.Fprintln(w, "securesend transmission report")
	fmt.Fprintln(w, strings.Repeat("=", 30))
	field(w, "Status", "%s", status)
	if res.MessageID != "" {
		field(w, "Message-ID", "<%s>", res.MessageID)
	}
	sec := "implicit TLS"
	if res.Security == "starttls" {
		sec = "STARTTLS"
	}
	field(w, "Server", "%s (%s)", res.Server, sec)
	for _, r := range res.Accepted {
		field(w, "Accepted", "%s  [%s]", r.Address, replyText(r.Reply))
	}
	for _, r := range res.Rejected {
		field(w, "REJECTED", "%s  [%s]", r.Address, replyText(r.Reply))
	}
	if res.Reply.Code != 0 {
		field(w, "Server reply", "%s", replyText(res.Reply))
	}
	if res.QueueID != "" {
		field(w, "Queue ID", "%s", res.QueueID)
	}
	if res.TLS.Version != "" {
		field(w, "Encryption", "%s, %s", res.TLS.Version, res.TLS.CipherSuite)
		field(w, "Certificate", "%s", res.TLS.CertSubject)
		field(w, "  issued by", "%s", res.TLS.CertIssuer)
		field(w, "  valid until", "%s", res.TLS.CertExpiry.Format("2006-01-02"))
		field(w, "  SHA-256", "%s", fingerprint(res.TLS.CertSHA256))
	}
	yes := map[bool]string{true: "yes (the message may only be relayed over TLS)", false: "no (not offered by the server)"}
	field(w, "REQUIRETLS", "%s", yes[res.RequireTLS])
	if res.AuthMechanism != "" {
		field(w, "Signed in", "yes (%s)", res.AuthMechanism)
	} else {
		field(w, "Signed in", "no")
	}
	printProtection(w, res.Encrypted, res.Signed, res.SignerFingerprint, res.Size, res.Documents)
	field(w, "Started", "%s", res.Started.Format(time.RFC3339))
	if !res.Finished.IsZero() {
		field(w, "Finished", "%s (%s)", res.Finished.Format(time.RFC3339), res.Finished.Sub(res.Started).Round(time.Millisecond))
	}
}

// printProtection writes how a message is protected and what it carries:
// for a delivery's report, and for a job not sent yet.
func printProtection(w io.Writer, encrypted, signed bool, signer string, size int64, docs []send.DocumentInfo) {
	if encrypted {
		field(w, "Encrypted", "yes (OpenPGP, for every recipient; the subject travels inside)")
	} else {
		field(w, "Encrypted", "no (the content is protected by TLS in transit only)")
	}
	if signed {
		field(w, "Signed", "yes, by your key %s", pgp.Fingerprint(signer).Grouped())
	} else {
		field(w, "Signed", "no")
	}
	if size > 0 {
		field(w, "Size", "%s bytes", thousands(size))
	}
	for i, d := range docs {
		field(w, fmt.Sprintf("Document %d", i+1), "%s (%s, %s bytes)", d.Name, d.ContentType, thousands(d.Size))
		field(w, "  SHA-256", "%s", d.SHA256)
	}
}

func replyText(r send.Reply) string {
	s := fmt.Sprint(r.Code)
	if r.EnhancedCode != "" {
		s += " " + r.EnhancedCode
	}
	if r.Text != "" {
		s += " " + r.Text
	}
	return s
}

// fingerprint groups a hex digest in colon-separated byte pairs.
func fingerprint(hex string) string {
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
