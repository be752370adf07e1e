package app

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"
)

// Diagnostics serve bench/gui-startup (hidden options of the binary, not
// for users).
type Diagnostics struct {
	// ReportFirstFrame prints to Log, when the first frame is drawn,
	// "securesend: first-frame unix-ns=N" (the wall clock, which the
	// script compares with its own reading just before it started the
	// process) and, 5 s later, the Go runtime's view of memory next to
	// the process's RSS, so the part that is not Go (the GL driver, C
	// libraries) can be told apart (SECURESEND_REPORT_FIRST_FRAME=1).
	ReportFirstFrame bool
	// HeapProfile, when set, is the file a Go heap profile is written to
	// 5 s after the first frame (SECURESEND_HEAPPROFILE; go tool pprof).
	HeapProfile string
	// Log receives the reports.
	Log io.Writer
}

// WatchStartup frees the memory startup left behind once the first frame
// is up, and serves d. Call it before ShowAndRun.
func (u *UI) WatchStartup(d Diagnostics) {
	u.OnFirstFrame(func() {
		if d.ReportFirstFrame {
			fmt.Fprintf(d.Log, "securesend: first-frame unix-ns=%d\n", time.Now().UnixNano())
		}
		go func() {
			// Starting up (parsing fonts, building the tabs) leaves garbage
			// that an idle app would otherwise keep resident until the next
			// GC: collect it and give the pages back once the window is up.
			time.Sleep(2 * time.Second)
			debug.FreeOSMemory()
			if !d.ReportFirstFrame && d.HeapProfile == "" {
				return
			}
			time.Sleep(3 * time.Second)
			if d.ReportFirstFrame {
				reportMemory(d.Log)
			}
			if d.HeapProfile != "" {
				runtime.GC()
				if f, err := os.Create(d.HeapProfile); err == nil {
					_ = pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
		}()
	})
}

// reportMemory prints the Go runtime's view of memory and the process's
// RSS (Linux) to w.
func reportMemory(w io.Writer) {
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
	fmt.Fprintf(w, "securesend: idle go-sys=%d go-heap-inuse=%d go-heap-released=%d go-stack=%d go-gc=%d rss=%q\n",
		ms.Sys, ms.HeapInuse, ms.HeapReleased, ms.StackSys, ms.NumGC, rss)
}
