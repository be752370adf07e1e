package profile

import (
	"errors"
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
	signed := func(t *testing.T, n int) string {
		p := withSerial(t, n)
		return systemDir(t, p, signWith(t, admin, p))
	}
	link := func(t *testing.T, target string) string {
		l := filepath.Join(t.TempDir(), "link")
		if err := os.Symlink(target, l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	cases := []struct {
		name       string
		opts       func(t *testing.T) LoadOptions
		wantErr    error
		wantSerial int64
	}{
		{"symlink to an older profile", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, nil), SystemDir: link(t, signed(t, 3)), OSSystemDir: signed(t, 6)}
		}, ErrRollback, 0},
		{"relative path to an older profile", func(t *testing.T) LoadOptions {
			old, b := signed(t, 3), baked(t, admin, withSerial(t, 5))
			t.Chdir(filepath.Dir(old))
			return LoadOptions{Baked: b, SystemDir: "./" + filepath.Base(old), OSSystemDir: t.TempDir()}
		}, ErrRollback, 0},
		{"dot-dot spelling of an older profile", func(t *testing.T) LoadOptions {
			old := signed(t, 3)
			return LoadOptions{Baked: baked(t, admin, withSerial(t, 5)), SystemDir: old + "/../" + filepath.Base(old) + "/.", OSSystemDir: t.TempDir()}
		}, ErrRollback, 0},
		{"symlink to the OS folder itself", func(t *testing.T) LoadOptions {
			os6 := signed(t, 6)
			return LoadOptions{Baked: baked(t, admin, withSerial(t, 5)), SystemDir: link(t, os6), OSSystemDir: os6}
		}, nil, 6},
		{"OS folder with a trailing slash", func(t *testing.T) LoadOptions {
			os6 := signed(t, 6)
			return LoadOptions{Baked: baked(t, admin, nil), SystemDir: os6 + "/", OSSystemDir: os6}
		}, nil, 6},
		{"empty override, home record deleted, baked only", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, withSerial(t, 5)), SystemDir: t.TempDir(), OSSystemDir: t.TempDir(), StateFile: filepath.Join(t.TempDir(), "profile-serials")}
		}, nil, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := Load(c.opts(t))
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) || l != nil {
					t.Fatalf("got %+v, %v; want %v", l, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !l.Managed() || l.Profile.Serial != c.wantSerial {
				t.Fatalf("loaded %+v, want serial %d", l, c.wantSerial)
			}
		})
	}
}
