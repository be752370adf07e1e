package send

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/securesend/securesend/internal/manifest"
)

// writeFile creates a file under dir and returns its path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// randomBytes returns n deterministic pseudo-random bytes after prefix.
func randomBytes(seed uint64, prefix string, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	copy(b, prefix)
	return b
}

// testMessage builds a message with a PDF, a TIFF and an unknown file.
func testMessage(t testing.TB) (*Message, map[string][]byte) {
	dir := t.TempDir()
	files := map[string][]byte{
		"referral.pdf":        randomBytes(1, "%PDF-1.7\n", 100_000),
		"Röntgen befund.tiff": randomBytes(2, "II*\x00", 54_321),
		"notes.bin":           randomBytes(3, "", 77),
	}
	m := &Message{
		From:      netmail.Address{Name: "Dr Aroha Ngāta", Address: "aroha@clinic.example.nz"},
		To:        []netmail.Address{{Name: "Reception, Ward 3", Address: "ward3@hospital.example.nz"}, {Address: "triage@hospital.example.nz"}},
		Cc:        []netmail.Address{{Name: "Records", Address: "records@clinic.example.nz"}},
		Subject:   "Überweisung: Patient NHI ABC1234 — urgent",
		Note:      "Kia ora,\nplease find the referral attached.\nNgā mihi\n" + strings.Repeat("long line ", 20),
		MessageID: "abc123@clinic.example.nz",
		Date:      time.Date(2026, 11, 23, 9, 30, 0, 0, time.FixedZone("NZDT", 13*3600)),
	}
	for _, name := range []string{"referral.pdf", "Röntgen befund.tiff", "notes.bin"} {
		m.Documents = append(m.Documents, Document{Path: writeFile(t, dir, name, files[name])})
	}
	return m, files
}

func TestComposeRoundTrip(t *testing.T) {
	m, files := testMessage(t)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	infos, err := Compose(&buf, m)
	if err != nil {
		t.Fatal(err)
	}
	raw := buf.String()
	for i, line := range strings.SplitAfter(raw, "\n") {
		if strings.HasSuffix(line, "\n") && !strings.HasSuffix(line, "\r\n") {
			t.Fatalf("line %d not CRLF terminated: %q", i+1, line)
		}
		if len(line) > 1000 {
			t.Fatalf("line %d longer than 998 characters", i+1)
		}
	}
	if !strings.Contains(raw, "Subject: =?utf-8?") {
		t.Errorf("subject not RFC 2047 encoded:\n%s", raw[:500])
	}
	if !strings.Contains(raw, "filename*=utf-8''R%C3%B6ntgen%20befund.tiff") {
		t.Errorf("non-ASCII file name not RFC 2231 encoded:\n%s", raw)
	}

	mr, err := mail.CreateReader(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	h := mr.Header
	for _, k := range []string{"Date", "From", "To", "Cc", "Subject", "Message-Id", "Mime-Version"} {
		if n := len(h.Values(k)); n != 1 {
			t.Errorf("header %s appears %d times, want 1", k, n)
		}
	}
	if subj, err := h.Subject(); err != nil || subj != m.Subject {
		t.Errorf("Subject = %q, %v; want %q", subj, err, m.Subject)
	}
	if id, _ := h.MessageID(); id != m.MessageID {
		t.Errorf("Message-ID = %q, want %q", id, m.MessageID)
	}
	if d, err := h.Date(); err != nil || !d.Equal(m.Date) {
		t.Errorf("Date = %v, %v; want %v", d, err, m.Date)
	}
	checkAddrs := func(key string, want []netmail.Address) {
		t.Helper()
		got, err := h.AddressList(key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: got %d addresses, want %d", key, len(got), len(want))
		}
		for i := range want {
			if got[i].Name != want[i].Name || got[i].Address != want[i].Address {
				t.Errorf("%s[%d] = %q <%s>, want %q <%s>", key, i, got[i].Name, got[i].Address, want[i].Name, want[i].Address)
			}
		}
	}
	checkAddrs("From", []netmail.Address{m.From})
	checkAddrs("To", m.To)
	checkAddrs("Cc", m.Cc)
	if mt, _, _ := h.ContentType(); mt != "multipart/mixed" {
		t.Errorf("Content-Type = %q", mt)
	}

	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Header.(*mail.InlineHeader); !ok {
		t.Fatalf("first part is not inline text")
	}
	if ct := p.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("note Content-Type = %q", ct)
	}
	note, _ := io.ReadAll(p.Body)
	if want := strings.ReplaceAll(m.Note, "\n", "\r\n"); string(note) != want {
		t.Errorf("note = %q, want %q", note, want)
	}

	wantTypes := []string{"application/pdf", "image/tiff", "application/octet-stream"}
	for i, d := range m.Documents {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("attachment %d: %v", i, err)
		}
		ah, ok := p.Header.(*mail.AttachmentHeader)
		if !ok {
			t.Fatalf("part %d is not an attachment", i+1)
		}
		name, err := ah.Filename()
		base := filepath.Base(d.Path)
		if err != nil || name != base {
			t.Errorf("attachment %d file name = %q, %v; want %q", i, name, err, base)
		}
		if mt, _, _ := ah.ContentType(); mt != wantTypes[i] {
			t.Errorf("attachment %d type %q, want %q", i, mt, wantTypes[i])
		}
		got, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, files[base]) {
			t.Errorf("attachment %s differs after the round trip", base)
		}
		sum := sha256.Sum256(files[base])
		want := DocumentInfo{Name: base, ContentType: wantTypes[i], Size: int64(len(files[base])), SHA256: hex.EncodeToString(sum[:])}
		if infos[i] != want {
			t.Errorf("info %d = %+v, want %+v", i, infos[i], want)
		}
	}
	checkManifestPart(t, mr, m, infos)
	if _, err := mr.NextPart(); !errors.Is(err, io.EOF) {
		t.Errorf("extra part or error after the manifest: %v", err)
	}
}

