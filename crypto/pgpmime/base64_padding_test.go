package pgpmime_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/pgpmime"
)

// TestBase64ReaderDataAfterPadding: padding ends base64 data (RFC 2045
// section 6.8); decoders differ on what follows it (Python's email
// package stops there: "QUJD\r\nRA==\r\nRUZH" is "ABCD" for it, "ABCDEFG"
// for a decoder that goes on), so anything but white space after it is
// ErrMalformed, however the lines fall.
func TestBase64ReaderDataAfterPadding(t *testing.T) {
	long := strings.Repeat("QUJD", 20000) // beyond the reader's buffer
	for _, c := range []struct {
		name, in, want string
		bad            bool
	}{
		{"padded end", "QUJD\r\nRA==\r\n", "ABCD", false},
		{"padded end, white space after", "QUJD\r\nRA==\r\n \t\r\n\r\n", "ABCD", false},
		{"unpadded", "QUJD\r\nRUZH\r\n", "ABCEFG", false},
		{"line after the padded one", "QUJD\r\nRA==\r\nRUZH\r\n", "", true},
		{"data after the padding on its line", "QUJD\r\nRA==RUZH\r\n", "", true},
		{"a partial quantum after the padding", "QUJD\r\nRA==RU\r\n", "", true},
		{"padding split across lines", "QUJD\r\nRA=\r\n=RUZH\r\n", "", true},
		{"many lines after the padding", "RA==\r\n" + long + "\r\n", "", true},
		{"many lines after the padding, LF", "RA==\n" + strings.ReplaceAll(long, "QUJDQUJD", "QUJDQUJD\n"), "", true},
	} {
		got, err := io.ReadAll(pgpmime.Base64Reader(strings.NewReader(c.in)))
		if c.bad {
			if !errors.Is(err, pgpmime.ErrMalformed) {
				t.Errorf("%s: %.40q, %v; want ErrMalformed", c.name, got, err)
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %.40q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
