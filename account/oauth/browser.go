package oauth

import (
	"fmt"
	"os/exec"
	"runtime"
	"strings"
)

// SystemBrowser returns an OpenBrowser function that opens a URL in the
// user's default browser: the command in $BROWSER (as getenv reports it),
// with the URL in place of %s or appended, when set; otherwise xdg-open,
// open (macOS) or the Windows URL handler. The browser is not stopped when
// the caller ends.
func SystemBrowser(getenv func(string) string) func(url string) error {
	return func(url string) error {
		var cmd *exec.Cmd
		if b := strings.TrimSpace(getenv("BROWSER")); b != "" {
			f := strings.Fields(b)
			args := f[1:]
			if strings.Contains(b, "%s") {
				for i := range args {
					args[i] = strings.ReplaceAll(args[i], "%s", url)
				}
			} else {
				args = append(args, url)
			}
			cmd = exec.Command(f[0], args...)
		} else {
			switch runtime.GOOS {
			case "darwin":
				cmd = exec.Command("open", url)
			case "windows":
				cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
			default:
				cmd = exec.Command("xdg-open", url)
			}
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", cmd.Path, err)
		}
		go cmd.Wait() //nolint:errcheck // the browser outlives this call.
		return nil
	}
}
