package desk

import (
	"os"
	"testing"

	"github.com/securesend/securesend/profile"
)

// TestOutboxEncryptionRequired: the outbox answers by the policy it sends
// under: the demo encrypts everything; a home by its settings (here the
// user's security.toml: encryption for one domain and its subdomains).
func TestOutboxEncryptionRequired(t *testing.T) {
	demo, err := OpenDemo(startDemo(t), t.TempDir(), DemoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	demoBox, err := demo.Outbox(OutboxOptions{Via: Via{Account: DemoAccount}})
	if err != nil {
		t.Fatal(err)
	}
	home := sendDesk(t)
	if err := os.WriteFile(home.Home().Path(profile.UserSettingsFile), []byte("encryption = \"domains\"\nencrypt_domains = [\"health.test\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	homeBox, err := home.Outbox(OutboxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The outbox's own tightening (Via.Tighten) counts, as it does for
	// Send: encryption always, so also for a domain the settings do not
	// list.
	tightBox, err := home.Outbox(OutboxOptions{Via: Via{Tighten: profile.UserSettings{Encryption: profile.EncryptAlways}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		box  *Outbox
		addr string
		want bool
	}{
		{"demo", demoBox, "anyone@example.org", true},
		{"home, listed domain", homeBox, "rx@health.test", true},
		{"home, subdomain", homeBox, "rx@pharmacy.health.test", true},
		{"home, other domain", homeBox, "rx@example.org", false},
		{"home, tightened by the outbox's Via", tightBox, "rx@example.org", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.box.EncryptionRequired(tt.addr)
			if err != nil || got != tt.want {
				t.Errorf("EncryptionRequired(%q) = %v, %v; want %v", tt.addr, got, err, tt.want)
			}
		})
	}
}
