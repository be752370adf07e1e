//go:build windows

package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

func rename(oldpath, newpath string) error {
	from, err := windows.UTF16PtrFromString(fixLongPath(oldpath))
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	to, err := windows.UTF16PtrFromString(fixLongPath(newpath))
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	if err := windows.MoveFileEx(from, to, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH); err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

func syncDir(dir string) error {
	name, err := windows.UTF16PtrFromString(fixLongPath(dir))
	if err != nil {
		return &os.PathError{Op: "sync", Path: dir, Err: err}
	}
	// Write access is what FlushFileBuffers needs; backup semantics is
	// what lets CreateFile open a directory at all.
	h, err := windows.CreateFile(name, windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		if refused(err) {
			// Not allowed to open the directory for writing: the
			// renames were written through (Rename), which is all
			// Windows offers here. Make sure it exists all the same.
			return statDir(dir)
		}
		return &os.PathError{Op: "sync", Path: dir, Err: err}
	}
	defer windows.CloseHandle(h)
	if err := windows.FlushFileBuffers(h); err != nil && !refused(err) {
		return &os.PathError{Op: "sync", Path: dir, Err: err}
	}
	return nil
}

// refused reports whether err is Windows declining to open or flush a
// directory, as opposed to the directory being missing or the disk
// failing.
func refused(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) ||
		errors.Is(err, windows.ERROR_INVALID_FUNCTION) ||
		errors.Is(err, windows.ERROR_NOT_SUPPORTED) ||
		errors.Is(err, windows.ERROR_INVALID_PARAMETER)
}

func statDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &os.PathError{Op: "sync", Path: dir, Err: windows.ERROR_DIRECTORY}
	}
	return nil
}

// fixLongPath turns an absolute path longer than MAX_PATH into its
// \\?\ form, as the os package does for its own calls, so that deep
// homes (long or non-ASCII user names, redirected folders) work.
func fixLongPath(path string) string {
	const maxPath = 248 // CreateDirectory's limit, the smallest
	if len(path) < maxPath || !filepath.IsAbs(path) || strings.HasPrefix(path, `\\`) {
		return path
	}
	return `\\?\` + filepath.Clean(path)
}
