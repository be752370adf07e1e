// Package clocale quiets Fyne's start-up complaint about the "C"/"POSIX"
// locale. Fyne's lang package parses $LANG in its init function and logs
// three "Error parsing user locale C" lines on every run, CLI commands
// included, on machines (containers, CI, servers) whose locale is "C" or
// "C.UTF-8". Those values mean "no locale", so this package, imported for its
// side effect before Fyne, removes them from the environment; Fyne then falls
// back to English, as it would anyway. Real locales are left alone.
//
// It must be imported by package main only; Go initializes it before
// fyne.io/fyne/v2/lang because it has no dependencies besides os and strings.
package clocale

import (
	"os"
	"strings"
)

func init() {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"} {
		if isC(os.Getenv(k)) {
			os.Unsetenv(k)
		}
	}
}

// isC reports whether v names the C or POSIX locale, with or without a
// codeset ("C.UTF-8", "C.utf8").
func isC(v string) bool {
	base, _, _ := strings.Cut(v, ".")
	return base == "C" || base == "POSIX"
}
