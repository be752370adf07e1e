package filelock

import (
	"errors"
	"os"
)

// ErrUnsafeLockFile means the lock file is a symbolic link, not a regular
// file, or (on Unix) owned by another user: someone who can write to its
// folder planted it, to make securesend create or lock a file elsewhere or
// to hold the lock themselves.
var ErrUnsafeLockFile = errors.New("the lock file is a link, not a regular file, or belongs to another user")

// OpenFile opens (creating, mode 0600) the lock file at path for Lock or
// TryLock. It does not follow a symbolic link, and refuses anything but a
// regular file owned by this process's user (on Unix) with
// ErrUnsafeLockFile.
func OpenFile(path string) (*os.File, error) { return openLockFile(path) }
