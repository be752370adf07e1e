//go:build windows

package filelock

import (
	"fmt"
	"os"
)

// openLockFile opens (creating) the lock file at path and checks that it
// is a regular file. Creating a symbolic link on Windows takes a
// privilege ordinary users lack, and the file's folder (in the user's
// profile) is not writable by others.
func openLockFile(path string) (*os.File, error) {
	if info, err := os.Lstat(path); err == nil && !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w (%s)", ErrUnsafeLockFile, info.Mode().Type())
	}
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
