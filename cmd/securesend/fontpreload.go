package main

import (
	"io"
	"log"

	"github.com/go-text/typesetting/fontscan"
)

// preloadSystemFonts loads go-text's index of the system fonts, which Fyne
// needs for its first text measurement (internal/painter calls
// fontscan.FontMap.UseSystemFonts with the default cache directory). The
// index is built once per process behind a sync.Once, so calling this on
// a goroutine at start-up lets the scan (a new user's first launch: every
// system font parsed and font_index_v5.cache written; later launches:
// the cache read) overlap the desk, the demo's key stores and the window
// instead of running inside the first layout; Fyne's call then finds it
// done, or waits for it. Errors are Fyne's to handle on its own call: it
// falls back to its bundled fonts either way.
func preloadSystemFonts() {
	_, _ = fontscan.SystemFonts(log.New(io.Discard, "", 0), "")
}
