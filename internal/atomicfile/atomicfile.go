// Package atomicfile replaces small files (indexes, journals, settings,
// receipts) so that a reader or a crash sees either the old content or
// the new, never a mix or a truncated file. It also holds the two
// durability primitives the rest of securesend builds on, Rename and
// SyncDir, done the way each operating system allows.
package atomicfile

import (
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, mode 0600: it writes a temporary file
// (".tmp-*") in the same directory, flushes it to disk, renames it over
// path with Rename and flushes the directory with SyncDir, so the new
// content survives a crash once WriteFile has returned. On error path is
// unchanged and the temporary file is removed. Errors are the os
// package's, for the caller to wrap.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a successful rename there is nothing left
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := Rename(f.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// Rename renames oldpath to newpath, replacing newpath if it is a file,
// as os.Rename does. On Windows it asks MoveFileEx to write the rename
// through to disk before returning (MOVEFILE_WRITE_THROUGH), because
// Windows may not let SyncDir flush the directory afterwards. On Unix it
// is os.Rename; call SyncDir on the directory to make it durable. Errors
// are *os.LinkError.
func Rename(oldpath, newpath string) error { return rename(oldpath, newpath) }

// SyncDir makes the creations, renames and removals in directory dir
// durable.
//
// On Unix it fsyncs the directory; a file system that cannot sync a
// directory (EINVAL, ENOTSUP) is not an error, any other failure is.
//
// On Windows a directory opened the ordinary way cannot be flushed
// ("Access is denied"), so SyncDir opens it with FILE_FLAG_BACKUP_SEMANTICS
// and write access and calls FlushFileBuffers (Wine 8 does this too: the
// e2e/windows tests take this path). Where Windows refuses that (no write
// access to the directory, a file system that cannot flush one) it
// returns nil: renames done with Rename were already written through, and
// a removal is then as durable as the file system's own journal makes it.
// A directory that does not exist is an error on every system. Errors are
// *os.PathError.
func SyncDir(dir string) error { return syncDir(dir) }
