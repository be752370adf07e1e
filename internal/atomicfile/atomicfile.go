// Package atomicfile replaces small files (indexes, journals, settings,
// receipts) so that a reader or a crash sees either the old content or
// the new, never a mix or a truncated file.
package atomicfile

import (
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, mode 0600: it writes a temporary file
// (".tmp-*") in the same directory, flushes it to disk, renames it over
// path and flushes the directory, so the new content survives a crash once
// WriteFile has returned. On error path is unchanged and the temporary
// file is removed. Errors are the os package's, for the caller to wrap.
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
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: not every platform syncs directories
		d.Close()
	}
	return nil
}
