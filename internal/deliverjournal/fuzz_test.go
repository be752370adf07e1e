package deliverjournal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzOpenForged: whatever someone without the keychain's key writes as
// a journal of a sealed home, Open either refuses it or finds nothing in
// it (a torn line): no entry is ever trusted, and Open never panics.
// Fuzz with -parallel 1: the workers share the test's keychain namespace.
func FuzzOpenForged(f *testing.F) {
	f.Add([]byte(`{"key":"fpr/a","state":"done","doc":0,"time":"2026-12-08T09:00:00Z"}` + "\n"))
	f.Add([]byte(`{"seq":1,"key":"fpr/a","state":"done","doc":0,"time":"2026-12-08T09:00:00Z","mac":"` + strings.Repeat("0", 64) + `"}` + "\n"))
	f.Add([]byte(`{"seq":1,"key":"fpr/a","state":"skipped","doc":0,"time":"2026-12-08T09:00:00Z","mac":"` + strings.Repeat("0", 64) + `"}`))
	f.Add([]byte("\n\n{}\n"))
	kc := testKC(f, "drop-f.journal")
	dir := f.TempDir()
	p := filepath.Join(dir, "drop-f.journal")
	// Seal the home (the key and the mark exist, as after the upgrade).
	j, err := Open(p, kc)
	if err != nil {
		f.Fatal(err)
	}
	j.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		j, err := Open(p, kc)
		if err != nil {
			var se *SealError
			var ce *CorruptError
			if !errors.As(err, &se) && !errors.As(err, &ce) {
				t.Fatalf("Open: %v, want a SealError or CorruptError", err)
			}
			return
		}
		defer j.Close()
		if es := j.Entries(); len(es) != 0 {
			t.Fatalf("a forged journal was trusted: %+v", es)
		}
	})
}
