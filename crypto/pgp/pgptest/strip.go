package pgptest

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"slices"
	"testing"
)

// StripSignature is what a hostile server makes of a PGP/MIME
// multipart/signed message raw: the signed part alone, under the outer
// From, To, Subject, Date and Message-Id fields, with no signature. It
// fails the test if raw is not multipart/signed.
func StripSignature(t testing.TB, raw []byte) []byte {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/signed" {
		t.Fatalf("not multipart/signed: %q %v", m.Header.Get("Content-Type"), err)
	}
	p, err := multipart.NewReader(m.Body, params["boundary"]).NextRawPart()
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(p)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-Id"} {
		if v := m.Header.Get(k); v != "" {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("MIME-Version: 1.0\r\n")
	keys := make([]string, 0, len(p.Header))
	for k := range p.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range p.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}
