package ack

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"unicode"
	"unicode/utf8"

	mtextproto "github.com/emersion/go-message/textproto"

	"github.com/securesend/securesend/internal/strictjson"
	"github.com/securesend/securesend/internal/termsafe"
)

// Parse reads one acknowledgement entity (Write's form: header, blank
// line, multipart/report body) from r, at most MaxEntity bytes, and
// returns its Receipt. It is strict: the report-type must be
// disposition-notification; exactly the three parts, in order (text/plain,
// message/disposition-notification, application/vnd.securesend.ack+json),
// each within its bound; the two machine-readable parts must agree
// (ParseParts). Content errors wrap ErrInvalid and never quote the
// content.
func Parse(r io.Reader) (*Receipt, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxEntity+1))
	if err != nil {
		return nil, fmt.Errorf("acknowledgement: read: %w", err)
	}
	if len(data) > MaxEntity {
		return nil, invalid("", "is larger than %d KiB", MaxEntity>>10)
	}
	br := bufio.NewReader(bytes.NewReader(data))
	h, err := mtextproto.ReadHeader(br)
	if err != nil {
		return nil, invalid("", "has a malformed header")
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/report" {
		return nil, invalid("", "is not a multipart/report")
	}
	if !strings.EqualFold(params["report-type"], ReportType) {
		return nil, invalid("", "is not a disposition notification (report-type)")
	}
	if params["boundary"] == "" {
		return nil, invalid("", "has no MIME boundary")
	}
	mr := multipart.NewReader(br, params["boundary"])
	want := []struct {
		typ   string
		limit int64
	}{{"text/plain", MaxText}, {NotificationType, MaxNotification}, {MediaType, MaxJSON}}
	var parts [3][]byte
	for i, w := range want {
		p, err := mr.NextRawPart()
		if err != nil {
			return nil, invalid("", "has fewer than the three parts of an acknowledgement")
		}
		pt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil || pt != w.typ {
			return nil, invalid(fmt.Sprintf("part %d", i+1), "is not %s", w.typ)
		}
		body, err := decodePart(p.Header, p, w.limit)
		if err != nil {
			return nil, invalid(fmt.Sprintf("part %d", i+1), "%s", err)
		}
		parts[i] = body
	}
	if _, err := mr.NextRawPart(); !errors.Is(err, io.EOF) {
		return nil, invalid("", "has more than the three parts of an acknowledgement")
	}
	if !utf8.Valid(parts[0]) {
		return nil, invalid("part 1", "is not valid UTF-8")
	}
	return ParseParts(parts[1], parts[2])
}

// decodePart reads a part's body, decoding its transfer encoding, at most
// limit bytes.
func decodePart(h textproto.MIMEHeader, r io.Reader, limit int64) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, 2*limit+1))
	if err != nil {
		return nil, errors.New("cannot be read")
	}
	var body []byte
	switch cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))); cte {
	case "", "7bit", "8bit":
		body = raw
	case "quoted-printable":
		if body, err = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw))); err != nil {
			return nil, errors.New("has a broken quoted-printable encoding")
		}
	case "base64":
		clean := strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, string(raw))
		if body, err = base64.StdEncoding.DecodeString(clean); err != nil {
			return nil, errors.New("has a broken base64 encoding")
		}
	default:
		return nil, errors.New("has an unknown transfer encoding")
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("is larger than %d KiB", limit>>10)
	}
	return body, nil
}

