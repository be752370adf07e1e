package profile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// withSerial returns the good fixture with serial n.
func withSerial(t *testing.T, n int) []byte {
	t.Helper()
	data := readFile(t, "testdata/good_two_pharmacies_must_encrypt.toml")
	out := bytes.Replace(data, []byte("serial = 3\n"), fmt.Appendf(nil, "serial = %d\n", n), 1)
	if bytes.Equal(out, data) && n != 3 {
		t.Fatal("fixture has no 'serial = 3' line")
	}
	return out
}

func baked(t *testing.T, a testAdmin, data []byte) Baked {
	b := Baked{Fingerprint: a.fpr, AdminKey: a.pub}
	if data != nil {
		b.Profile, b.Signature = data, signWith(t, a, data)
	}
	return b
}

// systemDir writes a system-wide profile (and its signature, when sig is
// not nil) into a new directory.
func systemDir(t *testing.T, data, sig []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ProfileFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if sig != nil {
		if err := os.WriteFile(filepath.Join(dir, SignatureFile), sig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// signedDir writes the good fixture with serial n, signed by a, into a new
// system-wide directory.
func signedDir(t *testing.T, a testAdmin, n int) string {
	t.Helper()
	p := withSerial(t, n)
	return systemDir(t, p, signWith(t, a, p))
}

// loadCase is one call of Load and what it must give: wantErr, or else a
// profile with serial wantSerial (0: unmanaged, no profile at all).
type loadCase struct {
	name       string
	opts       func(t *testing.T) LoadOptions
	wantErr    error
	wantSerial int64
}

// runLoadCases runs each case as a subtest. A refused load must return no
// Loaded at all.
func runLoadCases(t *testing.T, cases []loadCase) {
	t.Helper()
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
			switch {
			case c.wantSerial == 0 && l.Managed():
				t.Fatalf("managed with serial %d, want unmanaged", l.Profile.Serial)
			case c.wantSerial != 0 && !l.Managed():
				t.Fatalf("unmanaged, want serial %d", c.wantSerial)
			case c.wantSerial != 0 && l.Profile.Serial != c.wantSerial:
				t.Fatalf("serial %d, want %d", l.Profile.Serial, c.wantSerial)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	admin, other := loadAdmin(t, "admin"), loadAdmin(t, "other_admin")
	p3, p5 := withSerial(t, 3), withSerial(t, 5)
	tampered := bytes.Replace(p5, []byte(`encryption = "domains"`), []byte(`encryption = "auto"   `), 1)
	cases := []struct {
		name       string
		opts       func(t *testing.T) LoadOptions
		wantSource string // "embedded", "system", "" (unmanaged)
		wantSerial int64
		wantErr    error
	}{
		{"unconfigured build, nothing installed", func(t *testing.T) LoadOptions {
			return LoadOptions{SystemDir: t.TempDir()}
		}, "", 0, nil},
		{"baked profile", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, p3), SystemDir: t.TempDir()}
		}, "embedded", 3, nil},
		{"newer system-wide profile replaces baked", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, p3), SystemDir: systemDir(t, p5, signWith(t, admin, p5))}
		}, "system", 5, nil},
		{"older system-wide profile loses to baked", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, p5), SystemDir: systemDir(t, p3, signWith(t, admin, p3))}
		}, "embedded", 5, nil},
		{"pinned key only, profile system-wide", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, nil), SystemDir: systemDir(t, p5, signWith(t, admin, p5))}
		}, "system", 5, nil},
		{"tampered system-wide profile", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, p3), SystemDir: systemDir(t, tampered, signWith(t, admin, p5))}
		}, "", 0, ErrTampered},
		{"unsigned system-wide profile", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, nil), SystemDir: systemDir(t, p5, nil)}
		}, "", 0, ErrUnsigned},
		{"system-wide profile signed by another key", func(t *testing.T) LoadOptions {
			return LoadOptions{Baked: baked(t, admin, nil), SystemDir: systemDir(t, p5, signWith(t, other, p5))}
		}, "", 0, ErrWrongKey},
		{"unconfigured build with a system-wide profile", func(t *testing.T) LoadOptions {
			dir := systemDir(t, p5, signWith(t, other, p5))
			os.WriteFile(filepath.Join(dir, AdminKeyFile), other.pub, 0o644)
			return LoadOptions{SystemDir: dir}
		}, "", 0, ErrNoPinnedKey},
		{"baked profile tampered after signing", func(t *testing.T) LoadOptions {
			b := baked(t, admin, p5)
			b.Profile = tampered
			return LoadOptions{Baked: b}
		}, "", 0, ErrTampered},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := Load(c.opts(t))
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) || l != nil {
					t.Fatalf("got %v, %v; want %v", l, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.wantSource == "" && l.Managed():
				t.Fatalf("managed by %s", l.Source)
			case c.wantSource == "embedded" && l.Source != "embedded",
				c.wantSource == "system" && filepath.Base(l.Source) != ProfileFile:
				t.Fatalf("source %q, want %s", l.Source, c.wantSource)
			case c.wantSource != "" && l.Profile.Serial != c.wantSerial:
				t.Fatalf("serial %d, want %d", l.Profile.Serial, c.wantSerial)
			}
		})
	}
}

