package receive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
)

// The attacks in this file are those of an outsider (issue 12 review):
// a forger who holds one genuine message Dr Alice signed and a key of
// his own, or a sender of hostile mail. Each case states what the attack
// tries; the assertions are what securesend must do about it. Failed
// attacks stay as regression tests.

// entityOf returns the MIME entity of a message made by signedMIME or
// encryptedMIME: its Content-Type header field and body, without the
// outer header fields, ready to be nested in another message.
func entityOf(t *testing.T, msg []byte) string {
	t.Helper()
	i := bytes.Index(msg, []byte("Content-Type: multipart/"))
	if i < 0 {
		t.Fatal("no multipart entity")
	}
	return string(msg[i:])
}

func mixed(outer, ctype string, parts ...string) []byte {
	var b strings.Builder
	b.WriteString(outer + "MIME-Version: 1.0\r\nContent-Type: " + ctype + "; boundary=\"wrap\"\r\n\r\n")
	for _, p := range parts {
		b.WriteString("--wrap\r\n" + p + "\r\n")
	}
	b.WriteString("--wrap--\r\n")
	return []byte(b.String())
}

const (
	forgedNote = "Content-Type: text/plain; charset=utf-8\r\n\r\nCORRECTION: dispense 90 tablets.\r\n"
	forgedHTML = "Content-Type: text/html\r\n\r\n<p>CORRECTION: dispense 90 tablets.</p>\r\n"
	forgedPDF  = "Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"rx-corrected.pdf\"\r\n\r\n%PDF-1.4 forged\r\n"
)

// forged reports whether anything the forger added reached the report.
func forged(rep *receive.Report) bool {
	if strings.Contains(rep.Note, "dispense 90") || strings.Contains(rep.Subject, "Dispense 90") {
		return true
	}
	for _, d := range rep.Documents {
		if d.Name == "rx-corrected.pdf" {
			return true
		}
	}
	return false
}

