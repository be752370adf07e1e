package receive_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
)

// BenchmarkVerifyFile verifies a message from disk, for profiling Verify
// on real messages (such as the ones bench/compare keeps with KEEP=1):
//
//	VERIFY_DIR=/tmp/securesend-compare-XXXX VERIFY_MSG=gpg.eml \
//	  go test -run '^$' -bench VerifyFile -cpuprofile cpu.prof ./receive/
//
// VERIFY_DIR holds the message, recipient.sec (the secret key) and
// sender.pub (the signer's key, pinned). Skipped without VERIFY_DIR.
func BenchmarkVerifyFile(b *testing.B) {
	dir := os.Getenv("VERIFY_DIR")
	if dir == "" {
		b.Skip("VERIFY_DIR not set")
	}
	read := func(name string) *os.File {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		return f
	}
	f := read("recipient.sec")
	secret, err := pgp.ReadSecretKey(f, nil)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	store, err := pgp.OpenStore(b.TempDir(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	f = read("sender.pub")
	_, err = store.Import(f, pgp.ImportOptions{Pin: true})
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	msg := os.Getenv("VERIFY_MSG")
	if st, err := os.Stat(filepath.Join(dir, msg)); err == nil {
		b.SetBytes(st.Size())
	}
	for b.Loop() {
		f := read(msg)
		rep, err := receive.Verify(context.Background(), f, receive.VerifyOptions{Store: store, Secret: []*pgp.Key{secret}})
		f.Close()
		if err != nil || rep.Verdict != receive.Verified {
			b.Fatalf("%v %s %s", err, rep.Verdict, rep.Reason)
		}
	}
}
