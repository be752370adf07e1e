//go:build unix

package hotfolder

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// folder is a directory opened for one round. Every name is resolved
// relative to the open directory (openat and friends), one component at a
// time, and no step follows a symbolic link: whoever can write to a shared
// scan folder cannot redirect a read, a move or a new file elsewhere by
// putting a link (or a FIFO) where a file or subfolder was.
type folder struct {
	path string
	dir  *os.File
}

// openFolder opens the directory at path (which the user chose: a link
// there is followed, once).
func openFolder(path string) (*folder, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return &folder{path: path, dir: os.NewFile(uintptr(fd), path)}, nil
}

func (f *folder) fd() int { return int(f.dir.Fd()) }

// Close closes the directory.
func (f *folder) Close() error { return f.dir.Close() }

// entries lists the directory.
func (f *folder) entries() ([]os.DirEntry, error) {
	if _, err := f.dir.Seek(0, 0); err != nil {
		return nil, err
	}
	return f.dir.ReadDir(-1)
}

// openFile opens name in the folder without following a link and without
// blocking (a FIFO or a device opens at once instead of waiting for a
// writer). The caller checks what it got with Stat: only a regular file is
// to be read.
func (f *folder) openFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	fd, err := unix.Openat(f.fd(), name, flag|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, uint32(perm.Perm()))
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EMLINK) {
			err = errIsLink
		}
		return nil, &os.PathError{Op: "open", Path: filepath.Join(f.path, name), Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(f.path, name)), nil
}

// subfolder opens the subfolder name, creating it (0700) when missing. It
// must be a real directory (not a link), owned by this user; permissions
// wider than 0700 are narrowed to 0700, since it holds patient data.
func (f *folder) subfolder(name string) (*folder, error) {
	p := filepath.Join(f.path, name)
	if err := unix.Mkdirat(f.fd(), name, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, &os.PathError{Op: "create", Path: p, Err: err}
	}
	fd, err := unix.Openat(f.fd(), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
			return nil, &SubfolderError{Path: p, Problem: "is a link or a file, not a real folder"}
		}
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	sub := &folder{path: p, dir: os.NewFile(uintptr(fd), p)}
	if err := sub.checkPrivate(); err != nil {
		sub.Close()
		return nil, err
	}
	return sub, nil
}

// checkPrivate checks that the open directory belongs to this user and
// narrows its permissions to 0700.
func (f *folder) checkPrivate() error {
	var st unix.Stat_t
	if err := unix.Fstat(f.fd(), &st); err != nil {
		return &os.PathError{Op: "stat", Path: f.path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return &SubfolderError{Path: f.path, Problem: "is not a folder"}
	}
	if uid := os.Getuid(); int64(st.Uid) != int64(uid) {
		return &SubfolderError{Path: f.path, Problem: fmt.Sprintf("belongs to another user (uid %d)", st.Uid)}
	}
	if st.Mode&0o077 == 0 {
		return nil
	}
	if err := unix.Fchmod(f.fd(), 0o700); err != nil {
		return &SubfolderError{Path: f.path, Problem: fmt.Sprintf("can be read by others (mode %04o) and cannot be made private: %v", st.Mode&0o7777, err)}
	}
	if err := unix.Fstat(f.fd(), &st); err != nil {
		return &os.PathError{Op: "stat", Path: f.path, Err: err}
	}
	if st.Mode&0o077 != 0 {
		// A file system that ignores chmod (some network shares).
		return &SubfolderError{Path: f.path, Problem: fmt.Sprintf("can be read by others (mode %04o) and cannot be made private", st.Mode&0o7777)}
	}
	return nil
}

// exists reports whether name is taken in the folder (by anything,
// a link included).
func (f *folder) exists(name string) (bool, error) {
	var st unix.Stat_t
	err := unix.Fstatat(f.fd(), name, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.ENOENT):
		return false, nil
	default:
		return false, &os.PathError{Op: "stat", Path: filepath.Join(f.path, name), Err: err}
	}
}

// moveTo moves name from f to dst/newName, never replacing anything: it
// returns an error matching os.ErrExist when newName is taken. A link
// named name is moved as the link, never followed.
func (f *folder) moveTo(name string, dst *folder, newName string) error {
	err := unix.Linkat(f.fd(), name, dst.fd(), newName, 0) // 0: a link is not followed
	if err == nil {
		if err := unix.Unlinkat(f.fd(), name, 0); err != nil {
			unix.Unlinkat(dst.fd(), newName, 0)
			return &os.PathError{Op: "remove", Path: filepath.Join(f.path, name), Err: err}
		}
		return nil
	}
	if errors.Is(err, unix.EEXIST) {
		return &os.PathError{Op: "move", Path: filepath.Join(dst.path, newName), Err: os.ErrExist}
	}
	// No hard links here (some network shares): check, then rename. dst is
	// this user's private folder, so nobody else can take the name between
	// the two.
	taken, serr := dst.exists(newName)
	if serr != nil {
		return serr
	}
	if taken {
		return &os.PathError{Op: "move", Path: filepath.Join(dst.path, newName), Err: os.ErrExist}
	}
	if err := unix.Renameat(f.fd(), name, dst.fd(), newName); err != nil {
		return &os.PathError{Op: "move", Path: filepath.Join(f.path, name), Err: err}
	}
	return nil
}

// createNew creates name (mode 0600) for writing; it fails if anything,
// a link included, has that name.
func (f *folder) createNew(name string) (*os.File, error) {
	fd, err := unix.Openat(f.fd(), name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &os.PathError{Op: "create", Path: filepath.Join(f.path, name), Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(f.path, name)), nil
}

// sync makes the folder's entries durable (best effort).
func (f *folder) sync() { _ = f.dir.Sync() }

// isOwnedDir reports whether fi (from Lstat) is a real directory owned by
// this user: a leftover private copy this user may remove.
func isOwnedDir(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.IsDir() && int64(st.Uid) == int64(os.Getuid())
}

// notPrivate says why the open file f could have been written by someone
// else (another user's, or writable by group or others), or "" when it is
// this user's own private file.
func notPrivate(f *os.File) string {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return "cannot be checked (" + err.Error() + ")"
	}
	if int64(st.Uid) != int64(os.Getuid()) {
		return fmt.Sprintf("belongs to another user (uid %d)", st.Uid)
	}
	if st.Mode&0o022 != 0 {
		return fmt.Sprintf("can be written by others (mode %04o)", st.Mode&0o7777)
	}
	return ""
}
