// Package privtemp keeps decrypted documents (opened, saved or combined
// from the inbox and the send form) in one private folder per process,
// and removes what a finished or crashed process left behind.
//
// Each process makes its own folder, mode 0700, named Prefix plus a
// random suffix, in the system temp folder, and holds a lock on a file
// inside it for as long as it runs. Sweep, called when a process starts,
// removes every such folder of the user whose lock is free (its process
// has ended) and that has not changed for MaxAge: a document handed to a
// system viewer by a command that has already exited stays readable for
// that long, and no longer.
package privtemp

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/securesend/securesend/internal/filelock"
)

// Prefix starts the name of every process folder.
const Prefix = "securesend-docs-"

// MaxAge is how long a folder whose process has ended is kept (for a
// viewer still reading a document) before Sweep removes it.
const MaxAge = time.Hour

// lockName is the lock file held by the folder's process.
const lockName = ".lock"

// Dir is one process's private folder for decrypted documents. Its
// methods are safe for concurrent use.
type Dir struct {
	path string

	mu   sync.Mutex
	lock *os.File // nil once closed
}

// New removes the leftovers of earlier processes in parent (Sweep with
// MaxAge) and makes this process's folder there. parent "" means
// os.TempDir(). A failed sweep does not stop New; its error is returned
// with the new Dir, for the caller to report as a warning.
func New(parent string) (*Dir, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	_, sweepErr := Sweep(parent, MaxAge, time.Now())
	path, err := os.MkdirTemp(parent, Prefix)
	if err != nil {
		return nil, fmt.Errorf("privtemp: %w", err)
	}
	// MkdirTemp makes it 0700; make sure whatever the umask.
	if err := os.Chmod(path, 0o700); err != nil {
		os.RemoveAll(path)
		return nil, fmt.Errorf("privtemp: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(path, lockName), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		var ok bool
		ok, err = filelock.TryLock(f)
		if err == nil && !ok {
			err = errors.New("lock held by another process")
		}
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		os.RemoveAll(path)
		return nil, fmt.Errorf("privtemp: lock %s: %w", path, err)
	}
	d := &Dir{path: path, lock: f}
	if sweepErr != nil {
		return d, sweepErr
	}
	return d, nil
}

// Path is the folder's path.
func (d *Dir) Path() string { return d.path }

// Write copies r into a new file called name (a base name, already made
// safe for a file system, such as receive.SanitizeName returns) in a new
// 0700 subfolder of its own, so names never collide, with mode 0600. It
// returns the file's path; on error nothing is left behind.
func (d *Dir) Write(name string, r io.Reader) (path string, err error) {
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		return "", fmt.Errorf("privtemp: %q is not a plain file name", name)
	}
	d.mu.Lock()
	closed := d.lock == nil
	d.mu.Unlock()
	if closed {
		return "", errors.New("privtemp: folder already removed")
	}
	sub, err := os.MkdirTemp(d.path, "doc-")
	if err != nil {
		return "", fmt.Errorf("privtemp: %w", err)
	}
	path = filepath.Join(sub, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		os.RemoveAll(sub)
		return "", fmt.Errorf("privtemp: %w", err)
	}
	if _, err = io.Copy(f, r); err == nil {
		err = f.Close()
	} else {
		f.Close()
	}
	if err != nil {
		os.RemoveAll(sub)
		return "", fmt.Errorf("privtemp: write %s: %w", name, err)
	}
	return path, nil
}

// Remove removes a file that Write returned, with its subfolder. Paths
// outside the folder are refused.
func (d *Dir) Remove(path string) error {
	sub := filepath.Dir(path)
	if filepath.Dir(sub) != d.path || !strings.HasPrefix(filepath.Base(sub), "doc-") {
		return fmt.Errorf("privtemp: %s is not in %s", path, d.path)
	}
	if err := os.RemoveAll(sub); err != nil {
		return fmt.Errorf("privtemp: %w", err)
	}
	return nil
}

// Close removes the folder with everything in it and releases the lock.
// Calling it again does nothing.
func (d *Dir) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lock == nil {
		return nil
	}
	d.lock.Close() // releases the lock; Windows cannot remove an open file
	d.lock = nil
	if err := os.RemoveAll(d.path); err != nil {
		return fmt.Errorf("privtemp: %w", err)
	}
	return nil
}

// Sweep removes the folders named Prefix* directly in parent that are
// real directories (not links) owned by the user, whose lock no running
// process holds, and that have not changed for maxAge before now. It
// returns what it removed. Anything else it skips; the error joins the
// failures to remove.
func Sweep(parent string, maxAge time.Duration, now time.Time) (removed []string, err error) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, fmt.Errorf("privtemp: sweep %s: %w", parent, err)
	}
	var errs []error
	for _, ent := range entries {
		if !strings.HasPrefix(ent.Name(), Prefix) {
			continue
		}
		path := filepath.Join(parent, ent.Name())
		fi, err := os.Lstat(path)
		if err != nil || !fi.IsDir() || !ownedByUser(fi) || now.Sub(fi.ModTime()) < maxAge {
			continue
		}
		if inUse(path) {
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, path)
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("privtemp: sweep: %w", errors.Join(errs...))
	}
	return removed, nil
}

// inUse reports whether a live process holds the folder's lock. A folder
// whose lock file is missing or cannot be opened (a crash before it was
// made) is not in use.
func inUse(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission)
	}
	defer f.Close()
	ok, err := filelock.TryLock(f)
	if err != nil || !ok {
		return true
	}
	filelock.Unlock(f) //nolint:errcheck // closing releases it too
	return false
}
