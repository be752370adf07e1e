//go:build !unix

package privtemp

import "io/fs"

// ownedByUser is true: the temp folder is the user's own on Windows.
func ownedByUser(fs.FileInfo) bool { return true }
