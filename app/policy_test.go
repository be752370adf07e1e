package app

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/widget"
)

// TestNoKeyHintFollowsDeskPolicy: the Send tab's "No key: cannot send"
// comes from the policy the desk's outbox sends under (the demo's
// encrypts every message), not from a flag only tests set; without the
// desk's answer a recipient without a key is not marked.
func TestNoKeyHintFollowsDeskPolicy(t *testing.T) {
	old := Recipient{Name: "Old Pharmacy", Address: "old@pharmacy.test", KeyState: "none"}
	u := newDemoUI(t, func(c *Config) {
		if c.EncryptionRequired == nil {
			t.Fatal("OpenDesk gave the app no policy query")
		}
		c.Recipients = append(c.Recipients, old)
	})
	s := u.send
	s.to.SetText(old.Address)
	if k := s.keyState; !strings.HasPrefix(k.Text, "No key: cannot send") || k.Importance != widget.DangerImportance {
		t.Errorf("under the demo's policy: key line %q (%v)", k.Text, k.Importance)
	}
	if _, err := s.recipient(); err == nil || !strings.Contains(err.Error(), "has no key, and your organisation requires") {
		t.Errorf("recipient: %v", err)
	}

	u = newDemoUI(t, func(c *Config) {
		c.EncryptionRequired = func(addr string) bool { return addr != old.Address }
		c.Recipients = append(c.Recipients, old)
	})
	u.send.to.SetText(old.Address)
	if k := u.send.keyState; strings.HasPrefix(k.Text, "No key: cannot send") {
		t.Errorf("policy without encryption for %s: key line %q", old.Address, k.Text)
	}
}
