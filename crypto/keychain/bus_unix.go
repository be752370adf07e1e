//go:build unix && !darwin

package keychain

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
)

// errNoSessionBus: the Secret Service is reached over the D-Bus session
// bus, and there is none to reach.
var errNoSessionBus = errors.New("there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set, no /run/user/UID/bus and no X display), so no Secret Service can be reached")

// checkSessionBus fails when no D-Bus session bus can be found the way
// godbus (under go-keyring) finds one, short of autolaunching: without
// this check godbus runs dbus-launch, which on a machine without a
// desktop session starts a bus daemon that outlives the process (one more
// per securesend command) and whose Secret Service is locked anyway. With
// an X display, autolaunch finds or starts the display's own bus, so it is
// left to godbus.
func checkSessionBus() error {
	uid := ""
	if u, err := user.Current(); err == nil {
		uid = u.Uid
	}
	if !sessionBusReachable(os.Getenv, uid, fileExists) {
		return fmt.Errorf("%w: %w", ErrUnavailable, errNoSessionBus)
	}
	return nil
}

// sessionBusReachable is checkSessionBus's decision, on godbus's rules:
// an address in the environment ("autolaunch:" does not count), the
// systemd user bus socket or dbus-session file in /run/user/UID, or an X
// display to autolaunch against.
func sessionBusReachable(getenv func(string) string, uid string, exists func(string) bool) bool {
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return true
	}
	if uid != "" {
		run := filepath.Join("/run/user", uid)
		if exists(filepath.Join(run, "bus")) || exists(filepath.Join(run, "dbus-session")) {
			return true
		}
	}
	return getenv("DISPLAY") != ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
