package manifest

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func good() *Manifest {
	return &Manifest{
		Version:      1,
		MessageID:    "3f7kq2m4@clinic.example.nz",
		Created:      time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC),
		DocumentType: "prescription",
		PatientNHI:   "ZZZ0016",
		Prescriber:   &Prescriber{Name: "Dr Āwhina Test", CPN: "91ZZWJ"},
		FacilityHPI:  "FZZ999-B",
		Recipients:   []string{"bob@pharmacy.test"},
		Documents: []Document{{Name: "prescription.pdf", ContentType: "application/pdf", Size: 3042,
			SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}},
	}
}

func TestMarshalParseRoundTrip(t *testing.T) {
	data, err := good().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := os.ReadFile("testdata/good_v1.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, fixture) {
		t.Errorf("Marshal changed the version 1 encoding:\n got %s\nwant %s", data, fixture)
	}
	m, err := Parse(bytes.NewReader(fixture))
	if err != nil {
		t.Fatal(err)
	}
	if m.PatientNHI != "ZZZ0016" || m.Prescriber.CPN != "91ZZWJ" || m.Documents[0].Size != 3042 || !m.Created.Equal(good().Created) {
		t.Errorf("parsed %+v", m)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(m *Manifest)
		field string // "" = valid
	}{
		{"good", func(*Manifest) {}, ""},
		{"only the required fields", func(m *Manifest) { m.PatientNHI, m.Prescriber, m.FacilityHPI = "", nil, "" }, ""},
		{"new-format NHI", func(m *Manifest) { m.PatientNHI = "ZZZ00AC" }, ""},
		{"supersedes", func(m *Manifest) {
			m.Supersedes = &Supersedes{MessageID: "old@clinic.example.nz", SHA256s: m.SHA256s(), Kind: Replace}
		}, ""},
		{"version 2", func(m *Manifest) { m.Version = 2 }, "version"},
		{"no message id", func(m *Manifest) { m.MessageID = "" }, "message_id"},
		{"message id with brackets", func(m *Manifest) { m.MessageID = "<a@b>" }, "message_id"},
		{"no creation time", func(m *Manifest) { m.Created = time.Time{} }, "created"},
		{"no document type", func(m *Manifest) { m.DocumentType = "" }, "document_type"},
		{"document type with escape", func(m *Manifest) { m.DocumentType = "rx\x1b[2J" }, "document_type"},
		{"NHI check digit wrong", func(m *Manifest) { m.PatientNHI = "ZZZ0017" }, "patient_nhi"},
		{"NHI lower case", func(m *Manifest) { m.PatientNHI = "zzz0016" }, "patient_nhi"},
		{"empty prescriber", func(m *Manifest) { m.Prescriber = &Prescriber{} }, "prescriber"},
		{"prescriber name with bidi override", func(m *Manifest) { m.Prescriber.Name = "Dr \u202eTest" }, "prescriber.name"},
		{"prescriber name with newline", func(m *Manifest) { m.Prescriber.Name = "Dr\nTest" }, "prescriber.name"},
		{"CPN malformed", func(m *Manifest) { m.Prescriber.CPN = "ZZ91WJ" }, "prescriber.hpi_cpn"},
		{"facility malformed", func(m *Manifest) { m.FacilityHPI = "G00001-G" }, "facility_hpi_id"},
		{"no recipients", func(m *Manifest) { m.Recipients = nil }, "recipients"},
		{"recipient in upper case", func(m *Manifest) { m.Recipients = []string{"Bob@pharmacy.test"} }, "recipients[0]"},
		{"recipient with display name", func(m *Manifest) { m.Recipients = []string{"Bob <bob@pharmacy.test>"} }, "recipients[0]"},
		{"no documents", func(m *Manifest) { m.Documents = nil }, "documents"},
		{"document name with control", func(m *Manifest) { m.Documents[0].Name = "a\x07.pdf" }, "documents[0].name"},
		{"document name empty", func(m *Manifest) { m.Documents[0].Name = "" }, "documents[0].name"},
		{"content type with parameter", func(m *Manifest) { m.Documents[0].ContentType = "text/plain; charset=utf-8" }, "documents[0].content_type"},
		{"negative size", func(m *Manifest) { m.Documents[0].Size = -1 }, "documents[0].size"},
		{"hash in upper case", func(m *Manifest) { m.Documents[0].SHA256 = strings.ToUpper(m.Documents[0].SHA256) }, "documents[0].sha256"},
		{"hash short", func(m *Manifest) { m.Documents[0].SHA256 = "abc" }, "documents[0].sha256"},
		{"cancellation without documents", func(m *Manifest) {
			m.Supersedes = &Supersedes{MessageID: "old@clinic.example.nz", SHA256s: m.SHA256s(), Kind: Cancel}
			m.Documents = nil
		}, ""},
		{"cancellation with documents", func(m *Manifest) {
			m.Supersedes = &Supersedes{MessageID: "old@clinic.example.nz", Kind: Cancel}
		}, "documents"},
		{"replacement without documents", func(m *Manifest) {
			m.Supersedes = &Supersedes{MessageID: "old@clinic.example.nz", Kind: Replace}
			m.Documents = nil
		}, "documents"},
		{"supersedes kind unknown", func(m *Manifest) {
			m.Supersedes = &Supersedes{MessageID: "old@clinic.example.nz", Kind: "delete"}
		}, "supersedes.kind"},
	}
	for _, tt := range tests {
		m := good()
		tt.edit(m)
		err := m.Validate()
		if tt.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var me *Error
		if !errors.As(err, &me) || me.Field != tt.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want an error about %s", tt.name, err, tt.field)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	fixture, err := os.ReadFile("testdata/good_v1.json")
	if err != nil {
		t.Fatal(err)
	}
	good := strings.TrimSpace(string(fixture))
	tests := []struct {
		name, in string
		version  bool // ErrVersion expected
	}{
		{"empty", "", false},
		{"not an object", "[1,2]", false},
		{"duplicate key", strings.Replace(good, `"patient_nhi":"ZZZ0016"`, `"patient_nhi":"ZZZ0016","patient_nhi":"ZZZ0024"`, 1), false},
		{"duplicate nested key", strings.Replace(good, `"size":3042`, `"size":3042,"size":1`, 1), false},
		{"unknown field", strings.Replace(good, `"version":1,`, `"version":1,"dose":"x90",`, 1), false},
		{"trailing data", good + `{"version":1}`, false},
		{"version missing", strings.Replace(good, `"version":1,`, ``, 1), false},
		{"version a string", strings.Replace(good, `"version":1,`, `"version":"1",`, 1), false},
		{"version 2", strings.Replace(good, `"version":1,`, `"version":2,`, 1), true},
		{"wrong type", strings.Replace(good, `"size":3042`, `"size":"3042"`, 1), false},
		{"invalid UTF-8", strings.Replace(good, "Āwhina", "\xff", 1), false},
		{"too large", good[:len(good)-1] + `,"x":"` + strings.Repeat("a", MaxSize) + `"}`, false},
		{"too deep", strings.Repeat("[", 100) + strings.Repeat("]", 100), false},
		// encoding/json matches keys without regard to case and folds
		// U+212A (Kelvin) to k and U+017F (long s) to s: a second key
		// spelled so is a second value for the same field, which Go
		// and a stricter reader of the signed manifest would read
		// differently. Every key must be lower-case ASCII.
		{"NHI twice, differing in case", strings.Replace(good, `"patient_nhi":"ZZZ0016"`, `"patient_nhi":"ZZZ0016","PATIENT_NHI":"ZZZ0024"`, 1), false},
		{"NHI key in upper case alone", strings.Replace(good, `"patient_nhi"`, `"PATIENT_NHI"`, 1), false},
		{"NHI key differing in case, escaped", strings.Replace(good, `"patient_nhi":"ZZZ0016"`, `"patient_nhi":"ZZZ0016","patient_\u004eHI":"ZZZ0024"`, 1), false},
		{"documents twice, long s", strings.Replace(good, `"documents":`, "\"document\u017f\":[],\"documents\":", 1), false},
		{"size twice, long s escaped", strings.Replace(good, `"size":3042`, `"size":3042,"\u017fize":1`, 1), false},
		{"kind with Kelvin sign", strings.Replace(good, `"version":1,`, "\"version\":1,\"supersedes\":{\"message_id\":\"old@clinic.example.nz\",\"sha256s\":[],\"\u212aind\":\"replace\"},", 1), false},
	}
	for _, tt := range tests {
		m, err := Parse(strings.NewReader(tt.in))
		if m != nil || !errors.Is(err, ErrInvalid) || errors.Is(err, ErrVersion) != tt.version {
			t.Errorf("%s: got %+v, %v", tt.name, m, err)
		}
	}
}

func TestMarshalRefusesOversized(t *testing.T) {
	m := good()
	for len(m.Documents) < 400 {
		m.Documents = append(m.Documents, Document{Name: strings.Repeat("n", 200) + ".pdf", ContentType: "application/pdf", Size: 1, SHA256: m.Documents[0].SHA256})
	}
	if _, err := m.Marshal(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a manifest over %d bytes was written: %v", MaxSize, err)
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// validates and survives Marshal and Parse again unchanged.
func FuzzParse(f *testing.F) {
	fixture, err := os.ReadFile("testdata/good_v1.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(fixture)
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"version":1}`))
	f.Add([]byte(strings.Repeat("[", 40)))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(bytes.NewReader(data))
		if err != nil {
			if m != nil {
				t.Fatal("a manifest returned with an error")
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid manifest: %v", err)
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("Marshal refused what Parse accepted: %v", err)
		}
		m2, err := Parse(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		out2, _ := m2.Marshal()
		if !bytes.Equal(out, out2) {
			t.Fatalf("not stable:\n%s\n%s", out, out2)
		}
	})
}
