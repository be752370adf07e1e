package pgp_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
	"github.com/securesend/securesend/internal/demomail"
)

// fillStore generates an own key and pins another in a store, as demo
// mode does at every start.
func fillStore(t *testing.T, s *pgp.Store) pgp.Entry {
	t.Helper()
	own, err := s.Generate("Dr Demo", "demo@clinic.test")
	if err != nil {
		t.Fatal(err)
	}
	other := pgptest.Key(t, "Pharmacy", "rx@pharmacy.test")
	if _, err := s.Import(bytes.NewReader(pgptest.Armored(t, other.Public())), pgp.ImportOptions{Pin: true}); err != nil {
		t.Fatal(err)
	}
	return own
}

// TestVolatileStore: a volatile store holds the same files as a durable
// one (a normal OpenStore of its directory reads them, the secret key
// unlocks with the same secrets) and leaves no temporary files.
func TestVolatileStore(t *testing.T) {
	dir := t.TempDir()
	secrets := demomail.NewSecrets()
	s, err := pgp.OpenVolatileStore(dir, secrets, nil)
	if err != nil {
		t.Fatal(err)
	}
	own := fillStore(t, s)
	again, err := pgp.OpenStore(dir, secrets, nil)
	if err != nil {
		t.Fatal(err)
	}
	es, err := again.List()
	if err != nil || len(es) != 2 {
		t.Fatalf("reopened: %d entries (%v), want 2", len(es), err)
	}
	if _, err := again.SecretKey(own.Fingerprint); err != nil {
		t.Errorf("secret key: %v", err)
	}
	if pinned, err := again.PinnedFor("rx@pharmacy.test"); err != nil || len(pinned) != 1 {
		t.Errorf("pinned for rx@pharmacy.test: %v, %v", pinned, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "*", ".tmp-*"))
	top, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	if len(leftovers)+len(top) > 0 {
		t.Errorf("temporary files left: %v %v", leftovers, top)
	}
	for _, f := range append([]string{filepath.Join(dir, "index.json")}, mustGlob(t, filepath.Join(dir, "*", "*.asc"))...) {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v, want 0600", f, err, fi.Mode().Perm())
		}
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("glob %s: %v %v", pattern, m, err)
	}
	return m
}

// TestVolatileStoreSkipsFsync: filling a volatile store calls fsync
// not once; a durable store, every write (counted by strace on a run of
// this test binary; skipped without strace).
func TestVolatileStoreSkipsFsync(t *testing.T) {
	if mode := os.Getenv("PGP_STORE_FSYNC_HELPER"); mode != "" {
		open := pgp.OpenStore
		if mode == "volatile" {
			open = pgp.OpenVolatileStore
		}
		s, err := open(t.TempDir(), demomail.NewSecrets(), nil)
		if err != nil {
			t.Fatal(err)
		}
		fillStore(t, s)
		return
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("strace is not installed (CI=true, so this is a failure, not a skip); scripts/install-deps.sh test installs it")
		}
		t.Skip("strace not installed; scripts/install-deps.sh test installs it")
	}
	count := func(mode string) int {
		out, err := exec.Command(strace, "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", "/dev/stdout",
			os.Args[0], "-test.run", "^TestVolatileStoreSkipsFsync$", "-test.count", "1").CombinedOutput()
		if err != nil {
			t.Skipf("strace cannot trace here: %v\n%s", err, out)
		}
		n := 0
		for _, m := range regexp.MustCompile(`(?m)^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?f(?:data)?sync$`).FindAllSubmatch(out, -1) {
			k, _ := strconv.Atoi(string(m[1]))
			n += k
		}
		return n
	}
	t.Setenv("PGP_STORE_FSYNC_HELPER", "durable")
	durable := count("durable")
	t.Setenv("PGP_STORE_FSYNC_HELPER", "volatile")
	volatile := count("volatile")
	t.Logf("fsyncs: durable store %d, volatile store %d", durable, volatile)
	if durable == 0 {
		t.Fatal("strace counted no fsync for the durable store: the count does not work here")
	}
	if volatile != 0 {
		t.Errorf("the volatile store called fsync %d times, want 0", volatile)
	}
}
