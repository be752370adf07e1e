package profile

import (
	"os"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/good_two_pharmacies_must_encrypt.toml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	data, err := os.ReadFile("testdata/good_two_pharmacies_must_encrypt.toml")
	if err != nil {
		b.Fatal(err)
	}
	priv, _ := os.ReadFile("testdata/admin_TEST_ONLY.private.asc")
	pub, _ := os.ReadFile("testdata/admin_TEST_ONLY.asc")
	fpr, _ := os.ReadFile("testdata/admin_TEST_ONLY.fingerprint")
	sig, err := Sign(data, priv, []byte(testPassphrase))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Verify(data, sig, pub, string(fpr)); err != nil {
			b.Fatal(err)
		}
	}
}
