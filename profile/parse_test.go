package profile

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Each testdata/bad_*.toml starts with "# expect: FIELD line=N kind=KIND",
// saying which error Parse must report for it.
var expectRE = regexp.MustCompile(`^# expect: (\S+) line=(\d+) kind=(.+)\n`)

func TestParseBadFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/bad_*.toml")
	if err != nil || len(files) < 30 {
		t.Fatalf("want at least 30 bad fixtures, got %d (%v)", len(files), err)
	}
	kinds := map[string]error{}
	for _, k := range []error{ErrSyntax, ErrUnknownField, ErrMissingField, ErrWrongType, ErrInvalidValue} {
		kinds[k.Error()] = k
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".toml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			m := expectRE.FindSubmatch(data)
			if m == nil {
				t.Fatalf("fixture has no '# expect:' line")
			}
			wantField, wantKind := string(m[1]), kinds[string(m[3])]
			wantLine, _ := strconv.Atoi(string(m[2]))
			if wantKind == nil {
				t.Fatalf("fixture names unknown kind %q", m[3])
			}
			p, err := Parse(data)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", p)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			if fe.Field != wantField || fe.Line != wantLine || !errors.Is(err, wantKind) {
				t.Errorf("got field %q line %d kind %v (%v)\nwant field %q line %d kind %v", fe.Field, fe.Line, fe.Kind, err, wantField, wantLine, wantKind)
			}
			if !strings.Contains(err.Error(), wantField) {
				t.Errorf("message %q does not name the field", err)
			}
			if wantLine > 0 && !strings.Contains(err.Error(), "line "+strconv.Itoa(wantLine)) {
				t.Errorf("message %q does not name the line", err)
			}
		})
	}
}

func TestParseGoodTwoPharmacies(t *testing.T) {
	p := mustParse(t, "testdata/good_two_pharmacies_must_encrypt.toml")
	if p.Serial != 3 || p.Organisation.Name != "Kowhai Medical Centre" {
		t.Errorf("serial %d name %q", p.Serial, p.Organisation.Name)
	}
	if p.Policy.Encryption != EncryptDomains || len(p.Policy.EncryptDomains) != 2 || p.Policy.MaxAttachmentMB != 20 {
		t.Errorf("policy %+v", p.Policy)
	}
	if len(p.Accounts) != 1 || p.Accounts[0].SMTPPort != 465 || p.Accounts[0].SMTPSecurity != "tls" {
		t.Errorf("accounts %+v", p.Accounts)
	}
	if len(p.Recipients) != 2 || len(p.PinnedKeys()) != 2 {
		t.Fatalf("recipients %d pinned %d", len(p.Recipients), len(p.PinnedKeys()))
	}
	r, ok := p.Recipient("Scripts@Harbour-Pharmacy.example.nz")
	if !ok || r.Name != "Harbour Pharmacy" || len(r.Fingerprint) != 40 {
		t.Errorf("lookup: %v %+v", ok, r)
	}
	if !p.IsLocked(LockMinTLS) || p.IsLocked(LockDirectory) {
		t.Errorf("locked %v", p.Locked)
	}
}

func TestParseGoodMinimalDefaults(t *testing.T) {
	p := mustParse(t, "testdata/good_minimal.toml")
	if p.Policy.UsersMayAddKeys || p.Policy.UsersMayAddRecipients || p.Policy.RequireREQUIRETLS {
		t.Errorf("missing booleans must default to the strict false: %+v", p.Policy)
	}
}

func TestExampleParses(t *testing.T) {
	p, err := Parse(Example(`Kōwhai "Medical" Centre`))
	if err != nil {
		t.Fatalf("the profile init example must parse: %v", err)
	}
	if p.Organisation.Name != `Kōwhai "Medical" Centre` || p.Policy.Encryption != EncryptAlways {
		t.Errorf("%+v", p)
	}
}

func TestRecipientTOMLAppends(t *testing.T) {
	key, err := os.ReadFile("testdata/recipient_mainst_pharmacy.asc")
	if err != nil {
		t.Fatal(err)
	}
	data := append(Example("X"), RecipientTOML(Recipient{Name: `Main "St"`, Email: "orders@mainst-pharmacy.example.nz", Organisation: "MSP", HPIOrgID: "G1", PublicKey: string(key)})...)
	p, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Recipients) != 1 || p.Recipients[0].Name != `Main "St"` || p.Recipients[0].HPIOrgID != "G1" {
		t.Errorf("%+v", p.Recipients)
	}
}

func mustParse(t *testing.T, path string) *Profile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	return p
}
