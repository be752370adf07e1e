//go:build unix

package desk

import (
	"fmt"
	"os"
	"syscall"
)

// checkDropGroup refuses to make f, just created in dir, readable by
// its group unless that group is dir's: a folder without the setgid bit
// (on Linux) gives new files the watch's user's primary group, which on
// many systems is shared by every user ("users", "staff").
func checkDropGroup(f *os.File, dir string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("drop folder: %w", err)
	}
	di, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("drop folder: %w", err)
	}
	fs, ok1 := fi.Sys().(*syscall.Stat_t)
	ds, ok2 := di.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 {
		return fmt.Errorf("drop folder: cannot read the group of %s", dir)
	}
	if fs.Gid != ds.Gid {
		return fmt.Errorf("drop folder: a new file in it takes group %d, not the folder's group %d, so --drop-group-read would let group %d read it: give the folder the setgid bit (chmod g+s %s); nothing was dropped", fs.Gid, ds.Gid, fs.Gid, dir)
	}
	return nil
}
