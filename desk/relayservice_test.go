package desk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/relay"
	"github.com/securesend/securesend/send/outbox"
)

// relayTestPW is the test device's password (TEST ONLY).
const relayTestPW = "front-desk-mfd-TEST-ONLY-9d4k"

// testLog is the relay's log in the test's (the relay is stopped before
// the test ends).
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("relay log: %s", bytes.TrimSuffix(p, []byte("\n")))
	return len(p), nil
}

// loopback is the network of a relay listening on loopback.
func loopback(t *testing.T) relay.Network {
	t.Helper()
	n, err := relay.ParseNetwork("127.0.0.1:0", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// runningRelay is a Desk.Relay running until the test ends.
type runningRelay struct {
	started RelayStarted
	stop    func() error
}

// startRelayService runs d.Relay with cfg (loopback, the clinic's
// account) and waits until it listens.
func startRelayService(t *testing.T, d *Desk, edit func(*RelayConfig)) *runningRelay {
	t.Helper()
	r := &runningRelay{}
	got := make(chan RelayStarted, 1)
	cfg := RelayConfig{Account: "clinic", Listen: "127.0.0.1:0", Network: loopback(t), DocType: "Other", Hostname: "relay.test",
		Poll: 50 * time.Millisecond, Log: testLog{t}, Started: func(s RelayStarted) { got <- s }}
	if edit != nil {
		edit(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Relay(ctx, cfg) }()
	var once sync.Once
	var stopErr error
	r.stop = func() error {
		once.Do(func() { cancel(); stopErr = <-done })
		return stopErr
	}
	t.Cleanup(func() { r.stop() })
	select {
	case r.started = <-got:
	case err := <-done:
		done <- err
		t.Fatalf("the relay stopped before it listened: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the relay did not start")
	}
	return r
}

// scanTo sends a one-page scan to to as a device would: STARTTLS with the
// relay's certificate pinned by its fingerprint, AUTH PLAIN, one PDF.
func (r *runningRelay) scanTo(t *testing.T, to string) error {
	t.Helper()
	c, err := smtp.DialStartTLS(r.started.Addr.String(), &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		if !strings.EqualFold(strings.ReplaceAll(r.started.Fingerprint, ":", ""), hex.EncodeToString(sum[:])) {
			return errors.New("the certificate is not the one whose fingerprint the relay printed")
		}
		return nil
	}})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "frontdesk", relayTestPW)); err != nil {
		return err
	}
	pdf, err := os.ReadFile(filepath.Join("..", "relay", "testdata", "good_scan.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	msg := fmt.Sprintf("From: mfd@clinic.test\r\nTo: %s\r\nSubject: Referral\r\nMIME-Version: 1.0\r\n"+
		"Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nscan\r\n"+
		"--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=scan.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n%s\r\n--b1--\r\n",
		to, wrap76(base64.StdEncoding.EncodeToString(pdf)))
	if err := c.Mail("mfd@clinic.test", nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, msg); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// TestRelayServiceRefusesToStart: a relay that could not send, or that
// no device could reach, stops before it listens, saying why; so does a
// second relay on the same home.
func TestRelayServiceRefusesToStart(t *testing.T) {
	c := newClinicHome(t)
	d := c.d
	run := func(cfg RelayConfig) error {
		cfg.Listen, cfg.Network, cfg.DocType = "127.0.0.1:0", loopback(t), "Other"
		cfg.Started = func(RelayStarted) { t.Error("the relay listened") }
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return d.Relay(ctx, cfg)
	}
	if err := run(RelayConfig{Account: "clinic"}); !errors.Is(err, ErrNoRelayDevices) {
		t.Errorf("without devices: %v, want ErrNoRelayDevices", err)
	}
	if err := d.AddRelayDevice("frontdesk", relayTestPW); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  RelayConfig
		want string
	}{
		{"no such account", RelayConfig{Account: "nobody"}, "relay: "},
		{"alias to an unknown recipient", RelayConfig{Account: "clinic", Aliases: map[string]string{"lab": "lab@unknown.test"}}, "relay: --alias lab"},
		{"certificate without its key", RelayConfig{Account: "clinic", CertFile: filepath.Join(t.TempDir(), "cert.pem")}, "relay: "},
	} {
		if err := run(tc.cfg); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error starting %q", tc.name, err, tc.want)
		}
	}
	// A second relay on the same home: the first holds the lock.
	startRelayService(t, d, nil)
	if err := run(RelayConfig{Account: "clinic"}); err == nil {
		t.Error("a second relay started on the same home")
	}
}

