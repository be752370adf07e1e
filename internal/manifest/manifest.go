// Package manifest defines securesend's message manifest, version 1: a
// small JSON document that every message securesend sends carries inside
// its signed (and, when encrypted, encrypted) part, listing what the
// message is (document type, patient NHI, prescriber, facility), whom it
// is for, and each document's name, media type, size and SHA-256.
// docs/manifest.md is the schema.
//
// The package only encodes, parses and checks the form of a manifest. It
// promises that a Manifest returned by Parse, or accepted by Validate, has
// every field in the form the schema gives (a validated NHI, HPI
// identifiers of the right form, lower-case hex hashes, no control, bidi
// or invisible characters in any text), so that the fields are safe to
// compare and to show. It does not say whether the manifest matches a
// message: that is the receiver's judgement (receive.Verify).
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/securesend/securesend/internal/fieldform"
	"github.com/securesend/securesend/internal/hpi"
	"github.com/securesend/securesend/internal/nhi"
	"github.com/securesend/securesend/internal/strictjson"
)

// MediaType is the Content-Type of the manifest part. Its parameter
// version="1" repeats the Version of the JSON, for readers that look only
// at the MIME structure.
const MediaType = "application/vnd.securesend.manifest+json"

// FileName is the file name the manifest part is labelled with
// (Content-Disposition: attachment), so that other mail programs show it
// as a harmless attachment.
const FileName = "securesend-manifest.json"

// Version is the manifest version this package writes and reads.
const Version = 1

// MaxSize is the largest manifest, in bytes of JSON, that is written or
// read.
const MaxSize = 64 << 10

// Limits on the fields.
const (
	maxDocumentType = 64
	maxName         = 200
	maxFileName     = 255
	maxContentType  = 200
)

// Kind says how a message supersedes an earlier one.
type Kind string

// The kinds of Supersedes.
const (
	// Replace: this message replaces the earlier one.
	Replace Kind = "replace"
	// Cancel: this message cancels the earlier one.
	Cancel Kind = "cancel"
)

// Manifest is the content of a manifest part (version 1).
type Manifest struct {
	// Version is always 1 (Version).
	Version int `json:"version"`
	// MessageID is the message's Message-ID without angle brackets.
	MessageID string `json:"message_id"`
	// Created is when the sender composed the message (the Date field).
	Created time.Time `json:"created"`
	// DocumentType is a short lower-case token such as "prescription",
	// "referral" or "document" (letters, digits and hyphens).
	DocumentType string `json:"document_type"`
	// PatientNHI is the patient's National Health Index number, upper
	// case, check character valid; "" when the sender gave none.
	PatientNHI string `json:"patient_nhi,omitempty"`
	// Prescriber is the clinician responsible, nil when the sender gave
	// neither a name nor a CPN.
	Prescriber *Prescriber `json:"prescriber,omitempty"`
	// FacilityHPI is the HPI facility ID (FXXNNN-C) of the sender's
	// practice; "" when not given.
	FacilityHPI string `json:"facility_hpi_id,omitempty"`
	// Recipients are the lower-case addresses of the message's To and Cc,
	// in that order.
	Recipients []string `json:"recipients"`
	// Documents are the message's documents, in message order.
	Documents []Document `json:"documents"`
	// Supersedes, reserved for replacements and cancellations, names the
	// earlier message this one replaces or cancels.
	Supersedes *Supersedes `json:"supersedes,omitempty"`
}

// Prescriber identifies the clinician responsible for the documents.
type Prescriber struct {
	// Name is the clinician's name as it should be shown.
	Name string `json:"name,omitempty"`
	// CPN is the clinician's HPI Common Person Number (NNXXXX).
	CPN string `json:"hpi_cpn,omitempty"`
}

// Document describes one document as it was sent.
type Document struct {
	// Name is the file name in the message (before any sanitising).
	Name string `json:"name"`
	// ContentType is the media type, without parameters.
	ContentType string `json:"content_type"`
	// Size is the decoded size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the lower-case hex SHA-256 of the decoded content.
	SHA256 string `json:"sha256"`
}

// Supersedes names an earlier message that this one replaces or cancels.
type Supersedes struct {
	MessageID string   `json:"message_id"`
	SHA256s   []string `json:"sha256s"`
	Kind      Kind     `json:"kind"`
}

// ErrInvalid is wrapped by every error of Parse and Validate about the
// manifest's content (as opposed to an I/O error of the reader).
var ErrInvalid = errors.New("the manifest is not valid")

