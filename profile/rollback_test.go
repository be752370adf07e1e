package profile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/keychain"
)

// testSerials returns KeychainSerials in a keychain namespace private to
// this test (the real OS keychain: run under scripts/with-keyring.sh).
func testSerials(t *testing.T) (SerialMemory, *keychain.Keychain) {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	kc := keychain.New("securesend-test-profile-" + hex.EncodeToString(b))
	if _, err := kc.Get("probe"); errors.Is(err, keychain.ErrUnavailable) {
		t.Fatalf("no OS keychain: run the tests via scripts/with-keyring.sh (%v)", err)
	}
	return KeychainSerials(kc), kc
}

// TestLoadPinnedNeverUnmanaged: a build that pins an admin key refuses to
// run without a profile, wherever SECURESEND_SYSTEM_DIR points; the
// override cannot hide the profile in the OS system-wide directory.
func TestLoadPinnedNeverUnmanaged(t *testing.T) {
	admin := loadAdmin(t, "admin")
	p5 := withSerial(t, 5)
	cases := []loadCase{
		{"pinned key, override at an empty folder", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, nil), SystemDir: t.TempDir(), OSSystemDir: t.TempDir()}
		}, ErrNoProfile, 0},
		{"pinned key, override at a missing folder", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, nil), SystemDir: filepath.Join(t.TempDir(), "nothing"), OSSystemDir: t.TempDir()}
		}, ErrNoProfile, 0},
		{"pinned key, no system folder at all", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, nil)}
		}, ErrNoProfile, 0},
		{"pinned key, override at an empty folder, profile in the OS folder", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, nil), SystemDir: t.TempDir(), OSSystemDir: systemDir(t, p5, signWith(t, admin, p5))}
		}, nil, 5},
		{"pinned key, override at an empty folder, baked profile", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, p5), SystemDir: t.TempDir(), OSSystemDir: t.TempDir()}
		}, nil, 5},
		{"unconfigured build, nothing anywhere", func(t *testing.T) LoadOptions {
			return LoadOptions{SystemDir: t.TempDir(), OSSystemDir: t.TempDir()}
		}, nil, 0},
	}
	runLoadCases(t, cases)
	// The error says where securesend looked.
	sys := t.TempDir()
	_, err := Load(LoadOptions{Baked: baked(t, admin, nil), SystemDir: sys, OSSystemDir: "/etc/securesend"})
	if err == nil || !strings.Contains(err.Error(), sys) || !strings.Contains(err.Error(), "/etc/securesend") {
		t.Fatalf("error does not name the folders: %v", err)
	}
}

// TestLoadOverrideNotOlder: a profile in an overriding SystemDir must not be
// older than the baked one, the OS system-wide one or the highest recorded;
// a newer one wins.
func TestLoadOverrideNotOlder(t *testing.T) {
	admin := loadAdmin(t, "admin")
	cases := []loadCase{
		{"override older than the baked profile", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, withSerial(t, 5)), SystemDir: signedDir(t, admin, 3), OSSystemDir: t.TempDir()}
		}, ErrRollback, 0},
		{"override older than the OS system-wide profile", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, nil), SystemDir: signedDir(t, admin, 5), OSSystemDir: signedDir(t, admin, 6)}
		}, ErrRollback, 0},
		{"override older than the recorded serial", func(t *testing.T) LoadOptions {
			state := filepath.Join(t.TempDir(), "profile-serials")
			os.WriteFile(state, []byte(admin.fpr+" 9\n"), 0o600)
			return LoadOptions{Baked: baked(t, admin, withSerial(t, 9)), SystemDir: signedDir(t, admin, 8), OSSystemDir: t.TempDir(), StateFile: state}
		}, ErrRollback, 0},
		{"override newer than the baked profile", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, withSerial(t, 5)), SystemDir: signedDir(t, admin, 7), OSSystemDir: signedDir(t, admin, 6)}
		}, nil, 7},
		{"override with the same serial", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, withSerial(t, 5)), SystemDir: signedDir(t, admin, 5), OSSystemDir: t.TempDir()}
		}, nil, 5},
		{"override signed by another key", func(t *testing.T) LoadOptions {
			other := loadAdmin(t, "other_admin")
			p := withSerial(t, 9)
			return LoadOptions{Baked: baked(t, admin, withSerial(t, 5)), SystemDir: systemDir(t, p, signWith(t, other, p)), OSSystemDir: t.TempDir()}
		}, ErrWrongKey, 0},
		// Without an override, an older profile next to a newer one is an
		// ordinary rollout state (the newer one wins), not an error.
		{"older OS system-wide profile next to a newer baked one", func(t *testing.T) LoadOptions {
			dir := signedDir(t, admin, 3)
			return LoadOptions{Baked: baked(t, admin, withSerial(t, 5)), SystemDir: dir, OSSystemDir: dir}
		}, nil, 5},
	}
	runLoadCases(t, cases)
}

