package send

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/securesend/securesend/crypto/pgpmime"
	"github.com/securesend/securesend/internal/hpi"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/internal/nhi"
)

// DefaultDocumentType is the manifest's document type when the message
// names none.
const DefaultDocumentType = "document"

// validateManifestFields checks the fields of m that only the manifest
// carries (document type, patient NHI, prescriber, facility, supersedes)
// before anything is composed, with errors that wrap ErrInvalidMessage.
// Test NHIs (starting with Z) are accepted here: whether they are allowed
// (demo mode) is the front end's decision (nhi.Check).
func (m *Message) validateManifestFields() error {
	if m.DocumentType != "" {
		probe := manifestProbe()
		probe.DocumentType = m.DocumentType
		if err := probe.Validate(); err != nil {
			return invalid("the document type %q is not a lower-case word such as \"prescription\" (letters, digits and hyphens, at most 64)", m.DocumentType)
		}
	}
	if m.PatientNHI != "" {
		if _, err := nhi.Parse(m.PatientNHI); err != nil {
			return invalid("the patient NHI is not valid: %v", err)
		}
	}
	if m.PrescriberName != "" {
		probe := manifestProbe()
		probe.Prescriber = &manifest.Prescriber{Name: m.PrescriberName}
		if err := probe.Validate(); err != nil {
			return invalid("the prescriber's name cannot be carried in the manifest: it must be at most 200 bytes without control, bidi or invisible characters")
		}
	}
	if m.PrescriberCPN != "" {
		if _, err := hpi.ParseCPN(m.PrescriberCPN); err != nil {
			return invalid("the prescriber's HPI CPN is not valid: %v", err)
		}
	}
	if m.FacilityHPI != "" {
		if _, err := hpi.ParseFacility(m.FacilityHPI); err != nil {
			return invalid("the facility's HPI ID is not valid: %v", err)
		}
	}
	if s := m.Supersedes; s != nil {
		probe := manifestProbe()
		probe.Supersedes = s
		if s.Kind == manifest.Cancel {
			probe.Documents = nil // a cancellation carries none
		}
		if err := probe.Validate(); err != nil {
			return invalid("the message it supersedes is not named correctly: %v", err)
		}
	}
	for i := range m.Documents {
		name := documentName(&m.Documents[i])
		probe := manifestProbe()
		probe.Documents[0].Name = name
		if err := probe.Validate(); err != nil {
			return invalid("the file name %q contains a character the manifest cannot carry (a control, bidi or invisible character)", name)
		}
	}
	return nil
}

// manifestProbe is a valid manifest whose fields validateManifestFields
// replaces one at a time, so that the sender checks each field with the
// very rules the receiver applies.
func manifestProbe() *manifest.Manifest {
	return &manifest.Manifest{
		Version: manifest.Version, MessageID: "probe@localhost", Created: time.Unix(1, 0).UTC(),
		DocumentType: DefaultDocumentType, Recipients: []string{"probe@localhost"},
		Documents: []manifest.Document{{Name: "probe", ContentType: "application/octet-stream", SHA256: strings.Repeat("0", 64)}},
	}
}

// buildManifest returns the manifest of m whose documents were written
// as docs: m's Message-ID, Date (as UTC), document type (or
// DefaultDocumentType), NHI, prescriber and facility in their canonical
// form, its To and Cc addresses in lower case, and the documents' names,
// media types, sizes and hashes.
func buildManifest(m *Message, docs []DocumentInfo) (*manifest.Manifest, error) {
	mf := &manifest.Manifest{
		Version:      manifest.Version,
		MessageID:    m.MessageID,
		Created:      m.Date.UTC().Truncate(time.Second),
		DocumentType: m.DocumentType,
		Supersedes:   m.Supersedes,
	}
	if mf.DocumentType == "" {
		mf.DocumentType = DefaultDocumentType
	}
	if m.PatientNHI != "" {
		n, err := nhi.Parse(m.PatientNHI)
		if err != nil {
			return nil, invalid("the patient NHI is not valid: %v", err)
		}
		mf.PatientNHI = n.Value
	}
	if m.PrescriberName != "" || m.PrescriberCPN != "" {
		p := &manifest.Prescriber{Name: m.PrescriberName}
		if m.PrescriberCPN != "" {
			cpn, err := hpi.ParseCPN(m.PrescriberCPN)
			if err != nil {
				return nil, invalid("the prescriber's HPI CPN is not valid: %v", err)
			}
			p.CPN = cpn
		}
		mf.Prescriber = p
	}
	if m.FacilityHPI != "" {
		f, err := hpi.ParseFacility(m.FacilityHPI)
		if err != nil {
			return nil, invalid("the facility's HPI ID is not valid: %v", err)
		}
		mf.FacilityHPI = f
	}
	for _, a := range append(append([]mailAddr{}, tag("To", m.To)...), tag("Cc", m.Cc)...) {
		mf.Recipients = append(mf.Recipients, strings.ToLower(a.addr.Address))
	}
	for _, d := range docs {
		mt, _, _ := strings.Cut(d.ContentType, ";")
		mf.Documents = append(mf.Documents, manifest.Document{
			Name: d.Name, ContentType: strings.ToLower(strings.TrimSpace(mt)), Size: d.Size, SHA256: d.SHA256,
		})
	}
	return mf, nil
}

// writeManifest writes the manifest of m and docs as the last part of mw:
// Content-Type manifest.MediaType with version="1", labelled as the
// attachment manifest.FileName (other mail programs show it as a small
// file), base64. It is inside whatever signs and encrypts the content.
func writeManifest(mw *textproto.MultipartWriter, m *Message, docs []DocumentInfo) error {
	mf, err := buildManifest(m, docs)
	if err != nil {
		return err
	}
	data, err := mf.Marshal()
	if err != nil {
		var me *manifest.Error
		if errors.As(err, &me) {
			return invalid("the manifest cannot be written: %v", err)
		}
		return fmt.Errorf("send: manifest: %w", err)
	}
	var h textproto.Header
	h.Add("Content-Transfer-Encoding", "base64")
	h.Add("Content-Disposition", formatParams("attachment", map[string]string{"filename": manifest.FileName}))
	h.Add("Content-Type", formatParams(manifest.MediaType, map[string]string{"version": fmt.Sprint(manifest.Version)}))
	pw, err := mw.CreatePart(h)
	if err != nil {
		return fmt.Errorf("send: manifest: %w", err)
	}
	enc := pgpmime.Base64Writer(pw)
	if _, err := enc.Write(data); err != nil {
		return fmt.Errorf("send: manifest: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("send: manifest: %w", err)
	}
	return nil
}

// manifestSizeBound bounds the size of the manifest part writeManifest
// writes for m (its header and base64 body): the JSON keys and fixed
// fields, the variable ones at twice their length (JSON escaping), base64
// and its line breaks.
func manifestSizeBound(m *Message) int64 {
	n := int64(1024 + len(m.MessageID) + 2*len(m.PrescriberName) + len(m.DocumentType))
	for _, a := range m.To {
		n += int64(len(a.Address) + 4)
	}
	for _, a := range m.Cc {
		n += int64(len(a.Address) + 4)
	}
	for i := range m.Documents {
		n += int64(400 + 2*len(documentName(&m.Documents[i])) + len(m.Documents[i].ContentType))
	}
	if s := m.Supersedes; s != nil {
		n += int64(100 + len(s.MessageID) + 70*len(s.SHA256s))
	}
	b64 := (n + 2) / 3 * 4
	return 512 + b64 + (b64/base64Line+1)*2
}
