package ack_test

import (
	"bytes"
	"io"
	"net/mail"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/send"
)

// gpg 2.2 (the real peer, as another mail program would use it) decrypts
// an acknowledgement as the original's sender, reports a good signature
// by the acknowledging pharmacist's key, and the decrypted payload is the
// RFC 8098 multipart/report that ack.Parse reads back unchanged, under
// the protected header fields (From, To, Subject, Message-Id) and with no
// request for an acknowledgement of its own.
func TestAckGPGInterop(t *testing.T) {
	g := pgptest.New(t)
	alice := pgptest.Key(t, "Alice Clinic TEST ONLY", "alice@clinic.test")
	bob := pgptest.Key(t, "Bob Pharmacy TEST ONLY", "bob@pharmacy.test")
	g.Import(pgptest.ArmoredSecret(t, alice))
	g.Import(pgptest.Armored(t, bob.Public()))

	rc := &ack.Receipt{OriginalMessageID: "rx-1@clinic.test", Kind: ack.Rejected, Reason: "Dose unclear — please phone (Ōtautahi)", Verdict: "verified",
		Documents:      []manifest.Document{{Name: "script.pdf", ContentType: "application/pdf", Size: 10, SHA256: strings.Repeat("ab", 32)}},
		FinalRecipient: "bob@pharmacy.test", Time: time.Now().UTC().Truncate(time.Second)}
	m := &send.Message{From: mail.Address{Address: "bob@pharmacy.test"}, To: []mail.Address{{Address: "alice@clinic.test"}},
		Subject: ack.Subject(rc.Kind), MessageID: "ack-1@pharmacy.test", Date: time.Now(), NoAcknowledgement: true}
	var b bytes.Buffer
	p := send.Protection{Signer: bob, Encrypt: true, Recipients: []*pgp.PublicKey{alice.Public()}}
	if err := send.ComposeProtectedEntity(&b, m, p, func(w io.Writer) error { return ack.Write(w, rc) }); err != nil {
		t.Fatal(err)
	}
	msg := b.String()
	if strings.Contains(msg, "Dose unclear") || strings.Contains(msg, "rx-1@clinic.test") {
		t.Fatal("the acknowledgement's content travels in the clear")
	}
	start, end := strings.Index(msg, "-----BEGIN PGP MESSAGE-----"), strings.Index(msg, "-----END PGP MESSAGE-----")
	if start < 0 || end < start {
		t.Fatalf("no OpenPGP message in\n%s", msg)
	}
	armored := msg[start : end+len("-----END PGP MESSAGE-----")]
	out, status, err := g.Try([]byte(armored), "--status-fd", "2", "--decrypt")
	if err != nil {
		t.Fatalf("gpg --decrypt: %v\n%s", err, status)
	}
	for _, want := range []string{"[GNUPG:] DECRYPTION_OKAY", "[GNUPG:] GOODSIG", "[GNUPG:] VALIDSIG " + string(bob.Public().Fingerprint())} {
		if !bytes.Contains(status, []byte(want)) {
			t.Errorf("gpg status lacks %q:\n%s", want, status)
		}
	}
	for _, want := range []string{"Content-Type: multipart/report", "report-type=disposition-notification", "From: <bob@pharmacy.test>", "Subject: " + ack.Subject(rc.Kind)} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("decrypted payload lacks %q:\n%s", want, out)
		}
	}
	if bytes.Contains(out, []byte("Disposition-Notification-To")) {
		t.Error("an acknowledgement asks for an acknowledgement")
	}
	got, err := ack.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("parse what gpg decrypted: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(got, rc) {
		t.Errorf("got %+v\nwant %+v", got, rc)
	}
}
