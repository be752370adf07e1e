package receive_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

// The request for an acknowledgement counts only when a good signature
// covers it: send writes Disposition-Notification-To in the protected
// header section (unless NoAcknowledgement), and Verify reports it only
// from there, never from the outer, unsigned header.
func TestDispositionNotificationToSignedOnly(t *testing.T) {
	ks := loadKeys(t)
	st := bobStore(t, ks)
	compose := func(m *send.Message, p send.Protection) []byte {
		var b bytes.Buffer
		if _, err := send.ComposeProtected(&b, m, p); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	signOnly := send.Protection{Signer: ks["alice"]}
	encrypted := send.Protection{Signer: ks["alice"], Encrypt: true, Recipients: []*pgp.PublicKey{ks["bob"].Public()}}
	m := manifestMessage(t)
	quiet := manifestMessage(t)
	quiet.NoAcknowledgement = true
	outerOnly := append([]byte("Disposition-Notification-To: <alice@clinic.test>\r\n"), compose(quiet, signOnly)...)
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"signed asks by default", compose(m, signOnly), "alice@clinic.test"},
		{"encrypted asks by default", compose(m, encrypted), "alice@clinic.test"},
		{"NoAcknowledgement", compose(quiet, encrypted), ""},
		{"outer unsigned field ignored", outerOnly, ""},
		{"unsigned message", func() []byte {
			var b bytes.Buffer
			if _, err := send.Compose(&b, m); err != nil {
				t.Fatal(err)
			}
			return append([]byte("Disposition-Notification-To: <alice@clinic.test>\r\n"), b.Bytes()...)
		}(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := receive.Verify(context.Background(), bytes.NewReader(tt.msg),
				receive.VerifyOptions{Store: st, Secret: []*pgp.Key{ks["bob"]}, Recipients: []string{"bob@pharmacy.test"}})
			if err != nil {
				t.Fatal(err)
			}
			if rep.DispositionNotificationTo != tt.want {
				t.Errorf("DispositionNotificationTo %q, want %q (verdict %s: %s)", rep.DispositionNotificationTo, tt.want, rep.Verdict, rep.Reason)
			}
		})
	}
}
