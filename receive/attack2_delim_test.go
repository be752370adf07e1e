package receive_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/receive"
)

// gpgSignedMessage has gpg (an aliceGPG home) sign entity, a MIME entity
// in canonical (CRLF) form, with a detached signature, and returns the
// multipart/signed message (RFC 3156 section 5) that carries it.
func gpgSignedMessage(t *testing.T, entity string) string {
	t.Helper()
	ks := loadKeys(t)
	g := aliceGPG(t, ks)
	path := filepath.Join(t.TempDir(), "entity")
	if err := os.WriteFile(path, []byte(entity), 0o600); err != nil {
		t.Fatal(err)
	}
	sig := g.Run(nil, "--armor", "--detach-sign", "--digest-algo", "SHA256", "--local-user", "alice@clinic.test", "--output", "-", path)
	return fmt.Sprintf("%sContent-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\"; boundary=\"sig\"\r\n\r\n"+
		"--sig\r\n%s\r\n--sig\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n%s\r\n--sig--\r\n",
		gpgHeader, entity, bytes.ReplaceAll(sig, []byte("\n"), []byte("\r\n")))
}

// TestSignedBoundaryLinesReadersDisagreeOn: signed content whose inner
// multipart has a boundary line that RFC 2046 readers (and securesend's
// RawReader) and readers that take a lone CR for a line end (Python's
// email package) split differently. Checked with Python 3's email
// package: for "--inner\r\r\n" it ends the delimiter line at the lone CR
// and reads the next CRLF as the end of an empty header, so the PDF part
// securesend releases is a text note holding its header lines there; for
// a preamble holding "\r--inner" it reads a whole extra part ("hidden
// dose") that securesend never shows. Both were Verified before: the
// signature is good (a faulty or hostile sender program), but what the
// pharmacist sees depends on the program. Bad-signature (row 39), like a
// boundary after a bare CR inside a part.
func TestSignedBoundaryLinesReadersDisagreeOn(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	const head = "Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n"
	const pdf = "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n%PDF-1.4 dose 5 mg\r\n"
	for _, c := range []struct{ name, entity string }{
		{"delimiter line with a lone CR before its CRLF", head + "--inner\r\r\n" + pdf + "--inner--\r\n"},
		{"delimiter line with padding and a lone CR", head + "--inner \r\t\r\n" + pdf + "--inner--\r\n"},
		{"second delimiter line with a lone CR", head + "--inner\r\nContent-Type: text/plain\r\n\r\nnote\r\n--inner\r\r\n" + pdf + "--inner--\r\n"},
		{"preamble holding the boundary after a bare CR", head + "preamble\r--inner\r\nContent-Type: text/plain\r\n\r\nhidden dose 50 mg\r\n--inner\r\n" + pdf + "--inner--\r\n"},
		{"preamble's first line is the boundary after a bare CR", head + "\r--inner\r\nContent-Type: text/plain\r\n\r\nhidden dose 50 mg\r\n--inner\r\n" + pdf + "--inner--\r\n"},
	} {
		rec := &recordingSink{}
		rep, err := receive.Verify(context.Background(), strings.NewReader(gpgSignedMessage(t, c.entity)), receive.VerifyOptions{Store: store, Sink: rec.sink})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if rep.Verdict != receive.BadSignature || !rep.Withheld || rec.calls != 0 || !strings.Contains(rep.Reason, "MIME readers differ") {
			t.Errorf("%s: %s (%s), withheld %v, %d documents released; want bad-signature, readers differ, nothing released", c.name, rep.Verdict, rep.Reason, rep.Withheld, rec.calls)
		}
	}

	// Transport padding of spaces and tabs is a delimiter for every
	// reader: still Verified.
	for _, c := range []struct{ name, entity string }{
		{"padding of spaces and tabs", head + "--inner \t\r\n" + pdf + "--inner--  \r\n"},
		{"preamble without a bare CR", head + "This is a multi-part message in MIME format.\r\n--inner\r\n" + pdf + "--inner--\r\n"},
	} {
		rec := &recordingSink{}
		rep, err := receive.Verify(context.Background(), strings.NewReader(gpgSignedMessage(t, c.entity)), receive.VerifyOptions{Store: store, Sink: rec.sink})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if rep.Verdict != receive.Verified || rec.calls != 1 {
			t.Errorf("%s: %s (%s), %d documents released; want verified, one document", c.name, rep.Verdict, rep.Reason, rec.calls)
		}
	}
}

