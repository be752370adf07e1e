package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

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
	guiDiagnostics(e, u)
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

// guiDiagnostics frees the memory startup left behind once the first frame
// is up, and serves bench/gui-startup (hidden options, not for users):
//
//   - SECURESEND_REPORT_FIRST_FRAME=1 prints, when the first frame is
//     drawn, "securesend: first-frame unix-ns=N" (the wall clock, which
//     the script compares with its own reading just before it started the
//     process) and, 5 s later, the Go runtime's view of memory next to
//     the process's RSS, so the part that is not Go (the GL driver, C
//     libraries) can be told apart.
//   - SECURESEND_HEAPPROFILE=FILE writes a Go heap profile 5 s after the
//     first frame (go tool pprof FILE).
func guiDiagnostics(e *env, u *app.UI) {
	report := e.getenv("SECURESEND_REPORT_FIRST_FRAME") == "1"
	profile := e.getenv("SECURESEND_HEAPPROFILE")
	u.OnFirstFrame(func() {
		if report {
			fmt.Fprintf(e.stderr, "securesend: first-frame unix-ns=%d\n", time.Now().UnixNano())
		}
		go func() {
			// Starting up (parsing fonts, building the tabs) leaves garbage
			// that an idle app would otherwise keep resident until the next
			// GC: collect it and give the pages back once the window is up.
			time.Sleep(2 * time.Second)
			debug.FreeOSMemory()
			if !report && profile == "" {
				return
			}
			time.Sleep(3 * time.Second)
			if report {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				rss := ""
				if b, err := os.ReadFile("/proc/self/status"); err == nil {
					for _, l := range strings.Split(string(b), "\n") {
						if strings.HasPrefix(l, "VmRSS:") {
							rss = strings.Join(strings.Fields(l)[1:], " ")
						}
					}
				}
				fmt.Fprintf(e.stderr, "securesend: idle go-sys=%d go-heap-inuse=%d go-heap-released=%d go-stack=%d go-gc=%d rss=%q\n",
					ms.Sys, ms.HeapInuse, ms.HeapReleased, ms.StackSys, ms.NumGC, rss)
			}
			if profile != "" {
				runtime.GC()
				if f, err := os.Create(profile); err == nil {
					_ = pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
		}()
	})
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
