//go:build unix

package outbox_test

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/send/outbox"
)

// TestOpenMakesFolderPrivate: the outbox folder holds patient data, so it
// is 0700 after Open whatever it was before (issue 13 point 8); a path
// that is not a folder is refused.
func TestOpenMakesFolderPrivate(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	for _, tt := range []struct {
		name   string
		before os.FileMode // 0: does not exist yet
	}{
		{"new", 0},
		{"0755", 0o755},
		{"0777", 0o777},
		{"0750", 0o750},
		{"0700", 0o700},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "outbox")
			if tt.before != 0 {
				if err := os.Mkdir(dir, tt.before); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, tt.before); err != nil { // whatever the umask
					t.Fatal(err)
				}
			}
			if _, err := outbox.Open(dir, key, outbox.Options{}); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(dir)
			if err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("mode after Open: %v, %v", fi.Mode().Perm(), err)
			}
		})
	}
	file := filepath.Join(t.TempDir(), "outbox")
	os.WriteFile(file, nil, 0o600)
	if _, err := outbox.Open(file, key, outbox.Options{}); err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("Open of a file: %v", err)
	}
}