func TestLoadRefusesRollback(t *testing.T) {
	admin, other := loadAdmin(t, "admin"), loadAdmin(t, "other_admin")
	state := filepath.Join(t.TempDir(), "home", "profile-serials")
	steps := []struct {
		admin   testAdmin
		serial  int
		want    error
		prev    int64
		changed bool
	}{
		{admin, 4, nil, 0, true},
		{admin, 4, nil, 4, false},         // same version again
		{admin, 6, nil, 4, true},          // update
		{admin, 5, ErrRollback, 0, false}, // rollback
		{other, 1, nil, 0, true},          // another organisation's key has its own count
		{admin, 6, nil, 6, false},         // still fine
		{admin, 2, ErrRollback, 0, false}, // still refused
		{other, 1, nil, 1, false},
	}
	for i, s := range steps {
		l, err := Load(LoadOptions{Baked: baked(t, s.admin, withSerial(t, s.serial)), StateFile: state})
		if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Fatalf("step %d (serial %d): got %v, want %v", i, s.serial, err, s.want)
		}
		if err == nil && (l.PreviousSerial != s.prev || l.Changed != s.changed) {
			t.Fatalf("step %d: previous %d changed %v, want %d %v", i, l.PreviousSerial, l.Changed, s.prev, s.changed)
		}
	}
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
}

func TestBakedFromFS(t *testing.T) {
	admin := loadAdmin(t, "admin")
	empty, err := BakedFromFS(fstest.MapFS{"README.md": {Data: []byte("x")}})
	if err != nil || empty.Configured() {
		t.Fatalf("empty: %+v %v", empty, err)
	}
	data := withSerial(t, 7)
	b, err := BakedFromFS(fstest.MapFS{
		ProfileFile:     {Data: data},
		SignatureFile:   {Data: signWith(t, admin, data)},
		AdminKeyFile:    {Data: admin.pub},
		FingerprintFile: {Data: []byte(admin.fpr + "\n")},
	})
	if err != nil || !b.Configured() {
		t.Fatal(err)
	}
	l, err := Load(LoadOptions{Baked: b})
	if err != nil || l.Profile.Serial != 7 {
		t.Fatal(err)
	}
}

func TestSystemDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		goos string
		env  map[string]string
		want string
	}{
		{"linux", nil, "/etc/securesend"},
		{"freebsd", nil, "/etc/securesend"},
		{"darwin", nil, "/Library/Application Support/securesend"},
		{"windows", map[string]string{"ProgramData": `D:\PD`}, `D:\PD\securesend`},
		{"windows", nil, `C:\ProgramData\securesend`},
		{"linux", map[string]string{SystemDirEnv: "/tmp/x"}, "/tmp/x"},
	}
	for _, c := range cases {
		if got := SystemDir(c.goos, env(c.env)); got != c.want {
			t.Errorf("%s %v: %q, want %q", c.goos, c.env, got, c.want)
		}
	}
}
