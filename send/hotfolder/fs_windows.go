//go:build windows

package hotfolder

import (
	"errors"
	"os"
	"path/filepath"
)

// folder is a directory used for one round. On Windows names are resolved
// by path, each checked with Lstat first: links there (symbolic links,
// junctions) need rights ordinary users rarely have, and there are no
// FIFOs. Ownership and permissions are left to the folder's ACLs.
type folder struct {
	path string
}

func openFolder(path string) (*folder, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &os.PathError{Op: "open", Path: path, Err: errors.New("not a folder")}
	}
	return &folder{path: path}, nil
}

// Close does nothing on Windows.
func (f *folder) Close() error { return nil }

func (f *folder) entries() ([]os.DirEntry, error) { return os.ReadDir(f.path) }

// openFile opens name in the folder, refusing a link.
func (f *folder) openFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	p := filepath.Join(f.path, name)
	fi, err := os.Lstat(p)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return nil, &os.PathError{Op: "open", Path: p, Err: errIsLink}
	case err != nil && (flag&os.O_CREATE == 0 || !errors.Is(err, os.ErrNotExist)):
		return nil, err
	}
	return os.OpenFile(p, flag, perm)
}

// subfolder opens the subfolder name, creating it when missing; it must
// be a real directory.
func (f *folder) subfolder(name string) (*folder, error) {
	p := filepath.Join(f.path, name)
	if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &SubfolderError{Path: p, Problem: "is a link or a file, not a real folder"}
	}
	return &folder{path: p}, nil
}

func (f *folder) exists(name string) (bool, error) {
	_, err := os.Lstat(filepath.Join(f.path, name))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	default:
		return false, err
	}
}

// moveTo moves name to dst/newName, never replacing anything.
func (f *folder) moveTo(name string, dst *folder, newName string) error {
	src, to := filepath.Join(f.path, name), filepath.Join(dst.path, newName)
	err := os.Link(src, to)
	if err == nil {
		if err := os.Remove(src); err != nil {
			os.Remove(to)
			return err
		}
		return nil
	}
	if errors.Is(err, os.ErrExist) {
		return err
	}
	if taken, serr := dst.exists(newName); serr != nil {
		return serr
	} else if taken {
		return &os.PathError{Op: "move", Path: to, Err: os.ErrExist}
	}
	return os.Rename(src, to)
}

func (f *folder) createNew(name string) (*os.File, error) {
	return os.OpenFile(filepath.Join(f.path, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

func (f *folder) sync() {}

func isOwnedDir(fi os.FileInfo) bool { return fi.IsDir() }

// notPrivate is "" on Windows, where the folder's ACLs decide who may
// write the journal (permission bits mean nothing there).
func notPrivate(*os.File) string { return "" }
