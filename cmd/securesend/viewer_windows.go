//go:build windows

package main

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// shellOpen opens path with the program Windows associates with its type,
// as a double-click in Explorer does (ShellExecuteW, verb "open").
//
// It replaces "rundll32 url.dll,FileProtocolHandler PATH", which hands the
// path to an ANSI entry point: a letter outside the system code page (the
// macrons of a user name such as "Ngā Tūhoe" under Windows-1252) reached
// the viewer as "?" and the document did not open. ShellExecuteW takes the
// path as UTF-16, and reports a type with no associated program
// (ERROR_NO_ASSOCIATION) as an error instead of succeeding silently.
func shellOpen(path string) error {
	verb, err := windows.UTF16PtrFromString("open")
	if err != nil {
		return err
	}
	file, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return fmt.Errorf("open %q: %w", path, err)
	}
	if err := windows.ShellExecute(0, verb, file, nil, nil, windows.SW_SHOWNORMAL); err != nil {
		return fmt.Errorf("ShellExecute: %w", err)
	}
	return nil
}
