package desk

import (
	"bytes"
	"context"
	"errors"
	"net/mail"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// policyDesk is Bob's Desk (as bobsIMAPDesk) in a binary whose signed
// organisation profile sets policy.acknowledgements to mode.
func policyDesk(t *testing.T, mode string) (*Desk, *accounttest.IMAPServer) {
	t.Helper()
	requireKeychain(t)
	data := []byte("format = 1\nserial = 1\n[organisation]\nname = \"Test Pharmacy\"\n[policy]\nmin_tls = \"1.2\"\nencryption = \"auto\"\n" +
		"users_may_add_recipients = true\nusers_may_add_keys = true\nacknowledgements = \"" + mode + "\"\n")
	d := signedProfileDesk(t, "Pharmacy IT", "it@pharmacy.test", data)
	bobsKeys(t, d)
	return d, addIMAPAccount(t, d, "pharmacy", "bob@pharmacy.test", "imap-pass-for-ack-policy")
}

// alicesPrescription is a message from Alice to Bob as securesend sends
// it: signed, encrypted, asking for an acknowledgement in its protected
// header.
func alicesPrescription(t *testing.T, id string) []byte {
	t.Helper()
	alice, bob := testKey(t, "alice"), testKey(t, "bob")
	doc := filepath.Join(t.TempDir(), "script.pdf")
	if err := os.WriteFile(doc, []byte("%PDF-1.4\n% TEST ONLY prescription\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &send.Message{From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
		Subject: "Prescription (TEST ONLY)", Documents: []send.Document{{Path: doc}}, MessageID: id, Date: time.Now()}
	var b bytes.Buffer
	if _, err := send.ComposeProtected(&b, m, send.Protection{Signer: alice, Encrypt: true, Recipients: []*pgp.PublicKey{bob.Public()}}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The organisation's acknowledgement mode: auto queues a "received"
// acknowledgement at fetch for a Verified message that asks; manual
// queues none but lets the pharmacist accept; off queues none and
// refuses every acknowledgement.
func TestAckPolicyModes(t *testing.T) {
	tests := []struct {
		mode       string
		auto       int
		acceptErr  error
		acceptJobs int
	}{
		{"auto", 1, nil, 2},
		{"manual", 0, nil, 1},
		{"off", 0, ErrAckOff, 0},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			d, srv := policyDesk(t, tt.mode)
			srv.Deliver(t, alicesPrescription(t, "rx-"+tt.mode+"@clinic.test"))
			res, err := d.Fetch(context.Background(), FetchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.New) != 1 || res.New[0].Verdict != receive.Verified {
				t.Fatalf("fetch: %+v", res.New)
			}
			if len(res.Acknowledgements) != tt.auto {
				t.Errorf("%d automatic acknowledgements, want %d", len(res.Acknowledgements), tt.auto)
			}
			err = d.Acknowledge(context.Background(), res.New[0].ID, ack.Accepted, "")
			if !errors.Is(err, tt.acceptErr) || (tt.acceptErr == nil && err != nil) {
				t.Errorf("accept: %v, want %v", err, tt.acceptErr)
			}
			ob, err := d.Outbox(OutboxOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if recs, _ := ob.List(); len(recs) != tt.acceptJobs {
				t.Errorf("%d outbox jobs, want %d", len(recs), tt.acceptJobs)
			}
		})
	}
}
