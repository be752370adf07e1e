package pgpmime

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
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

// referenceArmor is the armor armorWriter must write, made with
// encoding/base64 and plain string handling.
func referenceArmor(data []byte) string {
	enc := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	b.WriteString("-----BEGIN PGP MESSAGE-----\r\n\r\n")
	for len(enc) > 0 {
		k := min(76, len(enc))
		b.WriteString(enc[:k] + "\r\n")
		enc = enc[k:]
	}
	sum := crc24Sum(crc24Update(crc24Init, data))
	b.WriteString("=" + base64.StdEncoding.EncodeToString([]byte{byte(sum >> 16), byte(sum >> 8), byte(sum)}) + "\r\n")
	b.WriteString("-----END PGP MESSAGE-----\r\n")
	return b.String()
}

// TestArmorWriterExact: armorWriter writes exactly the reference armor
// whatever the length (around a line, a base64 quantum and the 64 KiB
// output buffer) and however the input is cut into writes.
func TestArmorWriterExact(t *testing.T) {
	data := make([]byte, 300000)
	rand.Read(data)
	for _, n := range []int{0, 1, 2, 3, 56, 57, 58, 113, 114, 115, 57 * 840, 57*840 + 1, 57*841 - 1, 300000} {
		for _, chunk := range []int{1, 7, 57, 100, 4096, 1 << 20} {
			if chunk == 1 && n > 5000 {
				continue
			}
			var b bytes.Buffer
			w := newArmorWriter(&b, "PGP MESSAGE")
			for i := 0; i < n; i += chunk {
				if k, err := w.Write(data[i:min(i+chunk, n)]); err != nil || k != min(chunk, n-i) {
					t.Fatalf("n=%d chunk=%d: wrote %d, %v", n, chunk, k, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if want := referenceArmor(data[:n]); b.String() != want {
				t.Fatalf("n=%d chunk=%d: armor differs from the reference (%d bytes, want %d)", n, chunk, b.Len(), len(want))
			}
		}
	}
}

// TestEncodeLine: the pair-table encoder agrees with encoding/base64 on
// every value of a 3-byte group's bits.
func TestEncodeLine(t *testing.T) {
	src := make([]byte, 0, 3<<16)
	for v := range 1 << 16 { // every 16-bit prefix, with varied last bytes
		src = append(src, byte(v>>8), byte(v), byte(v*7))
	}
	dst := make([]byte, len(src)/3*4)
	encodeLine(dst, src)
	if want := base64.StdEncoding.EncodeToString(src); string(dst) != want {
		t.Fatal("encodeLine differs from encoding/base64")
	}
}
