//go:build unix

package main

import "errors"

// shellOpen is Windows' way of opening a document (viewer_windows.go);
// elsewhere openViewer runs open or xdg-open instead.
func shellOpen(string) error { return errors.ErrUnsupported }
