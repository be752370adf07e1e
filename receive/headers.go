package receive

import (
	"mime"
	"net/mail"
	"slices"
	"strings"
	"time"

	message "github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/securesend/securesend/crypto/pgp"
)

// headerSet is what one header section says about the fields a Report
// shows: the outer (unprotected) header of the message, or the protected
// header section of a cryptographic payload (RFC 9788).
type headerSet struct {
	hasFrom, hasTo, hasCc, hasSubject, hasDate, hasMessageID bool

	from      string // lower-case address of the first From address
	fromCount int    // From addresses in all From fields (ambiguous when > 1)
	to, cc    []string
	subject   string
	date      time.Time
	messageID string
	// dnt is the address of the Disposition-Notification-To field (RFC
	// 8098), lower case; "" when absent or unreadable.
	dnt string
}

// protectedMarker reports whether the Content-Type parameters of a
// cryptographic payload declare protected header fields: RFC 9788's "hp"
// ("cipher" or "clear") or the legacy protected-headers="v1" that
// Thunderbird, K-9 Mail and securesend before RFC 9788 write.
func protectedMarker(contentType string) bool {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch strings.ToLower(params["hp"]) {
	case "cipher", "clear":
		return true
	}
	return strings.EqualFold(params["protected-headers"], "v1")
}

// readHeaderSet reads the fields of h.
func readHeaderSet(h textproto.Header) *headerSet {
	mh := message.Header{Header: h}
	gh := gomail.Header{Header: mh}
	s := &headerSet{}
	if froms := h.Values("From"); len(froms) > 0 {
		s.hasFrom = true
		s.from = fromAddress(h)
		if s.from == "" {
			s.from = "(unreadable)"
		}
		for _, f := range froms {
			if list, err := mail.ParseAddressList(f); err == nil {
				s.fromCount += len(list)
			} else {
				s.fromCount++
			}
		}
		if list, err := gh.AddressList("From"); err == nil && len(list) > s.fromCount {
			s.fromCount = len(list)
		}
	}
	s.hasTo, s.to = addressField(gh, "To")
	s.hasCc, s.cc = addressField(gh, "Cc")
	if h.Has("Subject") {
		s.hasSubject = true
		if subj, err := mh.Text("Subject"); err == nil {
			s.subject = subj
		} else {
			s.subject = h.Get("Subject")
		}
	}
	if h.Has("Date") {
		s.hasDate = true
		if d, err := mail.ParseDate(h.Get("Date")); err == nil {
			s.date = d
		}
	}
	if v := h.Values("Disposition-Notification-To"); len(v) == 1 {
		if list, err := gh.AddressList("Disposition-Notification-To"); err == nil && len(list) == 1 {
			s.dnt = strings.ToLower(list[0].Address)
		}
	}
	if h.Has("Message-Id") {
		s.hasMessageID = true
		s.messageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	}
	return s
}

// addressField returns the lower-case addresses of the address-list field
// name; an unreadable value is kept as one normalised entry, so that it
// is never taken for "no recipients".
func addressField(gh gomail.Header, name string) (bool, []string) {
	if !gh.Has(name) {
		return false, nil
	}
	var out []string
	for _, v := range gh.Values(name) {
		list, err := mail.ParseAddressList(v)
		if err != nil {
			if a := strings.TrimSpace(pgp.NormalizeAddress(v)); a != "" {
				out = append(out, a)
			}
			continue
		}
		for _, a := range list {
			out = append(out, strings.ToLower(a.Address))
		}
	}
	return true, out
}

// show puts the fields of s into r, and marks them signed when signed is
// set. strict (RFC 9788: protected header fields exist) means a field
// missing from s is shown as absent; Message-ID alone then falls back to
// fallback's, unsigned.
func show(r *Report, s *headerSet, signed, strict bool, fallback *headerSet) {
	r.From, r.To, r.Cc, r.Subject, r.Date, r.MessageID = s.from, s.to, s.cc, s.subject, s.date, s.messageID
	r.Signed = SignedFields{
		From: signed && s.hasFrom, To: signed && s.hasTo, Cc: signed && s.hasCc,
		Subject: signed && s.hasSubject, Date: signed && s.hasDate, MessageID: signed && s.hasMessageID,
	}
	if strict && !s.hasMessageID && fallback != nil {
		r.MessageID = fallback.messageID
	}
	r.SubjectSigned = r.Signed.Subject
	r.DispositionNotificationTo = ""
	if signed {
		r.DispositionNotificationTo = s.dnt
	}
}

// unprotected returns the fields of other that differ from, or are absent
// among, those shown from s, labelled for display. A placeholder Subject
// of an encrypted message ("...", "[...]", securesend's "Secure message")
// is left out: it says nothing.
func unprotected(s, other *headerSet) []HeaderField {
	if other == nil || other == s {
		return nil
	}
	var out []HeaderField
	if other.hasFrom && (other.from != s.from || other.fromCount > 1) {
		out = append(out, HeaderField{Name: "From", Value: other.from})
	}
	if other.hasTo && !slices.Equal(other.to, s.to) {
		out = append(out, HeaderField{Name: "To", Value: strings.Join(other.to, ", ")})
	}
	if other.hasCc && !slices.Equal(other.cc, s.cc) {
		out = append(out, HeaderField{Name: "Cc", Value: strings.Join(other.cc, ", ")})
	}
	if other.hasSubject && other.subject != s.subject && !placeholderSubject(other.subject) {
		out = append(out, HeaderField{Name: "Subject", Value: other.subject})
	}
	if other.hasDate && !other.date.Equal(s.date) {
		out = append(out, HeaderField{Name: "Date", Value: other.date.Format(time.RFC1123Z)})
	}
	if other.hasMessageID && s.hasMessageID && other.messageID != s.messageID {
		out = append(out, HeaderField{Name: "Message-ID", Value: other.messageID})
	}
	return out
}

func placeholderSubject(s string) bool {
	switch strings.TrimSpace(s) {
	case "", "...", "[...]", "Secure message", "Encrypted Message", "Encrypted message":
		return true
	}
	return false
}
