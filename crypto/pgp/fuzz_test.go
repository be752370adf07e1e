package pgp_test

import (
	"bytes"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
)

// FuzzImport: key import never panics, and what it accepts is bound only
// to addresses of the key's own user IDs.
// Run it bounded: go test -fuzz FuzzImport -fuzztime 60s -fuzzminimizetime 50x
func FuzzImport(f *testing.F) {
	k := pgptest.Key(f, "Fuzz Seed", "seed@test.invalid")
	f.Add(pgptest.Armored(f, k.Public()))
	var bin bytes.Buffer
	k.Entity().Serialize(&bin)
	f.Add(bin.Bytes())
	f.Add([]byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := pgp.OpenStore(t.TempDir(), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		e, err := s.Import(bytes.NewReader(data), pgp.ImportOptions{Emails: []string{"seed@test.invalid"}})
		if err != nil {
			return
		}
		pub, err := s.Public(e.Fingerprint)
		if err != nil {
			t.Fatalf("imported key cannot be read back: %v", err)
		}
		if !pub.HasEmail("seed@test.invalid") {
			t.Fatalf("key bound to an address it does not carry: %v", pub.UserIDs())
		}
		if _, err := pgp.ReadSecretKey(bytes.NewReader(data), nil); err == nil {
			// Accepting a secret key is fine; the store must hold only the public part.
			var b bytes.Buffer
			pub.WriteArmored(&b)
			if bytes.Contains(b.Bytes(), []byte("PRIVATE")) {
				t.Fatal("secret material stored")
			}
		}
	})
}