// TestRelayServiceNeedsSigningKey: a relay whose account's address has no
// key of the user's stops before it listens.
func TestRelayServiceNeedsSigningKey(t *testing.T) {
	c := newClinicHome(t)
	a, err := c.d.Accounts().Get("clinic")
	if err != nil {
		t.Fatal(err)
	}
	a.Name, a.Email = "other", "carol@clinic.test"
	if err := c.d.Accounts().Add(*a, account.Credentials{Password: "smtp-pass"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.d.Accounts().Remove("other") })
	if err := c.d.AddRelayDevice("frontdesk", relayTestPW); err != nil {
		t.Fatal(err)
	}
	err = c.d.Relay(t.Context(), RelayConfig{Account: "other", Listen: "127.0.0.1:0", Network: loopback(t), DocType: "Other",
		Started: func(RelayStarted) { t.Error("the relay listened") }})
	if err == nil || !strings.Contains(err.Error(), "none of your keys is for carol@clinic.test") {
		t.Fatalf("%v", err)
	}
}

// TestRelayService: a device's scan is queued through the Send journey
// and delivered encrypted by the account's server before the relay is
// stopped; Started names the devices and account, and the certificate,
// generated on the first start, is the same (same fingerprint) on the
// next; a device removed can no longer sign in, at once.
func TestRelayService(t *testing.T) {
	c := newClinicHome(t)
	if err := c.d.AddRelayDevice("frontdesk", relayTestPW); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var states []outbox.State
	r := startRelayService(t, c.d, func(cfg *RelayConfig) {
		cfg.Notify = func(rec outbox.Record) { mu.Lock(); states = append(states, rec.State); mu.Unlock() }
	})
	s := r.started
	if !s.CertificateMade || s.Account.Email != "alice@clinic.test" || strings.Join(s.Devices, ",") != "frontdesk" || s.Fingerprint == "" {
		t.Errorf("started %+v", s)
	}
	if err := r.scanTo(t, "bob@pharmacy.test"); err != nil {
		t.Fatalf("scan: %v", err)
	}
	for deadline := time.Now().Add(30 * time.Second); len(c.smtp.Messages()) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if msgs := c.smtp.Messages(); len(msgs) != 1 || !bytes.Contains(msgs[0], []byte("application/pgp-encrypted")) {
		t.Fatalf("%d messages delivered (want 1, encrypted)", len(c.smtp.Messages()))
	}
	if err := r.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	mu.Lock()
	if len(states) == 0 || states[len(states)-1] != outbox.Sent {
		t.Errorf("job states %v, want ending Sent", states)
	}
	mu.Unlock()

	again := startRelayService(t, c.d, func(cfg *RelayConfig) { cfg.QueueOnly = true })
	if again.started.CertificateMade || again.started.Fingerprint != s.Fingerprint || !again.started.QueueOnly {
		t.Errorf("restarted: %+v, want the kept certificate %s", again.started, s.Fingerprint)
	}
	if err := c.d.RemoveRelayDevice("frontdesk"); err != nil {
		t.Fatal(err)
	}
	var se *smtp.SMTPError
	if err := again.scanTo(t, "bob@pharmacy.test"); !errors.As(err, &se) || se.Code != 535 {
		t.Errorf("a removed device: %v, want 535", err)
	}
	if list, err := c.d.RelayDeviceList(); err != nil || len(list) != 0 {
		t.Errorf("devices %v, %v", list, err)
	}
}

// wrap76 breaks s into lines of 76 characters (RFC 2045).
func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s)
	return b.String()
}

// TestRelayServiceNetworkFitsListen: Desk.Relay itself refuses a Network
// that does not fit its listen address, before it listens, whoever
// builds the config (the CLI parses both with relay.ParseNetwork; a GUI
// might not): an address reachable from the network with no allowed
// client networks, and a Network made for another listen address. Before,
// the first failed only in relay.New with a vague "no allowed client
// networks", and the second listened.
func TestRelayServiceNetworkFitsListen(t *testing.T) {
	c := newClinicHome(t)
	if err := c.d.AddRelayDevice("frontdesk", relayTestPW); err != nil {
		t.Fatal(err)
	}
	lan, err := relay.ParseNetwork("0.0.0.0:2525", []string{"192.0.2.0/24"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		listen string
		n      relay.Network
		words  string
	}{
		{"all addresses, no Network", "0.0.0.0:0", relay.Network{}, "0.0.0.0:0 is reachable from the network but no client networks are allowed"},
		{"IPv6 all addresses, no Network", "[::]:0", relay.Network{}, "reachable from the network"},
		{"loopback's Network on all addresses", "0.0.0.0:0", loopback(t), "not made for the listen address 0.0.0.0:0"},
		{"all addresses' Network on loopback", "127.0.0.1:0", lan, "not made for the listen address 127.0.0.1:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := c.d.Relay(ctx, RelayConfig{Account: "clinic", Listen: tc.listen, Network: tc.n, DocType: "Other", Log: testLog{t},
				Started: func(s RelayStarted) { t.Errorf("the relay listened on %s", s.Addr); cancel() }})
			if !errors.Is(err, relay.ErrNetworkMismatch) || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("%v, want ErrNetworkMismatch saying %q", err, tc.words)
			}
		})
	}
}
