package main

import (
	"context"
	"fmt"
	"runtime"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/securesend/securesend/account/oauth"
	"github.com/securesend/securesend/app"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/privtemp"
)

// appID is the application identifier (also in FyneApp.toml).
const appID = "nz.securesend.app"

// runGUI opens the desktop app, and in it the files in open (received
// messages). With no account in the home directory (or with
// SECURESEND_DEMO=1) it starts the loopback demo mail system and opens the
// app in demo mode.
func runGUI(ctx context.Context, e *env, open []string) int {
	go preloadSystemFonts()
	if _, err := loadOrgProfile(e); err != nil {
		return errorf(e, "%v", err)
	}
	d, err := openDesk(e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	fa := fyneapp.NewWithID(appID)
	// Decrypted and combined documents live in this process's private
	// folder: removed at exit, or by the next start after a crash.
	tmpDir, err := privtemp.New("")
	if tmpDir == nil {
		return errorf(e, "%v", err)
	} else if err != nil {
		fmt.Fprintf(e.stderr, "securesend: warning: %v\n", err)
	}
	defer tmpDir.Close()
	cfg, s, err := app.OpenDesk(ctx, d, desk.SessionOptions{Temp: tmpDir, Demo: e.getenv("SECURESEND_DEMO") == "1"}, guiOptions(e))
	if err != nil {
		return errorf(e, "%v", err)
	}
	defer s.Close()
	if cfg.Demo {
		fmt.Fprintln(e.stderr, "securesend: no account set up, so the app opens in demo mode (nothing leaves this computer)")
	}
	u := app.New(fa, cfg)
	if dir := e.getenv("SECURESEND_SCREENSHOT_TOUR"); dir != "" {
		go u.Tour(dir)
	}
	// The startup benchmark's hidden options (bench/gui-startup).
	u.WatchStartup(app.Diagnostics{
		ReportFirstFrame: e.getenv("SECURESEND_REPORT_FIRST_FRAME") == "1",
		HeapProfile:      e.getenv("SECURESEND_HEAPPROFILE"),
		Log:              e.stderr,
	})
	if len(open) > 0 {
		fa.Lifecycle().SetOnStarted(func() { u.OpenFiles(open) })
	}
	go func() {
		<-ctx.Done()
		fyne.Do(fa.Quit) // Fyne's calls belong on its goroutine
	}()
	u.ShowAndRun()
	return 0
}

// guiOptions are what the system offers the app: the browser for OAuth
// sign-in, and on Windows the viewer (ShellExecuteW, viewer_windows.go).
func guiOptions(e *env) app.DeskOptions {
	o := app.DeskOptions{OpenBrowser: oauth.SystemBrowser(e.getenv)}
	if runtime.GOOS == "windows" {
		o.OpenFile = shellOpen
	}
	return o
}
