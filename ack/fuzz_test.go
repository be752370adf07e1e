package ack

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/securesend/securesend/internal/termsafe"
)

// FuzzParse: no input makes Parse panic or fail with anything but an
// *Error wrapping ErrInvalid whose text is safe for a terminal, and every
// acknowledgement it accepts is valid and survives Write and Parse again
// unchanged. The seed corpus (testdata/fuzz/FuzzParse, made by
// testdata/fuzzgen) holds acknowledgements of each kind made by Write,
// the same cut short, and hostile variants; the .eml fixtures are added
// here too.
func FuzzParse(f *testing.F) {
	emls, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range emls {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(bytes.NewReader(b))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %q (%T) is not an *ack.Error wrapping ErrInvalid", err, err)
			}
			if s := err.Error(); termsafe.String(s) != s {
				t.Fatalf("error text is not safe for a terminal: %q", s)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("accepted an acknowledgement that does not validate: %v", err)
		}
		var out bytes.Buffer
		w := *r // Write normalizes its argument; compare with what Parse gave
		if err := Write(&out, &w); err != nil {
			t.Fatalf("accepted an acknowledgement Write refuses: %v", err)
		}
		again, err := Parse(&out)
		if err != nil {
			t.Fatalf("Write's form of an accepted acknowledgement does not parse: %v", err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip changed the acknowledgement:\n got %+v\nwant %+v", again, r)
		}
		if strings.ContainsAny(out.String(), "\x00") {
			t.Fatal("Write wrote a NUL")
		}
	})
}
