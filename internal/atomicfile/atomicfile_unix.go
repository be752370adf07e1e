//go:build !windows

package atomicfile

import (
	"errors"
	"os"
	"syscall"
)

func rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		// The file system cannot sync a directory (some FUSE and
		// network file systems): nothing more can be done.
		return nil
	}
	return err
}