// ParseParts parses the decoded message/disposition-notification part and
// the decoded JSON part of an acknowledgement and checks that they agree:
// the same Original-Message-ID and Final-Recipient, and the Disposition of
// the JSON's kind. Unknown JSON keys, a key given twice and an unknown
// version are refused; unknown RFC 8098 extension fields are ignored, but
// each required field must appear exactly once.
func ParseParts(notification, data []byte) (*Receipt, error) {
	if len(notification) > MaxNotification {
		return nil, invalid("disposition notification", "is larger than %d KiB", MaxNotification>>10)
	}
	if len(data) > MaxJSON {
		return nil, invalid("JSON part", "is larger than %d KiB", MaxJSON>>10)
	}
	f, err := readFields(notification)
	if err != nil {
		return nil, err
	}
	w, err := readJSON(data)
	if err != nil {
		return nil, err
	}
	r := &Receipt{OriginalMessageID: w.OriginalMessageID, Kind: w.Kind, Reason: w.Reason, Verdict: w.Verdict,
		Documents: w.Documents, FinalRecipient: w.FinalRecipient, Time: w.Time.UTC()}
	if r.Documents == nil {
		return nil, invalid("documents", "is missing")
	}
	if r.Time.Nanosecond() != 0 {
		// Write sends whole seconds; a fraction would be lost by the next
		// Write and make two records of one acknowledgement differ.
		return nil, invalid("time", "is not a whole number of seconds")
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if f.originalID != r.OriginalMessageID {
		return nil, invalid("Original-Message-ID", "differs from the JSON part's")
	}
	if f.finalRecipient != r.FinalRecipient {
		return nil, invalid("Final-Recipient", "differs from the JSON part's")
	}
	if disp, _ := Disposition(r.Kind); !strings.EqualFold(normalizeSpace(f.disposition), disp) {
		return nil, invalid("Disposition", "does not match the kind %q of the JSON part", r.Kind)
	}
	return r, nil
}

// fields are the RFC 8098 fields securesend reads.
type fields struct {
	originalID, finalRecipient, disposition string
}

// readFields parses the message/disposition-notification body.
func readFields(b []byte) (*fields, error) {
	if !utf8.Valid(b) {
		return nil, invalid("disposition notification", "is not valid UTF-8")
	}
	b = append(bytes.TrimRight(b, "\r\n \t"), "\r\n\r\n"...)
	h, err := mtextproto.ReadHeader(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		return nil, invalid("disposition notification", "is malformed")
	}
	one := func(name string) (string, error) {
		vs := h.Values(name)
		if len(vs) != 1 {
			return "", invalid(name, "must appear exactly once")
		}
		if err := fieldValue(vs[0]); err != nil {
			return "", invalid(name, "%v", err)
		}
		return strings.TrimSpace(vs[0]), nil
	}
	var f fields
	if _, err := one("Reporting-UA"); err != nil {
		return nil, err
	}
	fr, err := one("Final-Recipient")
	if err != nil {
		return nil, err
	}
	typ, addr, ok := strings.Cut(fr, ";")
	if !ok || !strings.EqualFold(strings.TrimSpace(typ), "rfc822") {
		return nil, invalid("Final-Recipient", "is not of the form rfc822; address")
	}
	f.finalRecipient = strings.ToLower(strings.TrimSpace(addr))
	id, err := one("Original-Message-ID")
	if err != nil {
		return nil, err
	}
	if len(id) < 2 || id[0] != '<' || id[len(id)-1] != '>' {
		return nil, invalid("Original-Message-ID", "is not of the form <local@domain>")
	}
	f.originalID = id[1 : len(id)-1]
	if f.disposition, err = one("Disposition"); err != nil {
		return nil, err
	}
	return &f, nil
}

// fieldValue refuses a field value (unfolded) holding a control, bidi,
// invisible or line-separator character other than the blank and the
// tab RFC 5322 allows between words: every field read is kept or could
// be shown, Reporting-UA included, and none needs one. Invisible
// includes what termsafe lets through as letters or marks but a reader
// cannot see: variation selectors, the combining grapheme joiner and
// the Hangul fillers (Unicode's other default-ignorable code points).
func fieldValue(v string) error {
	for _, r := range v {
		if r != ' ' && r != '\t' && (termsafe.Unsafe(r) || unicode.In(r, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)) {
			return fmt.Errorf("contains a control, bidi or invisible character (%U)", r)
		}
	}
	return nil
}

// readJSON parses the JSON part strictly (strictjson: one object, keys
// in lower-case ASCII and each once, nesting at most maxDepth deep, no
// key version 1 does not define).
func readJSON(data []byte) (*wire, error) {
	if err := strictjson.Check(data, maxDepth); err != nil {
		return nil, jsonError(err)
	}
	var probe struct {
		Version json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, invalid("JSON part", "is not a JSON object")
	}
	if string(probe.Version) != "1" {
		return nil, invalid("version", "is missing or not 1")
	}
	var w wire
	if err := strictjson.Decode(data, &w); err != nil {
		return nil, jsonError(err)
	}
	return &w, nil
}

// maxDepth bounds the nesting of the JSON part (version 1 needs 3).
const maxDepth = 8

// jsonError is the *Error for an error of strictjson.
func jsonError(err error) error {
	var te *strictjson.TypeError
	if errors.As(err, &te) {
		return invalid(te.Field, "has the wrong type")
	}
	if errors.Is(err, strictjson.ErrUnknownKey) {
		return invalid("JSON part", "is not valid JSON or has a field version 1 does not define")
	}
	return invalid("JSON part", "%v", err)
}
