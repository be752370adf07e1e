package demomail

import (
	"bytes"
	"context"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

func TestSendProtectedThenVerified(t *testing.T) {
	s := start(t)
	doc := filepath.Join(t.TempDir(), "prescription.pdf")
	if err := os.WriteFile(doc, []byte("%PDF-1.4\n% not checked here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &send.Message{
		From:      mail.Address{Name: "Dr Demo", Address: Clinician},
		To:        []mail.Address{{Address: Pharmacy}},
		Subject:   "Prescription for ZZZ0016",
		Note:      "Please dispense.",
		Documents: []send.Document{{Path: doc}},
	}
	var progressed int64
	res, err := s.Send(context.Background(), m, func(n int64) { progressed = n })
	if err != nil {
		t.Fatal(err)
	}
	if res.QueueID == "" && !strings.Contains(res.Reply.Text, "queued as") {
		t.Errorf("no queue id in %+v", res.Reply)
	}
	if res.TLS.Version == "" || !res.RequireTLS || res.MessageID == "" || len(res.Documents) != 1 {
		t.Errorf("result: %+v", res)
	}
	if !res.Encrypted || !res.Signed || res.SignerFingerprint == "" {
		t.Errorf("protection not recorded: encrypted %v, signed %v, signer %q", res.Encrypted, res.Signed, res.SignerFingerprint)
	}
	if progressed == 0 {
		t.Error("progress never reported")
	}

	got, err := s.Fetch(context.Background(), Pharmacy)
	if err != nil || len(got) != 1 {
		t.Fatalf("fetch: %d, %v", len(got), err)
	}
	if bytes.Contains(got[0].Raw, []byte("ZZZ0016")) {
		t.Error("the NHI in the subject travelled in the clear")
	}
	rep, err := s.Verify(context.Background(), Pharmacy, bytes.NewReader(got[0].Raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != receive.Verified || !rep.Encrypted || rep.Subject != m.Subject || len(rep.Documents) != 1 {
		t.Errorf("report: %+v", rep)
	}

	// Altered in transit: no longer verified.
	tampered := bytes.Clone(got[0].Raw)
	i := bytes.Index(tampered, []byte("-----BEGIN PGP MESSAGE-----"))
	if i < 0 {
		t.Fatal("no armored message")
	}
	j := i + 200 // inside the base64 body
	if tampered[j] == 'A' {
		tampered[j] = 'B'
	} else {
		tampered[j] = 'A'
	}
	rep, err = s.Verify(context.Background(), Pharmacy, bytes.NewReader(tampered), nil)
	if err == nil && rep.Verdict == receive.Verified {
		t.Error("tampered message verified")
	}
}

func TestSendRefusesNonDemoSender(t *testing.T) {
	s := start(t)
	_, err := s.Send(context.Background(), &send.Message{From: mail.Address{Address: "x@example.com"}, To: []mail.Address{{Address: Pharmacy}}}, nil)
	if err == nil {
		t.Error("sent as a non-demo sender")
	}
}