// TestAttackForgeStructure: with one genuine message Alice signed for
// bob (Verified, the baseline) and one she signed for another pharmacy,
// wrap, nest, reorder, add and replay parts so that the forger's words
// show as Verified. None may.
func TestAttackForgeStructure(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	alice, bob, mallory := ks["alice"].Entity(), ks["bob"].Entity(), ks["mallory"].Entity()
	opts := receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}}

	genuine := signedMIME(t, outerAlice, innerEntity(`; hp="clear"`, protAlice, "Dispense 30"), alice, nil)
	forOther := signedMIME(t, outerAlice, innerEntity(`; hp="clear"`, strings.Replace(protAlice, "bob@pharmacy.test", "other@pharmacy.test", 1), "Dispense 30"), alice, nil)
	if rep := verify(t, genuine, opts); rep.Verdict != receive.Verified {
		t.Fatalf("baseline: %s (%s)", rep.Verdict, rep.Reason)
	}
	gEnt, oEnt := entityOf(t, genuine), entityOf(t, forOther)
	mallorySigned := entityOf(t, signedMIME(t, outerAlice, innerEntity(`; hp="clear"`, strings.Replace(protAlice, "Dispense 30", "Dispense 90", 1), "CORRECTION: dispense 90 tablets."), mallory, nil))
	// Alice's combined signed+encrypted message to bob.
	combined := encryptedMIME(t, outerAlice, []byte(innerEntity(`; hp="cipher"`, protAlice, "Dispense 30")), []*openpgp.Entity{bob}, alice)
	// An encrypted container with its own protected fields claiming bob
	// and a new subject, around the signed entity for the other pharmacy.
	container := func(signedEnt string) []byte {
		ent := strings.Replace(signedEnt, "boundary=\"sig\"", "boundary=\"sig\"; hp=\"cipher\"", 1)
		hdr := "From: Dr Alice Test <alice@clinic.test>\r\nTo: bob@pharmacy.test\r\nSubject: Dispense 90\r\n"
		return encryptedMIME(t, outerAlice, []byte(hdr+ent), []*openpgp.Entity{bob}, nil)
	}
	// The same made by gpg (the real peer): signed and encrypted by
	// alice to bob, then the forger appends a part.
	gpgCombined := wrapEncrypted(outerAlice, gpgSignEncrypt(t, aliceGPG(t, ks), innerEntity(`; hp="cipher"`, protAlice, "Dispense 30")))
	if rep := verify(t, gpgCombined, opts); rep.Verdict != receive.Verified {
		t.Fatalf("gpg baseline: %s (%s)", rep.Verdict, rep.Reason)
	}
	gpgExtra := bytes.Replace(gpgCombined, []byte("\r\n--e--"), []byte("\r\n--e\r\n"+forgedPDF+"\r\n--e--"), 1)
	extraEncryptedPart := bytes.Replace(combined, []byte("\r\n--e--"), []byte("\r\n--e\r\n"+forgedNote+"\r\n--e--"), 1)
	sigFirst := func() []byte {
		b := string(genuine)
		i := strings.Index(b, "--sig\r\n")
		j := strings.Index(b, "--sig\r\nContent-Type: application/pgp-signature")
		k := strings.Index(b, "--sig--")
		return []byte(b[:i] + b[j:k] + b[i:j] + b[k:])
	}()

	tests := []struct {
		name string
		msg  []byte
		want receive.Verdict // "" = anything but Verified
	}{
		{"unsigned sibling after the signed part", mixed(outerAlice, "multipart/mixed", gEnt, forgedNote), receive.BadSignature},
		{"unsigned sibling before the signed part", mixed(outerAlice, "multipart/mixed", forgedNote, gEnt), receive.BadSignature},
		{"unsigned document beside the signed part", mixed(outerAlice, "multipart/mixed", gEnt, forgedPDF), receive.BadSignature},
		{"two signed parts, the second the forger's", mixed(outerAlice, "multipart/mixed", gEnt, mallorySigned), receive.BadSignature},
		{"alternative with an HTML twin", mixed(outerAlice, "multipart/alternative", gEnt, forgedHTML), receive.BadSignature},
		{"alternative with a plain twin first", mixed(outerAlice, "multipart/alternative", forgedNote, gEnt), receive.BadSignature},
		{"genuine message as message/rfc822 beside a note", mixed(outerAlice, "multipart/mixed", forgedNote, "Content-Type: message/rfc822\r\n\r\n"+string(genuine)), receive.NotSigned},
		{"root message/rfc822", []byte(outerAlice + "MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n" + string(genuine)), receive.NotSigned},
		{"signature part first", sigFirst, receive.BadSignature},
		{"replayed from another pharmacy, outer To changed", forOther, receive.NotAddressed},
		{"replayed inside an encrypted container claiming bob", container(oEnt), receive.NotAddressed},
		{"marker stripped from the signed part", bytes.Replace(forOther, []byte(`; hp="clear"`), nil, 1), receive.BadSignature},
		{"encrypted: unsigned container holding the signed entity and a note", encryptedMIME(t, outerAlice, mixed("", "multipart/mixed", gEnt, forgedNote), []*openpgp.Entity{bob}, nil), receive.BadSignature},
		{"encrypted then signed by the forger", signedMIME(t, outerAlice, entityOf(t, combined), mallory, nil), receive.UnknownSigner},
		{"unsigned part after the encrypted part", extraEncryptedPart, receive.BadSignature},
		{"unsigned document after gpg's encrypted part", gpgExtra, receive.BadSignature},
		{"gpg's encrypted part twice", bytes.Replace(gpgCombined, []byte("\r\n--e--"), append([]byte("\r\n--e\r\n"), gpgCombined[bytes.Index(gpgCombined, []byte("Content-Type: application/octet-stream")):bytes.Index(gpgCombined, []byte("\r\n--e--"))]...), 1), receive.BadSignature},
		{"forger's signed entity encrypted with Alice's outside it", encryptedMIME(t, outerAlice, []byte(mallorySigned), []*openpgp.Entity{bob}, nil), receive.UnknownSigner},
		{"legacy protected-headers on an unsigned sibling", mixed(outerAlice, "multipart/mixed", gEnt, "Content-Type: text/plain; protected-headers=\"v1\"\r\nFrom: alice@clinic.test\r\nTo: bob@pharmacy.test\r\nSubject: Dispense 90\r\n\r\nCORRECTION: dispense 90 tablets.\r\n"), receive.BadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := verify(t, tt.msg, opts)
			if rep.Verdict == receive.Verified || (tt.want != "" && rep.Verdict != tt.want) {
				t.Errorf("verdict %s (%s), want %s", rep.Verdict, rep.Reason, tt.want)
			}
			if rep.Verdict == receive.Verified && forged(rep) {
				t.Errorf("forged content shown beside Verified: subject %q note %q documents %+v", rep.Subject, rep.Note, rep.Documents)
			}
			if tt.want == receive.NotAddressed && (rep.Subject != "Dispense 30" || !rep.Signed.To || strings.Join(rep.To, ",") != "other@pharmacy.test") {
				t.Errorf("replay shows subject %q, to %q, signed %+v", rep.Subject, rep.To, rep.Signed)
			}
		})
	}
}