// TestSignedHeaderBareCR: a header field of signed content holding a bare
// CR. go-message reads the CR as part of the field's value; Python's
// email package (checked) ends the field there and reads another:
// "X-Comment: scan\rContent-Transfer-Encoding: base64" gives securesend a
// note of base64 text and Python the decoded "Dose: 500 mg"; a signed
// entity's own "Content-Type: text/plain\rContent-Transfer-Encoding:
// base64" is an unreadable Content-Type (a document) for securesend and a
// base64 note for Python. Both were Verified. Bad-signature (row 39); a
// folded field (CRLF and white space) still verifies.
func TestSignedHeaderBareCR(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	for _, c := range []struct {
		name, entity string
		want         receive.Verdict
	}{
		{"part field with a bare CR", "Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n--inner\r\nContent-Type: text/plain\r\nX-Comment: scan\rContent-Transfer-Encoding: base64\r\n\r\nRG9zZTogNTAwIG1n\r\n--inner--\r\n", receive.BadSignature},
		{"signed entity field with a bare CR", "Content-Type: text/plain\rContent-Transfer-Encoding: base64\r\n\r\nRG9zZTogNTAwIG1n\r\n", receive.BadSignature},
		{"field ending in a bare CR", "Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n--inner\r\nContent-Type: text/plain\r\nX-Comment: scan\r\r\n\r\nDose: 500 mg\r\n--inner--\r\n", receive.BadSignature},
		{"folded fields", "Content-Type: multipart/mixed;\r\n boundary=\"inner\"\r\n\r\n--inner\r\nContent-Type: text/plain;\r\n\tcharset=utf-8\r\n\r\nDose: 500 mg\r\n--inner--\r\n", receive.Verified},
	} {
		rec := &recordingSink{}
		rep, err := receive.Verify(context.Background(), strings.NewReader(gpgSignedMessage(t, c.entity)), receive.VerifyOptions{Store: store, Sink: rec.sink})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if rep.Verdict != c.want {
			t.Errorf("%s: %s (%s), want %s", c.name, rep.Verdict, rep.Reason, c.want)
			continue
		}
		if c.want == receive.BadSignature && (!rep.Withheld || rep.Note != "" || !strings.Contains(rep.Reason, "MIME readers differ")) {
			t.Errorf("%s: %s, withheld %v, note %q; want withheld, readers differ", c.name, rep.Reason, rep.Withheld, rep.Note)
		}
		if c.want == receive.Verified && rep.Note != "Dose: 500 mg" {
			t.Errorf("%s: note %q", c.name, rep.Note)
		}
	}
}

// TestSignedBase64AfterPadding: a base64 part of signed content that goes
// on after its padding. RFC 2045 section 6.8 lets a decoder stop at the
// padding, and Python's email package (checked) does: "RG9zZTog\r\nNQ==\r\n
// MDAgbWc=" is the note "Dose: 5" there, "Dose: 500 mg" for a decoder
// that goes on, as securesend's did, Verified. Now a malformed part (the
// whole message is bad-signature, withheld), for documents as for notes.
func TestSignedBase64AfterPadding(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	for _, c := range []struct {
		name, entity string
		want         receive.Verdict
	}{
		{"note", "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nRG9zZTog\r\nNQ==\r\nMDAgbWc=\r\n", receive.BadSignature},
		{"document", "Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n--inner\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nRG9zZTog\r\nNQ==\r\nMDAgbWc=\r\n--inner--\r\n", receive.BadSignature},
		{"padded at its end", "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nRG9zZTog\r\nNTAwIG1n\r\nIQ==\r\n\r\n", receive.Verified},
	} {
		rec := &recordingSink{}
		rep, err := receive.Verify(context.Background(), strings.NewReader(gpgSignedMessage(t, c.entity)), receive.VerifyOptions{Store: store, Sink: rec.sink})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if rep.Verdict != c.want || (c.want == receive.BadSignature && (!rep.Withheld || rec.calls != 0 || rep.Note != "")) {
			t.Errorf("%s: %s (%s), withheld %v, %d documents, note %q; want %s", c.name, rep.Verdict, rep.Reason, rep.Withheld, rec.calls, rep.Note, c.want)
		}
		if c.want == receive.Verified && rep.Note != "Dose: 500 mg!" {
			t.Errorf("%s: note %q", c.name, rep.Note)
		}
	}
}

