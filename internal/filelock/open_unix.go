//go:build unix

package filelock

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openLockFile opens (creating, mode 0600) the lock file at path without
// following a symbolic link, and checks that it is a regular file owned
// by this process's user.
func openLockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o600)
	if errors.Is(err, unix.ELOOP) {
		return nil, fmt.Errorf("%w (a symbolic link)", ErrUnsafeLockFile)
	}
	if errors.Is(err, unix.EISDIR) {
		return nil, fmt.Errorf("%w (a directory)", ErrUnsafeLockFile)
	}
	if err != nil {
		return nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w (%s)", ErrUnsafeLockFile, info.Mode().Type())
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		f.Close()
		return nil, fmt.Errorf("%w (its owner cannot be read)", ErrUnsafeLockFile)
	}
	if int(st.Uid) != os.Geteuid() {
		f.Close()
		return nil, fmt.Errorf("%w (owner uid %d)", ErrUnsafeLockFile, st.Uid)
	}
	return f, nil
}
