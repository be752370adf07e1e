// Package windows runs securesend's real Windows build under Wine, against
// the same private Postfix and Dovecot as the other end-to-end tests
// (internal/mailserver): keys, accounts with the password in Credential
// Manager, sending over TLS, fetching and verifying gpg-made mail, the
// outbox from two processes at once, the audit log, and the desktop
// window in demo mode under Xvfb.
//
// It needs wine (64-bit), the mingw-w64 cross compiler and Xvfb
// (scripts/install-deps.sh test installs them). Without them the tests
// are skipped, except under CI=true, where a missing prerequisite is a
// failure, as for internal/mailserver.
package windows

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// winUser is the Windows user name in the test prefix: a space and macrons,
// as in many New Zealand names, so the default home (%APPDATA%) has both.
// Wine takes it from $USER when the prefix is made.
const winUser = "Ngā Tūhoe Kaimahi"

// harness is what TestMain prepared: the Windows binary and a Wine prefix.
type harness struct {
	exe    string // Linux path of securesend.exe
	prefix string // WINEPREFIX
	// skip is why the tests cannot run here (prerequisite missing).
	skip error
	// buildTime and prefixTime are what building the binary and
	// preparing the prefix took (docs/testing.md quotes them).
	buildTime, prefixTime time.Duration
}

var h harness

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if err := prerequisites(); err != nil {
		h.skip = err
		return m.Run()
	}
	work, err := os.MkdirTemp("", "securesend-wine-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "windows:", err)
		return 1
	}
	defer os.RemoveAll(work)
	if err := prepare(work); err != nil {
		fmt.Fprintln(os.Stderr, "windows:", err)
		return 1
	}
	code := m.Run()
	stopWine()
	return code
}

// prerequisites reports what is missing to run the Windows build here.
func prerequisites() error {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return fmt.Errorf("the Wine harness runs on linux/amd64, not %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	var missing []string
	for _, tool := range []string{"wine", "wineboot", "wineserver", "x86_64-w64-mingw32-gcc", "Xvfb", "gpg"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if _, err := os.Stat("/usr/lib/wine/wine64"); err != nil {
		missing = append(missing, "wine64 (/usr/lib/wine/wine64)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s (install with: scripts/install-deps.sh test)", strings.Join(missing, ", "))
	}
	return nil
}

// need skips or fails t when the harness could not be prepared.
func need(t *testing.T) {
	t.Helper()
	if h.skip == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("windows: %v (CI=true, so this is a failure, not a skip)", h.skip)
	}
	t.Skipf("windows: %v", h.skip)
}

// prepare builds securesend.exe with the mingw-w64 cross compiler, as
// packaging does (CGO for Fyne, GUI subsystem, no_emoji), and prepares
// the Wine prefix with scripts/wine-prefix.sh.
func prepare(work string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	h.exe = filepath.Join(work, "securesend.exe")
	start := time.Now()
	build := exec.Command(goBin, "build", "-tags", "no_emoji", "-ldflags", "-H windowsgui", "-o", h.exe, "../../cmd/securesend")
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=1", "CC=x86_64-w64-mingw32-gcc")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("cross-building securesend.exe: %w", err)
	}
	h.buildTime = time.Since(start)

	start = time.Now()
	h.prefix = filepath.Join(work, "prefix")
	prep := exec.Command("../../scripts/wine-prefix.sh", h.prefix)
	prep.Env = append(os.Environ(), "USER="+winUser, "LOGNAME="+winUser)
	var stderr bytes.Buffer
	prep.Stderr = &stderr
	if err := prep.Run(); err != nil {
		return fmt.Errorf("scripts/wine-prefix.sh: %w\n%s", err, stderr.Bytes())
	}
	h.prefixTime = time.Since(start)
	fmt.Fprintf(os.Stderr, "windows: securesend.exe built in %s, Wine prefix ready in %s\n",
		h.buildTime.Round(time.Second), h.prefixTime.Round(time.Second))
	return nil
}

// wineEnv is the environment of every Wine process: the test prefix, no
// debug chatter, no Mono/Gecko installers.
func wineEnv(extra ...string) []string {
	env := []string{"WINEPREFIX=" + h.prefix, "WINEARCH=win64", "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=",
		"USER=" + winUser, "LOGNAME=" + winUser}
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "WINEPREFIX", "WINEARCH", "WINEDEBUG", "WINEDLLOVERRIDES", "DISPLAY", "WAYLAND_DISPLAY",
			"SECURESEND_HOME", "SECURESEND_DEMO", "DBUS_SESSION_BUS_ADDRESS", "USER", "LOGNAME":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// stopWine ends the prefix's wineserver and everything it runs.
func stopWine() {
	if h.prefix == "" {
		return
	}
	cmd := exec.Command("wineserver", "--kill")
	cmd.Env = wineEnv()
	_ = cmd.Run()
}

// winPath is the Windows name Wine gives a Linux path (drive Z: is /).
func winPath(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = p
	}
	return `Z:` + strings.ReplaceAll(abs, "/", `\`)
}

// cDrive is the Linux path of a path on the prefix's drive C:.
func cDrive(winp string) string {
	rest := strings.TrimPrefix(winp, `C:\`)
	return filepath.Join(h.prefix, "drive_c", filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/")))
}

// user is one Windows user's securesend: the environment variables that
// place its home.
type user struct {
	name string
	env  []string
}

// result is what one run of securesend.exe produced.
type result struct {
	code           int
	stdout, stderr string
}

// run runs securesend.exe with args and stdin as u, and returns its exit
// code and output.
func (u user) run(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := u.command(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: securesend.exe %v: %v", u.name, args, err)
	}
	t.Logf("%s: securesend.exe %s: exit %d\nstdout:\n%s\nstderr:\n%s", u.name, strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

// command is the *exec.Cmd that runs securesend.exe as u under Wine.
func (u user) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "wine", append([]string{h.exe}, args...)...)
	cmd.Env = wineEnv(u.env...)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// ok runs securesend.exe and fails the test unless it exits 0.
func (u user) ok(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := u.run(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("%s: securesend.exe %s exited %d:\n%s", u.name, strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}
