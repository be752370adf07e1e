package profile

import "testing"

func TestSummary(t *testing.T) {
	got := Effective(orgProfile(t), UserSettings{MaxAttachmentMB: 5}).Summary()
	want := []SummaryLine{
		{"Minimum TLS version", "1.2", LockMinTLS, true},
		{"Encryption", "required for mainst-pharmacy.example.nz, harbour-pharmacy.example.nz", LockEncryption, true},
		{"REQUIRETLS required", "no", LockRequireTLS, false},
		{"Allowed recipient domains", "mainst-pharmacy.example.nz, harbour-pharmacy.example.nz, other.example.org", LockAllowedDomains, false},
		{"Largest document", "5 MB", LockMaxAttachment, false},
		{"Own recipients allowed", "no", "", false},
		{"Own keys allowed", "no", "", false},
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines", len(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if s := Effective(nil).Summary(); s[1].Value != "when every recipient has a key" || s[3].Value != "any" || s[4].Value != "no limit" || s[0].Locked {
		t.Errorf("no profile: %+v", s)
	}
}
