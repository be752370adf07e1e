//go:build !unix

package desk

import "os"

// checkDropGroup: the file has the folder's inherited ACL.
func checkDropGroup(*os.File, string) error { return nil }
