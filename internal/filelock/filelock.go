// Package filelock takes advisory, exclusive, whole-process-safe locks on
// files, so that two securesend processes (the GUI and a CLI command, or
// two CLI commands) never run the same read-modify-write of a store at
// once. It is flock(2) on Unix and LockFileEx on Windows; both locks
// belong to the open file, so two opens in one process also exclude each
// other, and the operating system drops them when the process dies.
package filelock

import (
	"fmt"
	"os"
)

// Lock takes an exclusive lock on f, waiting for other holders.
func Lock(f *os.File) error { return lock(f) }

// TryLock is Lock without waiting; it reports whether it got the lock.
func TryLock(f *os.File) (bool, error) { return tryLock(f) }

// Unlock releases a lock taken with Lock or TryLock.
func Unlock(f *os.File) error { return unlock(f) }

// Path opens (creating, mode 0600) the lock file at path and locks it,
// waiting for other holders. The returned function releases the lock and
// closes the file.
func Path(path string) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := lock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = unlock(f)
		f.Close()
	}, nil
}
