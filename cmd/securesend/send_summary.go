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

// printSummary writes the fax-style transmission confirmation.
func printSummary(w io.Writer, res *send.Result, sendErr error) {
	status := "SENT: accepted by the server for every recipient"
	switch {
	case errors.Is(sendErr, send.ErrRecipientsRejected):
		status = "PARTLY SENT: some recipients were rejected (see below)"
	case sendErr != nil:
		status = "NOT SENT"
	}
	p := func(label, format string, a ...any) { // values carry the server's words
		fmt.Fprintf(w, "%-14s %s\n", label+":", termsafe.String(fmt.Sprintf(format, a...)))
	}
	fmt.Fprintln(w, "securesend transmission report")
	fmt.Fprintln(w, strings.Repeat("=", 30))
	p("Status", "%s", status)
	if res.MessageID != "" {
		p("Message-ID", "<%s>", res.MessageID)
	}
	sec := "implicit TLS"
	if res.Security == "starttls" {
		sec = "STARTTLS"
	}
	p("Server", "%s (%s)", res.Server, sec)
	for _, r := range res.Accepted {
		p("Accepted", "%s  [%s]", r.Address, replyText(r.Reply))
	}
	for _, r := range res.Rejected {
		p("REJECTED", "%s  [%s]", r.Address, replyText(r.Reply))
	}
	if res.Reply.Code != 0 {
		p("Server reply", "%s", replyText(res.Reply))
	}
	if res.QueueID != "" {
		p("Queue ID", "%s", res.QueueID)
	}
	if res.TLS.Version != "" {
		p("Encryption", "%s, %s", res.TLS.Version, res.TLS.CipherSuite)
		p("Certificate", "%s", res.TLS.CertSubject)
		p("  issued by", "%s", res.TLS.CertIssuer)
		p("  valid until", "%s", res.TLS.CertExpiry.Format("2006-01-02"))
		p("  SHA-256", "%s", fingerprint(res.TLS.CertSHA256))
	}
	yes := map[bool]string{true: "yes (the message may only be relayed over TLS)", false: "no (not offered by the server)"}
	p("REQUIRETLS", "%s", yes[res.RequireTLS])
	if res.Encrypted {
		p("Encrypted", "yes (OpenPGP, for every recipient; the subject travels inside)")
	} else {
		p("Encrypted", "no (the content is protected by TLS in transit only)")
	}
	if res.Signed {
		p("Signed", "yes, by your key %s", pgp.Fingerprint(res.SignerFingerprint).Grouped())
	} else {
		p("Signed", "no")
	}
	if res.AuthMechanism != "" {
		p("Signed in", "yes (%s)", res.AuthMechanism)
	} else {
		p("Signed in", "no")
	}
	if res.Size > 0 {
		p("Size", "%s bytes", thousands(res.Size))
	}
	for i, d := range res.Documents {
		p(fmt.Sprintf("Document %d", i+1), "%s (%s, %s bytes)", d.Name, d.ContentType, thousands(d.Size))
		p("  SHA-256", "%s", d.SHA256)
	}
	p("Started", "%s", res.Started.Format(time.RFC3339))
	if !res.Finished.IsZero() {
		p("Finished", "%s (%s)", res.Finished.Format(time.RFC3339), res.Finished.Sub(res.Started).Round(time.Millisecond))
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
