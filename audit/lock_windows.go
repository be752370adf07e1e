//go:build windows

package audit

import (
	"os"

	"golang.org/x/sys/windows"
)

// lockFile takes an exclusive lock on f, waiting for other processes.
func lockFile(f *os.File) error {
	ol := lockRange()
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, ol)
}

// unlockFile releases the lock taken by lockFile.
func unlockFile(f *os.File) error {
	ol := lockRange()
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol)
}

// lockRange is the byte range the lock covers: one byte far beyond any
// real file size, so the lock never blocks reading the file itself.
func lockRange() *windows.Overlapped { return &windows.Overlapped{OffsetHigh: 0x7fffffff} }
