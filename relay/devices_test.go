package relay

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDevices: a device's password is kept only as an argon2id hash; a
// wrong password and an unknown name fail alike; a removed device can no
// longer sign in; bad names and short passwords are refused.
func TestDevices(t *testing.T) {
	path := filepath.Join(t.TempDir(), "devices.json")
	d := OpenDevices(path)
	if err := d.Add("frontdesk", devicePassword); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), devicePassword) || !strings.Contains(string(raw), "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("device file:\n%s", raw)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("device file mode %v", fi.Mode().Perm())
	}
	if name, err := d.Check("FrontDesk", devicePassword); err != nil || name != "frontdesk" {
		t.Errorf("Check: %q, %v", name, err)
	}
	for _, c := range [][2]string{{"frontdesk", devicePassword + "x"}, {"backoffice", devicePassword}, {"frontdesk", ""}} {
		if _, err := d.Check(c[0], c[1]); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("Check(%q, %q): %v, want ErrAuthFailed", c[0], c[1], err)
		}
	}
	if err := d.Add("FRONTDESK", devicePassword); !errors.Is(err, ErrDeviceExists) {
		t.Errorf("second add: %v", err)
	}
	for _, name := range []string{"", "../x", "front desk", "a\x1b[2Jb", strings.Repeat("a", 65)} {
		if err := d.Add(name, devicePassword); !errors.Is(err, ErrBadDeviceName) {
			t.Errorf("Add(%q): %v, want ErrBadDeviceName", name, err)
		}
	}
	if err := d.Add("short", "0123456789"); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("short password: %v", err)
	}
	if err := d.Remove("frontdesk"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Check("frontdesk", devicePassword); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("removed device signs in: %v", err)
	}
	if err := d.Remove("frontdesk"); !errors.Is(err, ErrNoDevice) {
		t.Errorf("second remove: %v", err)
	}
}

// TestVerifyPasswordBounds: a tampered hash cannot make a sign-in use
// gigabytes or hours, and a damaged one is an error, not a sign-in.
func TestVerifyPasswordBounds(t *testing.T) {
	for _, h := range []string{
		"$argon2id$v=19$m=4194304,t=3,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=65536,t=1000,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2i$v=19$m=65536,t=3,p=2$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=65536,t=3,p=2$AAAA$AAAA",
		"plain text password",
	} {
		if ok, err := verifyPassword(h, "anything"); ok || err == nil {
			t.Errorf("%q: %v, %v; want an error", h, ok, err)
		}
	}
}

// TestServeSweepsCrashedScans: folders a crashed relay left in TempDir
// are removed before the relay takes connections; other files are not.
func TestServeSweepsCrashedScans(t *testing.T) {
	var tmp string
	tr := startRelay(t, func(o *Options) {
		tmp = o.TempDir
		os.MkdirAll(filepath.Join(tmp, incomingPrefix+"123", "1"), 0o700)
		os.WriteFile(filepath.Join(tmp, incomingPrefix+"123", "1", "scan.pdf"), []byte("%PDF-1.7"), 0o600)
		os.WriteFile(filepath.Join(tmp, "keep.txt"), nil, 0o600)
	})
	// Serve has swept once a connection is answered.
	r := tr.mfd(t, devicePassword, "--user", "frontdesk", "--to", "mainst@relay", "--attach", filepath.Join(testdataDir(t), "good_scan.pdf"))
	if r.Code != 250 {
		t.Fatalf("reply %+v", r)
	}
	if _, err := os.Stat(filepath.Join(tmp, incomingPrefix+"123")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("crashed relay's folder still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(tmp, "keep.txt")); err != nil {
		t.Errorf("other file removed: %v", err)
	}
}
