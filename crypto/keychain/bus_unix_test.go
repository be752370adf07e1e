//go:build unix && !darwin

package keychain

import (
	"errors"
	"os"
	"os/user"
	"path/filepath"
	"testing"
)

func TestSessionBusReachable(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		files []string
		want  bool
	}{
		{"address in the environment", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "unix:path=/tmp/bus"}, nil, true},
		{"autolaunch: is no address", map[string]string{"DBUS_SESSION_BUS_ADDRESS": "autolaunch:"}, nil, false},
		{"systemd user bus", nil, []string{"/run/user/1000/bus"}, true},
		{"dbus-session file", nil, []string{"/run/user/1000/dbus-session"}, true},
		{"another user's bus", nil, []string{"/run/user/1001/bus"}, false},
		{"X display", map[string]string{"DISPLAY": ":0"}, nil, true},
		{"headless, nothing", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			exists := func(p string) bool {
				for _, f := range tt.files {
					if filepath.Clean(p) == f {
						return true
					}
				}
				return false
			}
			if got := sessionBusReachable(getenv, "1000", exists); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestNoSessionBusNoAutolaunch: without any session bus, the keychain
// fails with ErrUnavailable before go-keyring runs (which would start a
// dbus-daemon through dbus-launch that outlives the process).
func TestNoSessionBusNoAutolaunch(t *testing.T) {
	if u, err := user.Current(); err == nil {
		if fileExists(filepath.Join("/run/user", u.Uid, "bus")) || fileExists(filepath.Join("/run/user", u.Uid, "dbus-session")) {
			t.Skip("this user has a systemd session bus")
		}
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("DISPLAY", "")
	os.Unsetenv("DBUS_SESSION_BUS_ADDRESS")
	os.Unsetenv("DISPLAY")
	k := New("securesend-test-nobus")
	if _, err := k.Get("x"); !errors.Is(err, ErrUnavailable) || !errors.Is(err, errNoSessionBus) {
		t.Fatalf("Get without a session bus: %v", err)
	}
	if err := k.Set("x", "secret value"); !errors.Is(err, errNoSessionBus) {
		t.Fatalf("Set without a session bus: %v", err)
	}
	if err := k.Delete("x"); !errors.Is(err, errNoSessionBus) {
		t.Fatalf("Delete without a session bus: %v", err)
	}
}
