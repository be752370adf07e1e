package oauth

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSystemBrowserUsesBROWSER(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "url")
	script := filepath.Join(dir, "browser.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' \"$1\" > "+out+".tmp && mv "+out+".tmp "+out+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{script, script + " %s"} {
		os.Remove(out)
		open := SystemBrowser(func(k string) string {
			if k == "BROWSER" {
				return b
			}
			return ""
		})
		if err := open("https://idp.example.test/authorize?x=1"); err != nil {
			t.Fatal(err)
		}
		// The browser runs in the background; wait for its file.
		var got []byte
		for range 500 {
			if data, err := os.ReadFile(out); err == nil {
				got = data
				break
			}
			sleepABit()
		}
		if string(got) != "https://idp.example.test/authorize?x=1" {
			t.Errorf("BROWSER=%q got %q", b, got)
		}
	}
}

func sleepABit() { <-time.After(10 * time.Millisecond) }
