package desk

import (
	"testing"

	"github.com/securesend/securesend/profile"
)

// TestAcknowledgementMode: the mode is the signed organisation profile's
// policy.acknowledgements, auto when the profile or the key is absent, and
// an error (no mode) when the profile cannot be trusted.
func TestAcknowledgementMode(t *testing.T) {
	requireKeychain(t)
	profileData := func(line string) []byte {
		return []byte("format = 1\nserial = 1\n[organisation]\nname = \"Test Pharmacy\"\n[policy]\nmin_tls = \"1.2\"\nencryption = \"auto\"\n" + line)
	}
	tests := []struct {
		name string
		line string
		want profile.AckMode
	}{
		{"auto", "acknowledgements = \"auto\"\n", profile.AckAuto},
		{"manual", "acknowledgements = \"manual\"\n", profile.AckManual},
		{"off", "acknowledgements = \"off\"\n", profile.AckOff},
		{"unset", "", profile.AckAuto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := signedProfileDesk(t, "Pharmacy IT", "it@pharmacy.test", profileData(tt.line))
			got, err := d.AcknowledgementMode()
			if err != nil || got != tt.want {
				t.Fatalf("AcknowledgementMode() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("no profile", func(t *testing.T) {
		d, _ := testDesk(t)
		if got, err := d.AcknowledgementMode(); err != nil || got != profile.AckAuto {
			t.Fatalf("AcknowledgementMode() = %q, %v; want auto", got, err)
		}
	})
	t.Run("tampered profile", func(t *testing.T) {
		d := signedProfileDesk(t, "Pharmacy IT", "it@pharmacy.test", profileData("acknowledgements = \"off\"\n"))
		baked := d.opts.Baked
		d.opts.Baked = func() (profile.Baked, error) {
			b, err := baked()
			b.Profile = profileData("acknowledgements = \"auto\"\n")
			return b, err
		}
		if got, err := d.AcknowledgementMode(); err == nil {
			t.Fatalf("a profile whose signature does not match gave mode %q", got)
		}
	})
}
