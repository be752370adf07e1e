// Package winetemp gives tests a temporary directory that they can also
// clean up when they run as Windows binaries under Wine (e2e/windows).
package winetemp

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Dir is t.TempDir without os.RemoveAll, which Wine 8 cannot do (Go 1.26
// deletes with FileDispositionInformationEx, which Wine lacks): it
// removes the directory's contents one by one, children first. pattern
// is os.MkdirTemp's; give it a space and non-ASCII letters, as a Windows
// user's home may have.
func Dir(t testing.TB, pattern string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var paths []string
		filepath.WalkDir(dir, func(p string, _ fs.DirEntry, _ error) error {
			paths = append(paths, p)
			return nil
		})
		slices.Reverse(paths) // children before their directory
		for _, p := range paths {
			if err := os.Remove(p); err != nil {
				t.Errorf("clean up: %v", err)
			}
		}
	})
	return dir
}
