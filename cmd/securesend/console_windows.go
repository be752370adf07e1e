//go:build windows

package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// The Windows build is a GUI-subsystem program (packaging links it with
// -H windowsgui) so that double-clicking it opens the window without a
// console window behind it. Windows gives such a program no console and
// no standard handles, so "securesend keys list" typed in cmd.exe or
// PowerShell would print nothing and prompts would read nothing. With a
// subcommand, the program therefore attaches to the console of the shell
// that started it and points whichever standard streams have no handle at
// it; streams redirected to a file or a pipe (scripts, the Wine tests)
// already have handles and are left alone. An interactive cmd.exe prompt
// does not wait for a GUI-subsystem program (batch files do), so its
// prompt comes back before the output: "start /wait securesend ..." waits
// (PowerShell: pipe the output, or Start-Process -Wait).
func init() {
	if len(os.Args) < 2 {
		return // the desktop app wants no console
	}
	attachParentConsole()
}

var (
	kernel32          = windows.NewLazySystemDLL("kernel32.dll")
	procAttachConsole = kernel32.NewProc("AttachConsole")
)

// attachParentProcess is ATTACH_PARENT_PROCESS, (DWORD)-1.
const attachParentProcess = ^uintptr(0)

func attachParentConsole() {
	streams := []struct {
		std  uint32
		file **os.File
		name string
		flag int
	}{
		{windows.STD_INPUT_HANDLE, &os.Stdin, "CONIN$", os.O_RDWR},
		{windows.STD_OUTPUT_HANDLE, &os.Stdout, "CONOUT$", os.O_RDWR},
		{windows.STD_ERROR_HANDLE, &os.Stderr, "CONOUT$", os.O_RDWR},
	}
	missing := false
	for _, s := range streams {
		if h, err := windows.GetStdHandle(s.std); err != nil || h == 0 || h == windows.InvalidHandle {
			missing = true
		}
	}
	if !missing {
		return
	}
	if r, _, _ := procAttachConsole.Call(attachParentProcess); r == 0 {
		return // started from Explorer or a service: there is no console to use
	}
	for _, s := range streams {
		if h, err := windows.GetStdHandle(s.std); err == nil && h != 0 && h != windows.InvalidHandle {
			if ft, err := windows.GetFileType(h); err == nil && ft != windows.FILE_TYPE_UNKNOWN {
				continue // redirected: keep it
			}
		}
		f, err := os.OpenFile(s.name, s.flag, 0)
		if err != nil {
			continue
		}
		_ = windows.SetStdHandle(s.std, windows.Handle(f.Fd()))
		*s.file = f
	}
}
