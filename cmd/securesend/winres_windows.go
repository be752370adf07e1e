//go:build windows

package main

// rsrc_windows_amd64.syso, linked into the Windows build by "go build",
// gives securesend.exe its icon (assets/icon.png), version information
// (Explorer's Details tab, Intune's inventory) and an application
// manifest: per-monitor-v2 DPI awareness so the window is sharp rather
// than bitmap-stretched on scaled displays, long paths, asInvoker. It is
// generated from winres/winres.json with go-winres from the Go module
// proxy and committed (21 KB) so that every Windows build, including
// packaging's, carries it without extra tools; regenerate it after
// changing winres.json or the icon:
//
//go:generate go run github.com/tc-hib/go-winres@v0.3.3 make --in winres/winres.json --arch amd64 --out rsrc
