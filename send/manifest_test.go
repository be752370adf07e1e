package send

import (
	"bytes"
	"errors"
	"io"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/securesend/securesend/internal/manifest"
)

// checkManifestPart reads the next part of mr, which must be the manifest
// of m as Compose wrote it with the documents infos, and returns it.
func checkManifestPart(t *testing.T, mr *mail.Reader, m *Message, infos []DocumentInfo) *manifest.Manifest {
	t.Helper()
	p, err := mr.NextPart()
	if err != nil {
		t.Fatalf("manifest part: %v", err)
	}
	ah, ok := p.Header.(*mail.AttachmentHeader)
	if !ok {
		t.Fatal("the manifest part is not labelled as an attachment for other mail programs")
	}
	if name, _ := ah.Filename(); name != manifest.FileName {
		t.Errorf("manifest file name %q", name)
	}
	if mt, params, _ := ah.ContentType(); mt != manifest.MediaType || params["version"] != "1" {
		t.Errorf("manifest Content-Type %q %v", mt, params)
	}
	mf, err := manifest.Parse(p.Body)
	if err != nil {
		t.Fatalf("the manifest written does not parse: %v", err)
	}
	if mf.MessageID != m.MessageID || !mf.Created.Equal(m.Date.Truncate(time.Second)) {
		t.Errorf("manifest message id %q created %v", mf.MessageID, mf.Created)
	}
	var want []string
	for _, a := range append(append([]netmail.Address{}, m.To...), m.Cc...) {
		want = append(want, strings.ToLower(a.Address))
	}
	if strings.Join(mf.Recipients, ",") != strings.Join(want, ",") {
		t.Errorf("manifest recipients %q, want %q", mf.Recipients, want)
	}
	if len(mf.Documents) != len(infos) {
		t.Fatalf("manifest lists %d documents, %d were written", len(mf.Documents), len(infos))
	}
	for i, d := range infos {
		if got := mf.Documents[i]; got.Name != d.Name || got.ContentType != d.ContentType || got.Size != d.Size || got.SHA256 != d.SHA256 {
			t.Errorf("manifest document %d = %+v, written %+v", i, got, d)
		}
	}
	return mf
}

func TestManifestFields(t *testing.T) {
	m, _ := testMessage(t)
	m.DocumentType = "referral"
	m.PatientNHI = " zzz 0016 "
	m.PrescriberName = "Dr Aroha Ngāta"
	m.PrescriberCPN = "91zzwj"
	m.FacilityHPI = "fzz999-b"
	m.Supersedes = &manifest.Supersedes{MessageID: "old@clinic.example.nz", Kind: manifest.Replace,
		SHA256s: []string{strings.Repeat("ab", 32)}}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	infos, err := Compose(&buf, m)
	if err != nil {
		t.Fatal(err)
	}
	mr, err := mail.CreateReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for range 1 + len(m.Documents) {
		if _, err := mr.NextPart(); err != nil {
			t.Fatal(err)
		}
	}
	mf := checkManifestPart(t, mr, m, infos)
	if mf.DocumentType != "referral" || mf.PatientNHI != "ZZZ0016" || mf.Prescriber == nil ||
		mf.Prescriber.Name != "Dr Aroha Ngāta" || mf.Prescriber.CPN != "91ZZWJ" || mf.FacilityHPI != "FZZ999-B" ||
		mf.Supersedes == nil || mf.Supersedes.MessageID != "old@clinic.example.nz" {
		t.Errorf("manifest %+v prescriber %+v supersedes %+v", mf, mf.Prescriber, mf.Supersedes)
	}
}

func TestManifestDefaults(t *testing.T) {
	m, _ := testMessage(t)
	var buf bytes.Buffer
	if _, err := Compose(&buf, m); err != nil {
		t.Fatal(err)
	}
	mr, _ := mail.CreateReader(bytes.NewReader(buf.Bytes()))
	var mf *manifest.Manifest
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ah, ok := p.Header.(*mail.AttachmentHeader); ok {
			if ct, _, _ := ah.ContentType(); ct == manifest.MediaType {
				if mf, err = manifest.Parse(p.Body); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if mf == nil || mf.DocumentType != DefaultDocumentType || mf.PatientNHI != "" || mf.Prescriber != nil || mf.FacilityHPI != "" || mf.Supersedes != nil {
		t.Errorf("manifest without optional fields: %+v", mf)
	}
}

func TestValidateManifestFields(t *testing.T) {
	tests := []struct {
		name string
		edit func(m *Message)
		want string // in the error
	}{
		{"NHI check digit", func(m *Message) { m.PatientNHI = "ZZZ0017" }, "patient NHI"},
		{"NHI with I", func(m *Message) { m.PatientNHI = "IZZ0016" }, "patient NHI"},
		{"CPN", func(m *Message) { m.PrescriberCPN = "ZZ91WJ" }, "HPI CPN"},
		{"facility", func(m *Message) { m.FacilityHPI = "G00001-G" }, "facility"},
		{"document type", func(m *Message) { m.DocumentType = "Prescription!" }, "document type"},
		{"prescriber name with bidi", func(m *Message) { m.PrescriberName = "Dr \u202eX" }, "prescriber"},
		{"file name with bidi override", func(m *Message) { m.Documents[0].Name = "rx\u202efdp.exe" }, "file name"},
		{"supersedes kind", func(m *Message) {
			m.Supersedes = &manifest.Supersedes{MessageID: "old@clinic.example.nz", Kind: "delete"}
		}, "supersedes"},
	}
	for _, tt := range tests {
		m, _ := testMessage(t)
		tt.edit(m)
		err := m.Validate()
		if !errors.Is(err, ErrInvalidMessage) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an ErrInvalidMessage about %q", tt.name, err, tt.want)
		}
	}
}

func TestManifestSizeBound(t *testing.T) {
	m, _ := testMessage(t)
	m.PrescriberName = strings.Repeat("\"", 200)
	var buf bytes.Buffer
	if _, err := Compose(&buf, m); err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	ct := strings.Index(raw, "Content-Type: "+manifest.MediaType)
	start := strings.LastIndex(raw[:max(ct, 0)], "\r\n--")
	end := strings.LastIndex(raw, "\r\n--")
	if ct < 0 || start < 0 || end < ct {
		t.Fatal("manifest part not found")
	}
	if got, bound := int64(end-start), manifestSizeBound(m); got > bound {
		t.Errorf("manifest part is %d bytes, bound %d", got, bound)
	}
	if sizeBound(m) < int64(buf.Len()) {
		t.Errorf("sizeBound %d below the composed size %d", sizeBound(m), buf.Len())
	}
}
