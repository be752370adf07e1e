package send

import (
	"bytes"
	"io"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"
)

// FuzzHeaders feeds arbitrary subjects, display names and file names into
// a message. Either Validate rejects it, or the composed message parses
// back with exactly one of each header and the same values: a CR or LF can
// never smuggle in another header field.
func FuzzHeaders(f *testing.F) {
	f.Add("Referral", "Dr Who", "scan.pdf", "ward3@example.org")
	f.Add("hi\r\nBcc: evil@example.org", "A\r\nTo: x@y", "a\r\nContent-Type: text/html.pdf", "a@b\r\nBcc: c@d")
	f.Add("=?utf-8?q?encoded?=", "=?utf-8?b?QQ==?=", "résumé \"final\".pdf", "\"quoted local\"@example.org")
	f.Add("  leading and trailing  ", `quote " and \ backslash`, "日本語のファイル.tiff", "x@[127.0.0.1]")
	f.Add(strings.Repeat("long subject without spaces", 20), "Ngā", "x;y=z.pdf", "a.b+tag@sub.example.org")
	dir := f.TempDir()
	doc := filepath.Join(dir, "doc")
	if err := os.WriteFile(doc, []byte("%PDF-1.7 test"), 0o600); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, subject, name, fileName, to string) {
		m := &Message{
			From:      netmail.Address{Name: name, Address: "from@example.org"},
			To:        []netmail.Address{{Name: name, Address: to}},
			Subject:   subject,
			Documents: []Document{{Path: doc, Name: fileName}},
			MessageID: "id@example.org",
		}
		if err := m.Validate(); err != nil {
			return
		}
		var buf bytes.Buffer
		if _, err := Compose(&buf, m); err != nil {
			t.Fatalf("Validate accepted but Compose failed: %v", err)
		}
		mr, err := mail.CreateReader(&buf)
		if err != nil {
			t.Fatalf("composed message does not parse: %v", err)
		}
		fields := mr.Header.Fields()
		seen := map[string]int{}
		for fields.Next() {
			seen[strings.ToLower(fields.Key())]++
		}
		want := []string{"date", "from", "to", "subject", "message-id", "mime-version", "content-type"}
		for _, k := range want {
			if seen[k] != 1 {
				t.Errorf("header %q appears %d times", k, seen[k])
			}
		}
		if len(seen) != len(want) {
			t.Errorf("unexpected header fields: %v", seen)
		}
		if got, err := mr.Header.Subject(); err != nil || got != subject {
			t.Errorf("subject %q read back as %q (%v)", subject, got, err)
		}
		for _, k := range []string{"From", "To"} {
			as, err := mr.Header.AddressList(k)
			if err != nil || len(as) != 1 || as[0].Name != name {
				t.Fatalf("%s with name %q read back as %v (%v)", k, name, as, err)
			}
			if want := map[string]string{"From": "from@example.org", "To": to}[k]; as[0].Address != want {
				t.Errorf("%s address %q read back as %q", k, want, as[0].Address)
			}
		}
		if _, err := mr.NextPart(); err != nil { // the note
			t.Fatal(err)
		}
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		ah, ok := p.Header.(*mail.AttachmentHeader)
		if !ok {
			t.Fatal("document is not an attachment")
		}
		fields = ah.Fields()
		n := 0
		for fields.Next() {
			n++
		}
		if n != 3 {
			t.Errorf("attachment has %d header fields, want 3", n)
		}
		if got, err := ah.Filename(); err != nil || got != fileName && !(fileName == "" && got == "doc") {
			t.Errorf("file name %q read back as %q (%v)", fileName, got, err)
		}
		if body, _ := io.ReadAll(p.Body); string(body) != "%PDF-1.7 test" {
			t.Errorf("body changed: %q", body)
		}
	})
}