// TestAttackFromAndRecipients: a forger with a key of his own that the
// user pinned for his own address (a colleague's, or a compromised
// prescriber's) writes From fields that a reader may take for Alice's; and
// Alice's recipients are matched against bob's address by every trick. The
// From shown beside a good signature must be the signer's bound address,
// and a signed To must name bob exactly.
func TestAttackFromAndRecipients(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	alice, dave := ks["alice"].Entity(), ks["dave"].Entity()
	opts := receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}}

	froms := []struct {
		from string
		want receive.Verdict
	}{
		{"From: alice@clinic.test, dave@lab.test\r\n", receive.SenderMismatch},
		{"From: dave@lab.test, alice@clinic.test\r\n", receive.SenderMismatch},
		{"From: dave@lab.test\r\nFrom: alice@clinic.test\r\n", receive.SenderMismatch},
		{"From: alice@clinic.test\r\nFrom: dave@lab.test\r\n", receive.SenderMismatch},
		{"From: Clinic: dave@lab.test, alice@clinic.test;\r\n", receive.SenderMismatch},
		{"From: Clinic: alice@clinic.test;\r\n", receive.SenderMismatch},
		{"From: \"alice@clinic.test\" <dave@lab.test>\r\n", receive.Verified},
		{"From: =?utf-8?q?Dr_Alice_=3Calice=40clinic=2Etest=3E?= <dave@lab.test>\r\n", receive.Verified},
		{"From: =?utf-8?q?alice=40clinic.test?=\r\n", receive.SenderMismatch},
		{"From: dave@lab.test (alice@clinic.test)\r\n", receive.Verified},
		{"From: alice@clinic.test <dave@lab.test>\r\n", ""},
		{"From: <dave@lab.test> alice@clinic.test\r\n", ""},
		{"From: dave@lab.test\r\n <alice@clinic.test>\r\n", ""},
		{"From: ALICE@CLINIC.TEST\r\n", receive.SenderMismatch},
		{"From: dave@lab.te\u017ft\r\n", receive.SenderMismatch},
		{"From: DAVE@LAB.TEST\r\n", receive.Verified},
	}
	for _, tt := range froms {
		fields := tt.from + "To: bob@pharmacy.test\r\nSubject: rx\r\n"
		for _, hp := range []string{`; hp="clear"`, ""} {
			outer := outerAlice
			if hp == "" {
				outer = fields
			}
			rep := verify(t, signedMIME(t, outer, innerEntity(hp, fields, "Dispense 90"), dave, nil), opts)
			if rep.Verdict == receive.Verified && rep.From != "dave@lab.test" {
				t.Errorf("%q%s: Verified showing From %q", tt.from, hp, rep.From)
			}
			if strings.Contains(rep.From, "alice") && (rep.Verdict == receive.Verified || rep.Verdict.Colour() != "red") {
				t.Errorf("%q%s: %s From %q", tt.from, hp, rep.Verdict, rep.From)
			}
			if tt.want != "" && rep.Verdict != tt.want {
				t.Errorf("%q%s: %s (%s), want %s", tt.from, hp, rep.Verdict, rep.Reason, tt.want)
			}
		}
	}

	// Alice's signed recipients: only bob's exact address counts.
	recips := []struct {
		to   string
		want receive.Verdict
	}{
		{"To: xbob@pharmacy.test\r\n", receive.NotAddressed},
		{"To: bob@pharmacy.test.evil\r\n", receive.NotAddressed},
		{"To: bob@pharmacy.tes\r\n", receive.NotAddressed},
		{"To: \"bob@pharmacy.test\" <other@pharmacy.test>\r\n", receive.NotAddressed},
		{"To: other@pharmacy.test (bob@pharmacy.test)\r\n", receive.NotAddressed},
		{"To: Pharmacies: other@pharmacy.test;\r\n", receive.NotAddressed},
		{"To: undisclosed-recipients:;\r\n", receive.NotAddressed},
		{"To: bob@pharmacy.test <other@pharmacy.test\r\n", receive.NotAddressed},
		{"To: =?utf-8?q?bob=40pharmacy.test?=\r\n", receive.NotAddressed},
		{"To: bob@pharmacy.teſt\r\n", receive.NotAddressed},
		{"To: bob@pharmacy.test\r\n", receive.Verified},
		{"To: Bob <BOB@Pharmacy.Test>\r\n", receive.Verified},
		{"To: other@pharmacy.test\r\nCc: Pharmacies: bob@pharmacy.test;\r\n", receive.Verified},
	}
	for _, tt := range recips {
		fields := "From: Dr Alice Test <alice@clinic.test>\r\n" + tt.to + "Subject: rx\r\n"
		rep := verify(t, signedMIME(t, outerAlice, innerEntity(`; hp="clear"`, fields, "Dispense 30"), alice, nil), opts)
		if rep.Verdict != tt.want {
			t.Errorf("%q: %s (%s), want %s", tt.to, rep.Verdict, rep.Reason, tt.want)
		}
	}

	// HP-Outer fields (RFC 9788 section 2.2, a record of the outer header)
	// inside the protected part are not recipients.
	fields := "From: Dr Alice Test <alice@clinic.test>\r\nTo: other@pharmacy.test\r\nHP-Outer: To: bob@pharmacy.test\r\nHP-Outer: From: bob@pharmacy.test\r\nSubject: rx\r\n"
	rep := verify(t, signedMIME(t, outerAlice, innerEntity(`; hp="cipher"`, fields, "Dispense 30"), alice, nil), opts)
	if rep.Verdict != receive.NotAddressed || rep.From != "alice@clinic.test" {
		t.Errorf("HP-Outer: %s (%s), From %q", rep.Verdict, rep.Reason, rep.From)
	}
}

