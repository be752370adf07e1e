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
	"sync"
)

// Lock takes an exclusive lock on f, waiting for other holders.
func Lock(f *os.File) error { return lock(f) }

// TryLock is Lock without waiting; it reports whether it got the lock.
func TryLock(f *os.File) (bool, error) { return tryLock(f) }

// Unlock releases a lock taken with Lock or TryLock.
func Unlock(f *os.File) error { return unlock(f) }

// Path opens the lock file at path (see OpenFile: created with mode 0600,
// never through a symbolic link, owned by this user) and locks it,
// waiting for other holders. The returned function releases the lock and
// closes the file.
func Path(path string) (release func(), err error) {
	f, err := openLockFile(path)
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

// Mutex is a lock for one process and for all others at once: a
// sync.Mutex in front of the lock file at Path. The zero value with Path
// set is ready to use; a Mutex must not be copied after first use.
type Mutex struct {
	// Path is the lock file, created (mode 0600) when first locked.
	Path string
	mu   sync.Mutex
}

// Lock waits for the mutex and the lock file, and returns the function
// that releases both.
func (m *Mutex) Lock() (unlock func(), err error) {
	m.mu.Lock()
	release, err := Path(m.Path)
	if err != nil {
		m.mu.Unlock()
		return nil, err
	}
	return func() {
		release()
		m.mu.Unlock()
	}, nil
}