// TestSignedQuotedPrintableReadersDiffer: quoted-printable in signed
// content that decoders read differently. Checked with Python 3's quopri
// (what its email package decodes with): "dose 5= \r\n00 mg" is "dose 5=
// \r\n00 mg" there and "dose 500 mg" for Go's decoder (RFC 2045 section
// 6.7 deletes the space, making "=" a soft line break); a line's trailing
// tab is kept by Python and deleted by Go; "a==3D" is "a=3D" for Python,
// "a==" for Go. All were Verified. Now the part is malformed: bad-signature,
// withheld. Valid quoted-printable (soft breaks,
// lower-case hex, an "=" at the very end) still verifies.
func TestSignedQuotedPrintableReadersDiffer(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	note := func(qp string) string {
		return "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp
	}
	doc := func(qp string) string {
		return "Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n--inner\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; filename=\"dose.csv\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp + "\r\n--inner--\r\n"
	}
	for _, c := range []struct {
		name, entity string
		want         receive.Verdict
		note         string
	}{
		{"soft break after a space", note("dose 5= \r\n00 mg\r\n"), receive.BadSignature, ""},
		{"soft break after a space, document", doc("dose 5= \r\n00 mg"), receive.BadSignature, ""},
		{"trailing tab", note("dose\t\r\n500 mg\r\n"), receive.BadSignature, ""},
		{"trailing space at the end", note("dose 500 mg "), receive.BadSignature, ""},
		{"= starting no escape", note("a==3D\r\n"), receive.BadSignature, ""},
		{"= then a letter", note("x=ZZy\r\n"), receive.BadSignature, ""},
		{"= then one hex digit at the end", note("x=3"), receive.BadSignature, ""},
		{"valid", note("dose 5=\r\n00 mg =3d=3D 1g!\r\nend="), receive.Verified, "dose 500 mg == 1g!\nend"},
		{"spaces inside lines", note("dose  500\tmg\r\nnext=20\r\n"), receive.Verified, "dose  500\tmg\nnext \n"},
	} {
		rec := &recordingSink{}
		rep, err := receive.Verify(context.Background(), strings.NewReader(gpgSignedMessage(t, c.entity)), receive.VerifyOptions{Store: store, Sink: rec.sink})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if rep.Verdict != c.want || (c.want == receive.BadSignature && (!rep.Withheld || rec.calls != 0 || rep.Note != "")) {
			t.Errorf("%s: %s (%s), withheld %v, %d documents, note %q; want %s", c.name, rep.Verdict, rep.Reason, rep.Withheld, rec.calls, rep.Note, c.want)
		}
		if c.want == receive.Verified && rep.Note != c.note {
			t.Errorf("%s: note %q, want %q", c.name, rep.Note, c.note)
		}
	}
}

