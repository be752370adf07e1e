package pgpmime

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// TestArmorWriter checks our armor against go-crypto's decoder (which
// verifies the CRC-24) for lengths around the line and base64 block sizes.
func TestArmorWriter(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 56, 57, 58, 114, 1000, 100000} {
		data := bytes.Repeat([]byte("abcdefghijklm\x00\xff"), n/15+1)[:n]
		var b bytes.Buffer
		w := newArmorWriter(&b, "PGP MESSAGE")
		for i := 0; i < len(data); i += 7 {
			w.Write(data[i:min(i+7, len(data))])
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\r\n"), "\r\n") {
			if len(line) > 76 || strings.Contains(line, "\n") {
				t.Fatalf("n=%d: bad line %q", n, line)
			}
		}
		block, err := armor.Decode(&b)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		got, err := io.ReadAll(block.Body)
		if err != nil {
			t.Fatalf("n=%d: %v (checksum?)", n, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("n=%d: round trip differs", n)
		}
	}
}

func TestArmorReader(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 56, 57, 58, 1000, 100000} {
		data := bytes.Repeat([]byte("abcdefghijklm\x00\xff"), n/15+1)[:n]
		// go-crypto's armor (LF, headers, CRC) and ours (CRLF, no CRC).
		var theirs, ours bytes.Buffer
		aw, _ := armor.Encode(&theirs, "PGP MESSAGE", map[string]string{"Comment": "x"})
		aw.Write(data)
		aw.Close()
		w := newArmorWriter(&ours, "PGP MESSAGE")
		w.Write(data)
		w.Close()
		for name, enc := range map[string][]byte{"go-crypto": theirs.Bytes(), "ours": ours.Bytes()} {
			got, err := io.ReadAll(ArmorReader(bytes.NewReader(append([]byte("preamble\r\n"), enc...))))
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("n=%d %s: %v, round trip equal=%v", n, name, err, bytes.Equal(got, data))
			}
		}
	}
	bad := map[string]string{
		"truncated":  "-----BEGIN PGP MESSAGE-----\n\nAAAA\n",
		"bad base64": "-----BEGIN PGP MESSAGE-----\n\n!!!!\n-----END PGP MESSAGE-----\n",
		"no begin":   "AAAA\n",
		"odd line":   "-----BEGIN PGP MESSAGE-----\n\nAAAA\n-- x\n",
		"long line":  "-----BEGIN PGP MESSAGE-----\n\n" + strings.Repeat("A", 100000) + "\n",
	}
	for name, in := range bad {
		if _, err := io.ReadAll(ArmorReader(strings.NewReader(in))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