// TestLoadRollbackKeychain: the highest serial is kept in the OS keychain as
// well as in the home, so deleting the home's file or using a fresh home
// does not make an older profile acceptable.
func TestLoadRollbackKeychain(t *testing.T) {
	admin := loadAdmin(t, "admin")
	serials, kc := testSerials(t)
	t.Cleanup(func() { kc.Delete(serialEntry(admin.fpr)) })
	p4, p6 := withSerial(t, 4), withSerial(t, 6)
	osDir := t.TempDir()
	load := func(state string, sys string) (*Loaded, error) {
		return Load(LoadOptions{Baked: baked(t, admin, p4), SystemDir: sys, OSSystemDir: osDir, StateFile: state, Serials: serials})
	}
	state := filepath.Join(t.TempDir(), "home", "profile-serials")
	l, err := load(state, systemDir(t, p6, signWith(t, admin, p6)))
	if err != nil || l.Profile.Serial != 6 || !l.Changed || l.PreviousSerial != 0 {
		t.Fatalf("serial 6: %+v, %v", l, err)
	}
	if got, err := serials.HighestSerial(admin.fpr); err != nil || got != 6 {
		t.Fatalf("keychain records %d, %v; want 6", got, err)
	}

	// The home's file deleted: the keychain still says 6.
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}
	if _, err := load(state, osDir); !errors.Is(err, ErrRollback) {
		t.Fatalf("after deleting profile-serials: %v, want ErrRollback", err)
	}
	// A fresh home: the same.
	fresh := filepath.Join(t.TempDir(), "fresh-home", "profile-serials")
	if _, err := load(fresh, osDir); !errors.Is(err, ErrRollback) {
		t.Fatalf("fresh home: %v, want ErrRollback", err)
	}
	// The keychain entry deleted but the home's file kept: the file still
	// says 6 (each floor stands on its own).
	l, err = load(fresh, systemDir(t, p6, signWith(t, admin, p6)))
	if err != nil || l.PreviousSerial != 6 || l.Changed {
		t.Fatalf("serial 6 again in a fresh home: %+v, %v", l, err)
	}
	if err := kc.Delete(serialEntry(admin.fpr)); err != nil {
		t.Fatal(err)
	}
	if _, err := load(fresh, osDir); !errors.Is(err, ErrRollback) {
		t.Fatalf("keychain entry deleted, home file kept: %v, want ErrRollback", err)
	}
	if got, _ := serials.HighestSerial(admin.fpr); got != 0 {
		t.Fatalf("a refused load recorded %d", got)
	}
	// The keychain entry is restored from the home's file by the next
	// accepted load.
	if _, err := load(fresh, systemDir(t, p6, signWith(t, admin, p6))); err != nil {
		t.Fatal(err)
	}
	if got, _ := serials.HighestSerial(admin.fpr); got != 6 {
		t.Fatalf("keychain not restored: %d", got)
	}
}

// failingSerials is a SerialMemory whose keychain cannot be reached.
type failingSerials struct{}

func (failingSerials) HighestSerial(string) (int64, error) {
	return 0, keychain.ErrUnavailable
}
func (failingSerials) RecordSerial(string, int64) error { return keychain.ErrUnavailable }

// TestLoadSerialsUnavailable: a managed build fails closed when the
// keychain floor cannot be read; an unconfigured one does not need it.
func TestLoadSerialsUnavailable(t *testing.T) {
	admin := loadAdmin(t, "admin")
	_, err := Load(LoadOptions{Baked: baked(t, admin, withSerial(t, 3)), Serials: failingSerials{}})
	if !errors.Is(err, keychain.ErrUnavailable) || !strings.Contains(err.Error(), "cannot be ruled out") {
		t.Fatalf("got %v, want a keychain error", err)
	}
	if l, err := Load(LoadOptions{SystemDir: t.TempDir(), Serials: failingSerials{}}); err != nil || l.Managed() {
		t.Fatalf("unconfigured: %+v, %v", l, err)
	}
}

func TestOSSystemDirIgnoresOverride(t *testing.T) {
	env := func(k string) string {
		if k == SystemDirEnv {
			return "/tmp/x"
		}
		return ""
	}
	if got := OSSystemDir("linux", env); got != "/etc/securesend" {
		t.Fatalf("OSSystemDir = %q", got)
	}
	if got := SystemDir("linux", env); got != "/tmp/x" {
		t.Fatalf("SystemDir = %q", got)
	}
}
