package pgp_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgp/pgptest"
)

func TestAutocrypt(t *testing.T) {
	k := pgptest.Key(t, "Dr A", "a@clinic.test")
	v, err := k.Public().AutocryptHeader("A@clinic.test")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(v, "\r\n") {
		if len(line) > 78 {
			t.Errorf("header line too long: %d", len(line))
		}
	}
	addr, got, err := pgp.ParseAutocrypt(v)
	if err != nil || addr != "a@clinic.test" || got.Fingerprint() != k.Public().Fingerprint() {
		t.Fatalf("ParseAutocrypt = %q, %v, %v", addr, got, err)
	}
	bad := map[string]error{
		strings.Replace(v, "a@clinic.test", "b@clinic.test", 1):              pgp.ErrAddressNotInKey,
		"addr=a@clinic.test; critical=1; " + v[strings.Index(v, "keydata"):]: pgp.ErrBadKey,
		"addr=a@clinic.test; keydata=!!!":                                    pgp.ErrBadKey,
		"addr=a@clinic.test":                                                 pgp.ErrBadKey,
	}
	for in, want := range bad {
		if _, _, err := pgp.ParseAutocrypt(in); !errors.Is(err, want) {
			t.Errorf("ParseAutocrypt(%.60q) = %v, want %v", in, err, want)
		}
	}
	if _, _, err := pgp.ParseAutocrypt("_x=1; addr=a@clinic.test; prefer-encrypt=mutual; " + v[strings.Index(v, "keydata"):]); err != nil {
		t.Errorf("non-critical attributes refused: %v", err)
	}
}
