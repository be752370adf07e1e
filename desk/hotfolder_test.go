package desk

import (
	"errors"
	"testing"

	"github.com/securesend/securesend/send/hotfolder"
)

func TestHotFolderMaxSize(t *testing.T) {
	for _, tt := range []struct {
		policy, flagMB, want int64
		wantErr              bool
	}{
		{0, 0, hotfolder.DefaultMaxSize, false},
		{20 << 20, 0, 20 << 20, false},
		{0, 7, 7 << 20, false},
		{20 << 20, 7, 7 << 20, false},
		{20 << 20, 20, 20 << 20, false},
		{20 << 20, 21, 0, true},
	} {
		got, err := hotFolderMaxSize(tt.policy, tt.flagMB)
		var over *OverPolicyLimitError
		if got != tt.want || errors.As(err, &over) != tt.wantErr || (err != nil && !tt.wantErr) {
			t.Errorf("hotFolderMaxSize(%d, %d) = %d, %v; want %d, error %v", tt.policy, tt.flagMB, got, err, tt.want, tt.wantErr)
		}
		if over != nil && (over.GivenMB != tt.flagMB || over.PolicyMB != tt.policy>>20) {
			t.Errorf("hotFolderMaxSize(%d, %d): %+v", tt.policy, tt.flagMB, over)
		}
	}
}

// TestDocumentType: any case and surrounding spaces name a type; Other
// leaves the manifest's default; anything else is refused.
func TestDocumentType(t *testing.T) {
	tests := []struct {
		name, subject, manifest string
		ok                      bool
	}{
		{"Prescription", "Prescription", "prescription", true},
		{" referral ", "Referral", "referral", true},
		{"RESULTS", "Results", "results", true},
		{"other", "Other", "", true},
		{"", "", "", false},
		{"Prescriptions", "", "", false},
		{"Pre\u200bscription", "", "", false},
	}
	for _, tt := range tests {
		subject, manifest, ok := DocumentType(tt.name)
		if subject != tt.subject || manifest != tt.manifest || ok != tt.ok {
			t.Errorf("DocumentType(%q) = %q, %q, %v; want %q, %q, %v", tt.name, subject, manifest, ok, tt.subject, tt.manifest, tt.ok)
		}
	}
}
