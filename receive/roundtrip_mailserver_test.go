package receive_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/internal/mailserver"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// TestProtectedRoundTripPostfixDovecot sends a signed and encrypted
// message with a 3 MB document through a real Postfix (implicit TLS) with
// send.SendProtected, fetches it from Dovecot over IMAPS and verifies it:
// Verified, the real subject recovered from inside the encryption, the
// document byte-identical (same size and SHA-256 as sent).
func TestProtectedRoundTripPostfixDovecot(t *testing.T) {
	srv := mailserver.StartT(t, mailserver.Options{})
	from, to := srv.Users[0], srv.Users[1]
	sender := pgptest.Key(t, "Dr Sender Test", from)
	recipient := pgptest.Key(t, "Pharmacy Test", to)

	doc := filepath.Join(t.TempDir(), "scan.pdf")
	f, err := os.Create(doc)
	if err != nil {
		t.Fatal(err)
	}
	io.CopyN(f, rand.Reader, 3<<20)
	f.Close()
	m := &send.Message{
		From: mail.Address{Name: "Dr Sender", Address: from}, To: []mail.Address{{Address: to}},
		Subject: "Referral NHI ZZZ0016", Note: "TEST ONLY round trip", Documents: []send.Document{{Path: doc}},
	}
	keys := func(addr string) (*pgp.PublicKey, pgp.Entry, error) {
		if addr == to {
			return recipient.Public(), pgp.Entry{}, nil
		}
		return nil, pgp.Entry{}, pgp.ErrNotFound
	}
	prot, err := send.PlanProtection(m, send.EncryptAlways, sender, lookup(keys))
	if err != nil || !prot.Encrypt {
		t.Fatalf("PlanProtection: %+v, %v", prot, err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(srv.CAPEM)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := send.SendProtected(ctx, send.Options{
		Server: mailserver.Addr(srv.SMTPS), Security: send.ImplicitTLS, RootCAs: roots,
		Auth: send.PasswordAuth(from, srv.Password),
	}, m, prot)
	if err != nil {
		t.Fatalf("SendProtected: %v", err)
	}
	msgs, err := srv.WaitForMessages(ctx, to, 1)
	if err != nil {
		t.Fatal(err)
	}
	raw := msgs[0]
	if bytes.Contains(raw, []byte("ZZZ0016")) || bytes.Contains(raw, []byte("TEST ONLY round trip")) {
		t.Error("the real subject or note travelled in clear")
	}

	store, err := pgp.OpenStore(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Import(bytes.NewReader(pgptest.Armored(t, sender.Public())), pgp.ImportOptions{Pin: true}); err != nil {
		t.Fatal(err)
	}
	rep, err := receive.Verify(ctx, bytes.NewReader(raw), receive.VerifyOptions{Store: store, Secret: []*pgp.Key{recipient}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != receive.Verified || !rep.Encrypted || rep.Subject != m.Subject || !rep.SubjectSigned || rep.Note != m.Note {
		t.Errorf("report: %s (%s) encrypted=%v subject=%q note=%q", rep.Verdict, rep.Reason, rep.Encrypted, rep.Subject, rep.Note)
	}
	if len(rep.Documents) != 1 || len(res.Documents) != 1 ||
		rep.Documents[0].SHA256 != res.Documents[0].SHA256 || rep.Documents[0].Size != res.Documents[0].Size {
		t.Errorf("documents received %+v, sent %+v", rep.Documents, res.Documents)
	}
}

type lookup func(string) (*pgp.PublicKey, pgp.Entry, error)

func (l lookup) Lookup(a string) (*pgp.PublicKey, pgp.Entry, error) { return l(a) }
