package home

import (
	"path/filepath"
	"testing"
)

func TestResolveOverride(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	ha, err := Resolve(func(k string) string {
		if k == EnvVar {
			return a
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if ha.Dir != a {
		t.Fatalf("Dir = %q, want %q", ha.Dir, a)
	}
	hb, _ := Resolve(func(string) string { return b })
	if ha.KeychainService() == hb.KeychainService() {
		t.Fatalf("two homes share keychain service %q", ha.KeychainService())
	}
	if got := ha.Path("x", "y"); got != filepath.Join(a, "x", "y") {
		t.Fatalf("Path = %q", got)
	}
}
