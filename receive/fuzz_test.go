package receive_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
)

// FuzzVerify: no input makes Verify panic or return an I/O error for an
// in-memory message; every result has a verdict and a reason, and document
// names are sanitized. Run it bounded, e.g.
// go test -fuzz FuzzVerify -fuzztime 60s -fuzzminimizetime 50x
// (the default 60 s minimization per new input stalls short runs).
func FuzzVerify(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil && len(data) < 64<<10 {
			f.Add(data)
		}
	}
	ks := loadKeys(f)
	store := bobStore(f, ks)
	opts := receive.VerifyOptions{Store: store, Secret: []*pgp.Key{ks["bob"]}, MaxDecompressed: 1 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := receive.Verify(context.Background(), bytes.NewReader(data), opts)
		if err != nil {
			t.Fatalf("I/O error on in-memory input: %v", err)
		}
		if rep.Verdict == "" || rep.Reason == "" {
			t.Fatalf("no verdict: %+v", rep)
		}
		for _, d := range rep.Documents {
			if d.Name != receive.SanitizeName(d.Name) {
				t.Fatalf("unsanitized name %q", d.Name)
			}
		}
	})
}
