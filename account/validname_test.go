package account

import "testing"

// TestValidName: ValidName is Validate's rule for names, so a form can
// say which field is wrong before Validate refuses the account.
func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"practice": true, "Ward-3.main_1": true, "a": true,
		"": false, "-x": false, ".x": false, "has space": false, "ä": false, "x/y": false,
		"a234567890123456789012345678901234567890123456789012345678901234":  true,
		"a2345678901234567890123456789012345678901234567890123456789012345": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v", name, got)
		}
		a := Account{Name: name, Email: "a@b.test", Auth: AuthPassword, SMTP: Server{Address: "mail.b.test:465", Security: ImplicitTLS}}
		if err := a.Validate(); (err == nil) != want {
			t.Errorf("Validate with name %q: %v, but ValidName says %v", name, err, want)
		}
	}
}
