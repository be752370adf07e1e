package profile

import (
	"errors"
	"testing"
	"time"
)

// The acknowledgement policy: auto and 4 hours unless the profile says
// otherwise; the profile's values are read.
func TestAcknowledgementPolicy(t *testing.T) {
	if p := Effective(nil); p.Acknowledgements() != AckAuto || p.AcknowledgementWait() != 4*time.Hour {
		t.Errorf("no profile: %s %s", p.Acknowledgements(), p.AcknowledgementWait())
	}
	p := mustParse(t, "testdata/good_minimal.toml")
	if p.Policy.Acknowledgements != AckAuto || p.Policy.AcknowledgementWait != DefaultAcknowledgementWait {
		t.Errorf("defaults: %+v", p.Policy)
	}
	for _, tt := range []struct {
		mode AckMode
		wait string
		want time.Duration
	}{{AckOff, "30m", 30 * time.Minute}, {AckManual, "2h30m", 150 * time.Minute}, {AckAuto, "168h", 168 * time.Hour}} {
		data := "format = 1\nserial = 1\n[organisation]\nname = \"X\"\n[policy]\nmin_tls = \"1.3\"\nencryption = \"always\"\n" +
			"acknowledgements = \"" + string(tt.mode) + "\"\nacknowledgement_wait = \"" + tt.wait + "\"\n"
		pr, err := Parse([]byte(data))
		if err != nil {
			t.Fatal(err)
		}
		pol := Effective(pr)
		if pol.Acknowledgements() != tt.mode || pol.AcknowledgementWait() != tt.want {
			t.Errorf("%s %s: got %s %s", tt.mode, tt.wait, pol.Acknowledgements(), pol.AcknowledgementWait())
		}
	}
}

// A user may shorten the acknowledgement wait in security.toml, never
// lengthen it; a value that is no duration is an error with its line.
func TestAcknowledgementWaitUserSetting(t *testing.T) {
	u, err := ParseUserSettings([]byte("min_tls = \"1.3\"\nacknowledgement_wait = \"90m\"\n"))
	if err != nil || u.AcknowledgementWait != 90*time.Minute {
		t.Fatalf("%+v %v", u, err)
	}
	if p := Effective(nil, u); p.AcknowledgementWait() != 90*time.Minute {
		t.Errorf("shortened: %s", p.AcknowledgementWait())
	}
	p := Effective(nil, UserSettings{AcknowledgementWait: 8 * time.Hour})
	if p.AcknowledgementWait() != 4*time.Hour || len(p.Notes()) != 1 {
		t.Errorf("lengthened: %s, notes %v", p.AcknowledgementWait(), p.Notes())
	}
	_, err = ParseUserSettings([]byte("\nacknowledgement_wait = \"soon\"\n"))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "acknowledgement_wait" || fe.Line != 2 {
		t.Errorf("bad duration: %v", err)
	}
}
