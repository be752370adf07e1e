package desk

import (
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
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("hotFolderMaxSize(%d, %d) = %d, %v; want %d, error %v", tt.policy, tt.flagMB, got, err, tt.want, tt.wantErr)
		}
	}
}