// withheldSecrets is text that must never leave a withheld message.
const withheldSecret = "SECRET-INSIDE"

// assertWithheld checks that nothing of a withheld message's inside is in
// its report (as the front ends would serialize it), that the sink was not
// called, and that the staging directory is empty.
func assertWithheld(t *testing.T, rep *receive.Report, rec *recordingSink, staging string) {
	t.Helper()
	if rep.Verdict.Releasable() || !rep.Withheld {
		t.Errorf("verdict %s (%s), withheld %v", rep.Verdict, rep.Reason, rep.Withheld)
	}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(js, []byte(withheldSecret)) {
		t.Errorf("inside text in the report of a withheld message: %s", js)
	}
	if rec != nil && rec.calls != 0 {
		t.Errorf("%d sink calls", rec.calls)
	}
	if left, _ := os.ReadDir(staging); len(left) != 0 {
		t.Errorf("staging directory not empty: %v", left)
	}
}

// TestAttackWithheldLeaks: content of a cannot-decrypt or bad-signature
// message must not reach the sink, the report (any field, the reason
// included) or the staging directory.
func TestAttackWithheldLeaks(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	alice, bob, mallory := ks["alice"].Entity(), ks["bob"].Entity(), ks["mallory"].Entity()

	secretFields := "From: Dr Alice Test <alice@clinic.test>\r\nTo: bob@pharmacy.test\r\nSubject: " + withheldSecret + " subject\r\n"
	secretInner := func(params string) string {
		return "Content-Type: multipart/mixed; boundary=\"in\"" + params + "\r\n" + secretFields + "\r\n" +
			"--in\r\nContent-Type: text/plain\r\n\r\n" + withheldSecret + " note " + strings.Repeat("x", 3000) + "\r\n" +
			"--in\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"" + withheldSecret + ".pdf\"\r\n\r\n" + withheldSecret + " pdf\r\n" +
			"--in--\r\n"
	}
	// A malformed header line inside: the parser's error quotes it.
	malformedInner := "Content-Type: multipart/mixed; boundary=\"in\"; hp=\"clear\"\r\n" + secretFields + "\r\n" +
		"--in\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n" +
		"--in\r\nContent-Type: application/pdf\r\n" + withheldSecret + " \x1b[2J\x1b[32mVERIFIED by Dr Alice\r\n\r\npdf\r\n" +
		"--in--\r\n"

	combined := encryptedMIME(t, outerAlice, []byte(secretInner(`; hp="cipher"`)), []*openpgp.Entity{bob}, alice)
	signed := signedMIME(t, outerAlice, secretInner(`; hp="clear"`), alice, nil)
	tests := map[string][]byte{
		"tampered ciphertext (MDC)":                     tamperCiphertext(t, combined),
		"encrypted to someone else":                     encryptedMIME(t, outerAlice, []byte(secretInner(`; hp="cipher"`)), []*openpgp.Entity{ks["carol"].Entity()}, alice),
		"note altered after signing":                    bytes.Replace(signed, []byte("note xxx"), []byte("note yyy"), 1),
		"signed by the forger, malformed part header":   signedMIME(t, outerAlice, malformedInner, mallory, nil),
		"signed by Alice, malformed part header":        signedMIME(t, outerAlice, malformedInner, alice, nil),
		"encrypted, signed part with a secret protocol": encryptedMIME(t, outerAlice, []byte("Content-Type: multipart/signed; protocol=\""+withheldSecret+"\"; boundary=\"s\"\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nx\r\n--s--\r\n"), []*openpgp.Entity{bob}, nil),
		"encrypted, signed part with a secret micalg":   encryptedMIME(t, outerAlice, []byte("Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; micalg=\""+withheldSecret+"\"; boundary=\"s\"\r\n\r\n--s\r\nContent-Type: text/plain\r\n\r\nx\r\n--s--\r\n"), []*openpgp.Entity{bob}, nil),
		"encrypted, malformed part header, unsigned":    encryptedMIME(t, outerAlice, append([]byte("Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=\"s\"\r\n\r\n--s\r\n"), malformedInner...), []*openpgp.Entity{bob}, nil),
	}
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			staging := t.TempDir()
			rec := &recordingSink{}
			rep := verify(t, msg, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, Sink: rec.sink, StagingDir: staging})
			assertWithheld(t, rep, rec, staging)
		})
	}
}