// ErrVersion is wrapped (with ErrInvalid) when the manifest's version is
// not one this package reads: a newer sender's manifest.
var ErrVersion = errors.New("unsupported manifest version")

// Error is a manifest that is not valid; Field names the offending field
// in the schema's terms ("documents[1].sha256").
type Error struct {
	Field  string
	Reason string
	err    error
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "manifest: " + e.Reason
	}
	return "manifest: " + e.Field + ": " + e.Reason
}

// Unwrap returns ErrInvalid, and ErrVersion for a version mismatch.
func (e *Error) Unwrap() []error {
	if e.err != nil {
		return []error{ErrInvalid, e.err}
	}
	return []error{ErrInvalid}
}

func invalid(field, format string, a ...any) error {
	return &Error{Field: field, Reason: fmt.Sprintf(format, a...)}
}

// Parse reads one manifest from r, at most MaxSize bytes, and validates
// it. It refuses more than MaxSize bytes, anything that is not exactly one
// JSON object, a key given twice or spelled other than in lower-case
// ASCII (readers could disagree on which value counts: strictjson),
// nesting deeper than maxDepth, unknown keys (a newer version must say so
// in "version"), and every field that Validate refuses. Content errors
// wrap ErrInvalid.
func Parse(r io.Reader) (*Manifest, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("manifest: read: %w", err)
	}
	if len(data) > MaxSize {
		return nil, invalid("", "it is larger than %d KiB", MaxSize>>10)
	}
	if err := strictjson.Check(data, maxDepth); err != nil {
		return nil, jsonError(err)
	}
	var probe struct {
		Version json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, invalid("", "it is not a JSON object")
	}
	switch v := string(probe.Version); {
	case v == "1":
	case isPositiveInteger(v):
		return nil, &Error{Field: "version", Reason: "only version 1 is understood", err: ErrVersion}
	default:
		return nil, invalid("version", "is missing or not a positive whole number")
	}
	var m Manifest
	if err := strictjson.Decode(data, &m); err != nil {
		return nil, jsonError(err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// maxDepth bounds the nesting of a manifest's JSON (version 1 needs 3).
const maxDepth = 16

// jsonError is the *Error for an error of strictjson.
func jsonError(err error) error {
	var te *strictjson.TypeError
	if errors.As(err, &te) {
		return invalid(te.Field, "has the wrong type")
	}
	if errors.Is(err, strictjson.ErrUnknownKey) {
		return invalid("", "it has a field version 1 does not define")
	}
	return invalid("", "it %v", err)
}

// Marshal validates m and returns its JSON encoding (compact, no HTML
// escaping, a final newline), refusing one larger than MaxSize.
func (m *Manifest) Marshal() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("manifest: encode: %w", err)
	}
	if b.Len() > MaxSize {
		return nil, invalid("", "it would be larger than %d KiB (too many documents or recipients)", MaxSize>>10)
	}
	return b.Bytes(), nil
}