func TestWriteHeaderHasNoBlankLineNorContentType(t *testing.T) {
	m, _ := testMessage(t)
	var buf bytes.Buffer
	if err := WriteHeader(&buf, m, "Secure message"); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	if strings.Contains(s, "\r\n\r\n") || !strings.HasSuffix(s, "\r\n") {
		t.Errorf("header must end with exactly one CRLF and contain no blank line: %q", s)
	}
	if strings.Contains(strings.ToLower(s), "content-type") {
		t.Errorf("outer header must not contain Content-Type: %q", s)
	}
	if !strings.Contains(s, "Subject: Secure message\r\n") {
		t.Errorf("subject argument not used: %q", s)
	}
	m.MessageID = ""
	if err := WriteHeader(io.Discard, m, "x"); err == nil {
		t.Error("WriteHeader without Message-ID succeeded")
	}
}

func TestDetectType(t *testing.T) {
	tests := []struct {
		name string
		head string
		want string
	}{
		{"scan.bin", "%PDF-1.4", "application/pdf"},
		{"scan.pdf", "", "application/pdf"},
		{"page.TIF", "", "image/tiff"},
		{"x", "MM\x00*rest", "image/tiff"},
		{"x", "II*\x00rest", "image/tiff"},
		{"photo", "\xff\xd8\xff\xe0", "image/jpeg"},
		{"photo.jpeg", "", "image/jpeg"},
		{"img", "\x89PNG\r\n\x1a\n", "image/png"},
		{"misnamed.pdf", "\x89PNG\r\n\x1a\n", "image/png"},
		{"unknown", "hello", "application/octet-stream"},
	}
	for _, tt := range tests {
		if got := detectType(tt.name, []byte(tt.head)); got != tt.want {
			t.Errorf("detectType(%q, %q) = %q, want %q", tt.name, tt.head, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "ok.pdf", []byte("%PDF-1.7"))
	empty := writeFile(t, dir, "empty.pdf", nil)
	unreadable := writeFile(t, dir, "secret.pdf", []byte("%PDF-1.7"))
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	base := func() *Message {
		return &Message{
			From:      netmail.Address{Address: "a@example.org"},
			To:        []netmail.Address{{Address: "b@example.org"}},
			Documents: []Document{{Path: good}},
		}
	}
	tests := []struct {
		name   string
		modify func(m *Message)
		want   string // substring of the error; "" means valid
	}{
		{"valid", func(m *Message) {}, ""},
		{"tab in subject", func(m *Message) { m.Subject = "a\tb" }, ""},
		{"no from", func(m *Message) { m.From = netmail.Address{} }, "sender (From) has no e-mail address"},
		{"no to", func(m *Message) { m.To = nil }, "no recipient"},
		{"bad to", func(m *Message) { m.To[0].Address = "not an address" }, "not a valid e-mail address"},
		{"to with bracket", func(m *Message) { m.To[0].Address = "b@example.org>" }, "not a valid e-mail address"},
		{"to too long", func(m *Message) { m.To[0].Address = "b@" + strings.Repeat("y", 1000) + ".org" }, "longer than an e-mail address can be"},
		{"local part too long", func(m *Message) { m.To[0].Address = strings.Repeat("b", 65) + "@example.org" }, "longer than an e-mail address can be"},
		{"non-ascii address", func(m *Message) { m.To[0].Address = "ä@example.org" }, "non-ASCII"},
		{"bad cc", func(m *Message) { m.Cc = []netmail.Address{{Address: "@"}} }, "copy recipient 1 (Cc)"},
		{"CRLF subject", func(m *Message) { m.Subject = "hi\r\nBcc: evil@example.org" }, "subject contains a line break"},
		{"LF subject", func(m *Message) { m.Subject = "hi\nX: y" }, "line break"},
		{"NUL subject", func(m *Message) { m.Subject = "a\x00b" }, "control character"},
		{"long subject", func(m *Message) { m.Subject = strings.Repeat("x", 501) }, "too long"},
		{"bad utf8 subject", func(m *Message) { m.Subject = "\xff" }, "UTF-8"},
		{"CR in name", func(m *Message) { m.From.Name = "A\rB" }, "line break"},
		{"LF in file name", func(m *Message) { m.Documents[0].Name = "a\nb.pdf" }, "line break"},
		{"encoded word file name", func(m *Message) { m.Documents[0].Name = "=?utf-8?q?x?=" }, `contains "=?"`},
		{"bad content type", func(m *Message) { m.Documents[0].ContentType = "text/plain; charset=x" }, "not a plain media type"},
		{"no documents", func(m *Message) { m.Documents = nil }, "no documents"},
		{"cancellation without documents", func(m *Message) {
			m.Documents = nil
			m.Supersedes = &manifest.Supersedes{MessageID: "old@example.org", Kind: manifest.Cancel}
		}, ""},
		{"cancellation with documents", func(m *Message) {
			m.Supersedes = &manifest.Supersedes{MessageID: "old@example.org", Kind: manifest.Cancel}
		}, "a cancellation carries no documents"},
		{"missing", func(m *Message) { m.Documents[0].Path = filepath.Join(dir, "nope.pdf") }, "does not exist"},
		{"empty", func(m *Message) { m.Documents[0].Path = empty }, "is empty"},
		{"directory", func(m *Message) { m.Documents[0].Path = dir }, "not a regular file"},
		{"bad message id", func(m *Message) { m.MessageID = "<x@y>" }, "message id"},
	}
	if os.Geteuid() != 0 {
		tests = append(tests, struct {
			name   string
			modify func(m *Message)
			want   string
		}{"unreadable", func(m *Message) { m.Documents[0].Path = unreadable }, "permission denied"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			tt.modify(m)
			err := m.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want error containing %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("error does not wrap ErrInvalidMessage")
			}
		})
	}
}

func TestNewMessageID(t *testing.T) {
	a, err := NewMessageID("clinic.example.nz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewMessageID("clinic.example.nz")
	if a == b || !strings.HasSuffix(a, "@clinic.example.nz") || strings.ContainsAny(a, "<>") || !validMessageID(a) {
		t.Errorf("bad message ids %q %q", a, b)
	}
	if _, err := NewMessageID("bad domain>"); err == nil {
		t.Error("bad domain accepted")
	}
	if id, err := NewMessageID(""); err != nil || !strings.HasSuffix(id, "@localhost") {
		t.Errorf("empty domain: %q, %v", id, err)
	}
}