// cancelAfter cancels its context once n bytes have been read through it.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// TestAttackStagingCleanup: the staging directory is gone on every path:
// a sink that panics, a sink that fails half-way, a context cancelled in
// the middle of a document, a reader that fails.
func TestAttackStagingCleanup(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	alice, bob := ks["alice"].Entity(), ks["bob"].Entity()
	inner := "Content-Type: multipart/mixed; boundary=\"in\"; hp=\"cipher\"\r\n" + protAlice + "\r\n"
	for i := range 3 {
		inner += fmt.Sprintf("--in\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"d%d.pdf\"\r\n\r\n%s\r\n", i, strings.Repeat("p", 300<<10))
	}
	inner += "--in--\r\n"
	msg := encryptedMIME(t, outerAlice, []byte(inner), []*openpgp.Entity{bob}, alice)
	opts := func(staging string, sink receive.DocumentSink) receive.VerifyOptions {
		return receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, Sink: sink, StagingDir: staging}
	}
	empty := func(t *testing.T, staging string) {
		t.Helper()
		if left, _ := os.ReadDir(staging); len(left) != 0 {
			t.Errorf("staging directory not empty: %v", left)
		}
	}

	t.Run("sink panics", func(t *testing.T) {
		staging := t.TempDir()
		func() {
			defer func() {
				if recover() == nil {
					t.Error("the sink's panic did not propagate")
				}
			}()
			receive.Verify(context.Background(), bytes.NewReader(msg), opts(staging, func(string, string, io.Reader) (string, error) { panic("sink") }))
		}()
		empty(t, staging)
	})
	t.Run("sink fails on the second document", func(t *testing.T) {
		staging := t.TempDir()
		calls := 0
		_, err := receive.Verify(context.Background(), bytes.NewReader(msg), opts(staging, func(_, _ string, r io.Reader) (string, error) {
			if calls++; calls == 2 {
				return "", errors.New("disk full")
			}
			_, err := io.Copy(io.Discard, r)
			return "x", err
		}))
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("error %v", err)
		}
		empty(t, staging)
	})
	for _, at := range []int{100, len(msg) / 2, len(msg) - 200} {
		t.Run(fmt.Sprintf("context cancelled after %d bytes", at), func(t *testing.T) {
			staging := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rec := &recordingSink{}
			rep, err := receive.Verify(ctx, &cancelAfter{r: bytes.NewReader(msg), n: at, cancel: cancel}, opts(staging, rec.sink))
			if err == nil || !errors.Is(err, context.Canceled) || rep != nil {
				t.Errorf("report %+v, error %v", rep, err)
			}
			if rec.calls != 0 {
				t.Errorf("%d sink calls after cancel", rec.calls)
			}
			empty(t, staging)
		})
	}
	t.Run("context cancelled by the first document's sink", func(t *testing.T) {
		staging := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		calls := 0
		_, err := receive.Verify(ctx, bytes.NewReader(msg), opts(staging, func(_, _ string, r io.Reader) (string, error) {
			calls++
			cancel()
			_, err := io.Copy(io.Discard, r)
			return "x", err
		}))
		if !errors.Is(err, context.Canceled) || calls != 1 {
			t.Errorf("error %v, %d sink calls", err, calls)
		}
		empty(t, staging)
	})
	t.Run("reader fails", func(t *testing.T) {
		staging := t.TempDir()
		rec := &recordingSink{}
		r := io.MultiReader(bytes.NewReader(msg[:len(msg)*2/3]), iotestErrReader{})
		if _, err := receive.Verify(context.Background(), r, opts(staging, rec.sink)); err == nil || rec.calls != 0 {
			t.Errorf("error %v, %d sink calls", err, rec.calls)
		}
		empty(t, staging)
	})
}

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// encryptCompressed returns plain ZLIB-compressed and encrypted to bob,
// not signed, as an armored OpenPGP message.
func encryptCompressed(t *testing.T, ks keys, write func(io.Writer)) []byte {
	t.Helper()
	cfg := pgp.Config(nil)
	cfg.DefaultCompressionAlgo = packet.CompressionZLIB
	cfg.CompressionConfig = &packet.CompressionConfig{Level: 9}
	bob := ks["bob"].Entity()
	for _, id := range bob.Identities {
		id.SelfSignature.PreferredCompression = []uint8{uint8(packet.CompressionZLIB)}
	}
	var ct bytes.Buffer
	aw, err := armor.Encode(&ct, "PGP MESSAGE", nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := openpgp.Encrypt(aw, openpgp.EntityList{bob}, nil, &openpgp.FileHints{IsBinary: true}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	write(w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	aw.Close()
	return ct.Bytes()
}

// TestAttackExhaustion: small messages that try to use much memory, time
// or disk.
func TestAttackExhaustion(t *testing.T) {
	ks := loadKeys(t)
	store := bobStore(t, ks)
	opts := func(staging string, sink receive.DocumentSink) receive.VerifyOptions {
		return receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, Sink: sink, StagingDir: staging}
	}
	hdr := "From: x@evil.test\r\nTo: bob@pharmacy.test\r\nSubject: x\r\n"

	// Many notes: each is capped at 1 MiB, but 60 of them in one
	// compressed message (about 60 KB) would be held, concatenated, in
	// memory and shown.
	t.Run("many 1 MiB notes", func(t *testing.T) {
		line := strings.Repeat("A", 1<<20)
		ct := encryptCompressed(t, ks, func(w io.Writer) {
			io.WriteString(w, "Content-Type: multipart/mixed; boundary=\"n\"\r\n\r\n")
			for range 60 {
				io.WriteString(w, "--n\r\nContent-Type: text/plain\r\n\r\n"+line+"\r\n")
			}
			io.WriteString(w, "--n--\r\n")
		})
		msg := wrapEncrypted(hdr, ct)
		start := time.Now()
		rep := verify(t, msg, opts(t.TempDir(), nil))
		if len(rep.Note) > 1<<20 {
			t.Errorf("a %d-byte message gave a %d-byte note (%s)", len(msg), len(rep.Note), time.Since(start))
		}
		if !strings.Contains(strings.Join(rep.Omitted, " "), "note") {
			t.Errorf("omitted %q", rep.Omitted)
		}
	})

	t.Run("many tiny parts", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(hdr + "Content-Type: multipart/mixed; boundary=\"t\"\r\n\r\n")
		for range 200000 {
			b.WriteString("--t\r\n\r\n")
		}
		b.WriteString("--t--\r\n")
		start := time.Now()
		rep := verify(t, []byte(b.String()), opts(t.TempDir(), nil))
		if d := time.Since(start); d > 10*time.Second || !strings.Contains(rep.Reason, "1000 parts") {
			t.Errorf("%s (%s) after %s", rep.Verdict, rep.Reason, d)
		}
	})

	t.Run("many documents staged and cleaned", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(hdr + "Content-Type: multipart/mixed; boundary=\"t\"\r\n\r\n")
		for i := range 990 {
			fmt.Fprintf(&b, "--t\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"d%d.pdf\"\r\n\r\n%%PDF\r\n", i)
		}
		b.WriteString("--t--\r\n")
		staging := t.TempDir()
		rec := &recordingSink{}
		rep := verify(t, []byte(b.String()), opts(staging, rec.sink))
		if rep.Verdict != receive.NotSigned || rec.calls != 990 || len(rep.Documents) != 990 {
			t.Errorf("%s, %d sink calls, %d documents", rep.Verdict, rec.calls, len(rep.Documents))
		}
		if left, _ := os.ReadDir(staging); len(left) != 0 {
			t.Errorf("staging not cleaned: %d entries", len(left))
		}
	})

	t.Run("deep nesting inside a signed part", func(t *testing.T) {
		var in strings.Builder
		for d := range 5000 {
			fmt.Fprintf(&in, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", d, d)
		}
		in.WriteString("Content-Type: text/plain\r\n\r\ndeep\r\n")
		rep := verify(t, signedMIME(t, outerAlice, in.String(), ks["alice"].Entity(), nil), opts(t.TempDir(), nil))
		if rep.Verdict != receive.BadSignature || !strings.Contains(rep.Reason, "nested too deeply") {
			t.Errorf("%s (%s)", rep.Verdict, rep.Reason)
		}
	})

	t.Run("base64 with garbage", func(t *testing.T) {
		for name, body := range map[string]string{
			"invalid characters":    "JVBERi0x!!!!" + strings.Repeat("QUFB", 1000),
			"only white space":      strings.Repeat(" \t \r\n", 1<<20),
			"padding in the middle": "QQ==" + strings.Repeat("QUFB", 100),
			"one endless line":      strings.Repeat("QUFB", 1<<20),
		} {
			msg := signedMIME(t, outerAlice, "Content-Type: multipart/mixed; boundary=\"in\"\r\n\r\n--in\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"rx.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"+body+"\r\n--in--\r\n", ks["alice"].Entity(), nil)
			staging := t.TempDir()
			rec := &recordingSink{}
			rep := verify(t, msg, opts(staging, rec.sink))
			if left, _ := os.ReadDir(staging); len(left) != 0 {
				t.Errorf("%s: staging not cleaned", name)
			}
			if rep.Verdict == receive.Verified && name != "only white space" && name != "one endless line" {
				t.Errorf("%s: Verified", name)
			}
			for _, d := range rep.Documents {
				if d.Size > 3<<20 {
					t.Errorf("%s: document of %d bytes", name, d.Size)
				}
			}
		}
	})
}

// TestAttackSanitizeName: whatever the name, the result has no path, is
// not ".", "..", a Windows device name or longer than 200 bytes, and has
// no control, bidi or line-separator character.
func TestAttackSanitizeName(t *testing.T) {
	long := strings.Repeat(" ", 300)
	names := []string{
		"", ".", "..", "...", "../..", "..\\..\\x", "/etc/passwd", "C:\\Windows\\x.pdf", "C:x.pdf",
		"x.pdf\x00.exe", "\u202etxt.exe", "a\u2028b.pdf", "a\u2029b.pdf", "\ufeffx.pdf",
		"NUL" + long + "x", "NUL" + long + "x.pdf", "CON" + long + ".x" + long + "y.pdf",
		"COM1" + strings.Repeat(".", 250) + "x", "nul" + strings.Repeat(" .", 150) + "x.tar.gz",
		"x" + long + ".pdf", strings.Repeat("é", 150) + ".pdf", strings.Repeat("a", 199) + "é.pdf",
		"CON\t.pdf", "con\u0085.pdf", "AUX\u200b.pdf",
	}
	for _, in := range names {
		got := receive.SanitizeName(in)
		base, _, _ := strings.Cut(got, ".")
		base = strings.ToUpper(strings.TrimRight(base, " ."))
		switch {
		case got == "" || got == "." || got == ".." || strings.ContainsAny(got, "/\\:\x00"):
			t.Errorf("SanitizeName(%q) = %q: a path", in, got)
		case len(got) > 200:
			t.Errorf("SanitizeName(%q): %d bytes", in, len(got))
		case base == "CON" || base == "NUL" || base == "AUX" || base == "PRN" || base == "COM1":
			t.Errorf("SanitizeName(%q) = %q: a device name", in, got)
		case strings.HasSuffix(got, ".") || strings.HasSuffix(got, " "):
			t.Errorf("SanitizeName(%q) = %q: trailing dot or space", in, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
				t.Errorf("SanitizeName(%q) = %q: character %U", in, got, r)
			}
		}
	}
}

// TestAttackDirSink: DirSink must never write outside its directory or
// over an existing file, whatever is planted there or races with it.
func TestAttackDirSink(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Planted: a link to a file outside, a dangling link, a hard link, a
	// directory, a FIFO-like name taken by a directory.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(victim, filepath.Join(dir, "rx.pdf")))
	must(os.Symlink(filepath.Join(outside, "new"), filepath.Join(dir, "rx (2).pdf")))
	must(os.Link(victim, filepath.Join(dir, "rx (3).pdf")))
	must(os.Mkdir(filepath.Join(dir, "rx (4).pdf"), 0o700))
	must(os.Symlink(outside, filepath.Join(dir, "sub")))

	sink := receive.DirSink(dir)
	for _, name := range []string{"rx.pdf", "sub/rx.pdf", "../rx.pdf", "..", "sub"} {
		path, err := sink(name, "application/pdf", strings.NewReader("forged"))
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if filepath.Dir(path) != dir {
			t.Errorf("%q written to %s", name, path)
		}
		if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%q: %s is not a regular file (%v)", name, path, err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("victim overwritten: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(outside, "new")); err == nil {
		t.Error("a file was created outside through a dangling link")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 1 {
		t.Errorf("outside dir: %v", entries)
	}

	// Racing writers of the same name: every one gets its own file with
	// its own content, none overwritten, no temporary file left.
	race := t.TempDir()
	sink = receive.DirSink(race)
	var wg sync.WaitGroup
	paths := make([]string, 16)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := sink("same.pdf", "application/pdf", strings.NewReader(fmt.Sprintf("content %d", i)))
			if err != nil {
				t.Error(err)
			}
			paths[i] = p
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, p := range paths {
		if seen[p] {
			t.Errorf("two writers got %s", p)
		}
		seen[p] = true
		if b, _ := os.ReadFile(p); string(b) != fmt.Sprintf("content %d", i) {
			t.Errorf("%s holds %q, want content %d", p, b, i)
		}
	}
	if entries, _ := os.ReadDir(race); len(entries) != len(paths) {
		t.Errorf("%d files for %d writers", len(entries), len(paths))
	}
}