// Validate checks every field of m against the schema and returns an
// *Error (wrapping ErrInvalid) naming the first field that is wrong.
func (m *Manifest) Validate() error {
	if m.Version != Version {
		return &Error{Field: "version", Reason: "only version 1 is understood", err: ErrVersion}
	}
	if err := checkMessageID("message_id", m.MessageID); err != nil {
		return err
	}
	if m.Created.IsZero() {
		return invalid("created", "is missing")
	}
	if err := checkToken("document_type", m.DocumentType); err != nil {
		return err
	}
	if m.PatientNHI != "" {
		n, err := nhi.Parse(m.PatientNHI)
		if err != nil {
			return invalid("patient_nhi", "is not a valid NHI: %v", err)
		}
		if n.Value != m.PatientNHI {
			return invalid("patient_nhi", "is not written in upper case without spaces")
		}
	}
	if p := m.Prescriber; p != nil {
		if p.Name == "" && p.CPN == "" {
			return invalid("prescriber", "has neither a name nor an HPI CPN")
		}
		if err := checkText("prescriber.name", p.Name, maxName); err != nil {
			return err
		}
		if p.CPN != "" {
			if v, err := hpi.ParseCPN(p.CPN); err != nil {
				return invalid("prescriber.hpi_cpn", "%v", err)
			} else if v != p.CPN {
				return invalid("prescriber.hpi_cpn", "is not written in upper case without spaces")
			}
		}
	}
	if m.FacilityHPI != "" {
		if v, err := hpi.ParseFacility(m.FacilityHPI); err != nil {
			return invalid("facility_hpi_id", "%v", err)
		} else if v != m.FacilityHPI {
			return invalid("facility_hpi_id", "is not written in upper case without spaces")
		}
	}
	if len(m.Recipients) == 0 {
		return invalid("recipients", "is empty")
	}
	for i, a := range m.Recipients {
		if err := checkAddress(fmt.Sprintf("recipients[%d]", i), a); err != nil {
			return err
		}
	}
	// A cancellation carries no documents: it withdraws the ones it names
	// (supersedes.sha256s). Every other message carries at least one.
	if c := m.Supersedes != nil && m.Supersedes.Kind == Cancel; c && len(m.Documents) > 0 {
		return invalid("documents", "is not empty, but a cancellation carries no documents")
	} else if !c && len(m.Documents) == 0 {
		return invalid("documents", "is empty")
	}
	for i, d := range m.Documents {
		f := fmt.Sprintf("documents[%d]", i)
		if d.Name == "" {
			return invalid(f+".name", "is empty")
		}
		if err := checkText(f+".name", d.Name, maxFileName); err != nil {
			return err
		}
		if err := checkMediaType(f+".content_type", d.ContentType); err != nil {
			return err
		}
		if d.Size < 0 {
			return invalid(f+".size", "is negative")
		}
		if err := checkSHA256(f+".sha256", d.SHA256); err != nil {
			return err
		}
	}
	if s := m.Supersedes; s != nil {
		if err := checkMessageID("supersedes.message_id", s.MessageID); err != nil {
			return err
		}
		if s.Kind != Replace && s.Kind != Cancel {
			return invalid("supersedes.kind", "is neither %q nor %q", Replace, Cancel)
		}
		for i, h := range s.SHA256s {
			if err := checkSHA256(fmt.Sprintf("supersedes.sha256s[%d]", i), h); err != nil {
				return err
			}
		}
	}
	return nil
}

// SHA256s returns the documents' hashes in document order.
func (m *Manifest) SHA256s() []string {
	out := make([]string, len(m.Documents))
	for i, d := range m.Documents {
		out[i] = d.SHA256
	}
	return out
}

func isPositiveInteger(s string) bool {
	if s == "" || len(s) > 9 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkText refuses invalid UTF-8, control, bidi, invisible and
// separator characters (termsafe.Unsafe), and values over max bytes.
func checkText(field, s string, max int) error {
	return formError(field, fieldform.Text(s, max))
}

// checkToken: 1 to 64 of a-z, 0-9 and '-', starting with a letter.
func checkToken(field, s string) error {
	if s == "" {
		return invalid(field, "is missing")
	}
	if len(s) > maxDocumentType {
		return invalid(field, "is longer than %d characters", maxDocumentType)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z') && !(i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return invalid(field, "is not a lower-case word (letters, digits and hyphens, like \"prescription\")")
		}
	}
	return nil
}

// checkMessageID: printable ASCII local@domain without spaces, angle
// brackets or quotes (fieldform.MessageID).
func checkMessageID(field, id string) error {
	return formError(field, fieldform.MessageID(id))
}

// checkAddress: a lower-case ASCII addr-spec local@domain without spaces
// or quotes, at most 254 characters (fieldform.Address).
func checkAddress(field, a string) error {
	return formError(field, fieldform.Address(a))
}

// checkMediaType: type/subtype in lower-case ASCII token characters.
func checkMediaType(field, s string) error {
	if s == "" || len(s) > maxContentType {
		return invalid(field, "is missing or too long")
	}
	typ, sub, ok := strings.Cut(s, "/")
	if !ok || typ == "" || sub == "" {
		return invalid(field, "is not a media type such as application/pdf")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&-^_.+/", c) >= 0) {
			return invalid(field, "is not a lower-case media type such as application/pdf")
		}
	}
	if strings.Count(s, "/") != 1 {
		return invalid(field, "is not a media type such as application/pdf")
	}
	return nil
}

// checkSHA256: 64 lower-case hex digits (fieldform.SHA256).
func checkSHA256(field, s string) error {
	return formError(field, fieldform.SHA256(s))
}

// formError is the *Error about field for an error of fieldform, nil for
// nil.
func formError(field string, err error) error {
	if err == nil {
		return nil
	}
	return invalid(field, "%v", err)
}
