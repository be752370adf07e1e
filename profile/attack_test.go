package profile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAttackOverrideSpellings: a local user points SECURESEND_SYSTEM_DIR
// at an older signed profile through a symlink, a relative path or a
// spelling with "." and "..", or at the OS folder through a symlink while
// the home's record is gone: none of these brings back a profile older
// than the baked or OS system-wide one, and an alias of the OS folder
// only reads the OS profile again.
func TestAttackOverrideSpellings(t *testing.T) {
	admin := loadAdmin(t, "admin")
	link := func(t *testing.T, target string) string {
		l := filepath.Join(t.TempDir(), "link")
		if err := os.Symlink(target, l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	cases := []loadCase{
		{"symlink to an older profile", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, nil), SystemDir: link(t, signedDir(t, admin, 3)), OSSystemDir: signedDir(t, admin, 6)}
		}, ErrRollback, 0},
		{"relative path to an older profile", func(t *testing.T) LoadOptions {
			old, b := signedDir(t, admin, 3), baked(t, admin, withSerial(t, 5))
			t.Chdir(filepath.Dir(old))
			return LoadOptions{Baked: b, SystemDir: "./" + filepath.Base(old), OSSystemDir: t.TempDir()}
		}, ErrRollback, 0},
		{"dot-dot spelling of an older profile", func(t *testing.T) LoadOptions {
			old := signedDir(t, admin, 3)
			return LoadOptions{Baked: baked(t, admin, withSerial(t, 5)), SystemDir: old + "/../" + filepath.Base(old) + "/.", OSSystemDir: t.TempDir()}
		}, ErrRollback, 0},
		{"symlink to the OS folder itself", func(t *testing.T) LoadOptions {
			os6 := signedDir(t, admin, 6)
			return LoadOptions{Baked: baked(t, admin, withSerial(t, 5)), SystemDir: link(t, os6), OSSystemDir: os6}
		}, nil, 6},
		{"OS folder with a trailing slash", func(t *testing.T) LoadOptions {
			os6 := signedDir(t, admin, 6)
			return LoadOptions{Baked: baked(t, admin, nil), SystemDir: os6 + "/", OSSystemDir: os6}
		}, nil, 6},
		{"empty override, home record deleted, baked only", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, withSerial(t, 5)), SystemDir: t.TempDir(), OSSystemDir: t.TempDir(), StateFile: filepath.Join(t.TempDir(), "profile-serials")}
		}, nil, 5},
	}
	runLoadCases(t, cases)
}