// TestSignedHeaderNameSpace: a field name with white space before its
// colon in signed content. go-message trims it ("Content-Type :
// application/pdf" is a PDF document for securesend); Python's email
// package (checked) takes that line for the start of the body (a text
// note of the header lines). Verified before; bad-signature now (row 39).
func TestSignedHeaderNameSpace(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	for _, c := range []struct{ name, entity string }{
		{"part", "Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n--inner\r\nContent-Type : application/pdf\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n%PDF-1.4 dose 5 mg\r\n--inner--\r\n"},
		{"signed entity", "Content-Type\t: application/pdf\r\n\r\n%PDF-1.4 dose 5 mg\r\n"},
	} {
		rec := &recordingSink{}
		rep, err := receive.Verify(context.Background(), strings.NewReader(gpgSignedMessage(t, c.entity)), receive.VerifyOptions{Store: store, Sink: rec.sink})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if rep.Verdict != receive.BadSignature || !rep.Withheld || rec.calls != 0 || !strings.Contains(rep.Reason, "MIME readers differ") {
			t.Errorf("%s: %s (%s), withheld %v, %d documents; want bad-signature, readers differ", c.name, rep.Verdict, rep.Reason, rep.Withheld, rec.calls)
		}
	}
}

// TestSignedBoundaryTrailingSpace: a multipart in signed content whose
// boundary parameter ends in a space ("inner "; RFC 2046 does not allow
// it). Go keeps the space, so "--inner" is content for securesend;
// Python's email package (checked) strips it, so "--inner" starts a part
// there that securesend never shows as one (a second document, a hidden
// note). Verified before; bad-signature now (row 39).
func TestSignedBoundaryTrailingSpace(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	entity := "Content-Type: multipart/mixed; boundary=\"inner \"\r\n\r\n--inner \r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n%PDF-1.4\r\n" +
		"--inner\r\nContent-Type: text/plain\r\n\r\nhidden dose 50 mg\r\n--inner --\r\n"
	rec := &recordingSink{}
	rep, err := receive.Verify(context.Background(), strings.NewReader(gpgSignedMessage(t, entity)), receive.VerifyOptions{Store: store, Sink: rec.sink})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != receive.BadSignature || !rep.Withheld || rec.calls != 0 || !strings.Contains(rep.Reason, "MIME readers differ") {
		t.Errorf("%s (%s), withheld %v, %d documents; want bad-signature, readers differ", rep.Verdict, rep.Reason, rep.Withheld, rec.calls)
	}
}

// TestTwoSignersInsideEncryption: gpg signing with two keys (two One-Pass
// Signature packets, two signatures) inside the encryption. go-crypto
// checks one signature, that of the last One-Pass Signature's key, and
// keeps an earlier packet's key when it does not know the last one: the
// sender's and an unknown key together came out as "altered or forged",
// and the sender's with another pinned key as sent by that other key.
// Never Verified, but the reason was wrong; now it says what it is.
func TestTwoSignersInsideEncryption(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	g := aliceGPG(t, ks)
	g.Import(pgptest.ArmoredSecret(t, ks["mallory"]))
	g.Import(pgptest.ArmoredSecret(t, ks["dave"]))
	for _, signers := range [][2]string{{"alice@clinic.test", "mallory@evil.test"}, {"mallory@evil.test", "alice@clinic.test"}, {"alice@clinic.test", "dave@lab.test"}} {
		for _, mode := range [][]string{nil, {"--textmode"}} {
			args := append([]string{"--local-user", signers[0], "--local-user", signers[1]}, mode...)
			ct := gpgSignEncrypt(t, g, "Content-Type: text/plain\r\n\r\nDose 5 mg\r\n", args...)
			msg := fmt.Sprintf("%sContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"enc\"\r\n\r\n"+
				"--enc\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--enc\r\nContent-Type: application/octet-stream\r\n\r\n%s\r\n--enc--\r\n", gpgHeader, ct)
			rep, err := receive.Verify(context.Background(), strings.NewReader(msg), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != receive.BadSignature || !rep.Withheld || !strings.Contains(rep.Reason, "more than one key") {
				t.Errorf("%v %v: %s (%s), withheld %v; want bad-signature, signed with more than one key", signers, mode, rep.Verdict, rep.Reason, rep.Withheld)
			}
		}
	}
}
