// Command fuzzgen writes the seed corpus of ack's FuzzParse into
// ack/testdata/fuzz/FuzzParse: acknowledgements of each kind made by
// ack.Write, the same cut short at several points, and hostile variants
// (a header bomb, nested boundaries, a JSON part with deep nesting, an
// oversize entity, bytes a terminal would act on). Run it from the
// repository's root: go run ./ack/testdata/fuzzgen
package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/internal/manifest"
)

const dir = "ack/testdata/fuzz/FuzzParse"

func main() {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	hash := strings.Repeat("9f", 32)
	base := ack.Receipt{OriginalMessageID: "abc123@clinic.example", Verdict: "verified",
		Documents:      []manifest.Document{{Name: "script.pdf", ContentType: "application/pdf", Size: 1234, SHA256: hash}},
		FinalRecipient: "pharmacy@pharmacy.example", Time: time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)}
	valid := map[string][]byte{}
	for _, v := range []struct {
		name   string
		kind   ack.Kind
		reason string
	}{{"received", ack.Received, ""}, {"accepted", ack.Accepted, "Dispensed at 10:05"}, {"rejected", ack.Rejected, "Dose looks wrong — please phone (Ōtautahi)"}} {
		r := base
		r.Kind, r.Reason = v.kind, v.reason
		var b bytes.Buffer
		if err := ack.Write(&b, &r); err != nil {
			log.Fatal(err)
		}
		valid[v.name] = b.Bytes()
		write("valid_"+v.name, b.Bytes())
	}
	// Three documents, so the JSON part spans several base64 lines.
	r := base
	r.Kind = ack.Received
	r.Documents = append(r.Documents, manifest.Document{Name: "b.pdf", ContentType: "application/pdf", Size: 1, SHA256: strings.Repeat("ab", 32)},
		manifest.Document{Name: "c.png", ContentType: "image/png", Size: 99, SHA256: strings.Repeat("cd", 32)})
	var b bytes.Buffer
	if err := ack.Write(&b, &r); err != nil {
		log.Fatal(err)
	}
	write("valid_three_documents", b.Bytes())

	// Cut short: in the header, in each part, just before the end.
	rec := valid["received"]
	for _, frac := range []int{5, 25, 50, 75, 95} {
		write("truncated_"+strconv.Itoa(frac), rec[:len(rec)*frac/100])
	}
	write("truncated_last_byte", rec[:len(rec)-1])

	// Hostile.
	bnd := boundary(rec)
	write("hostile_lf_only", bytes.ReplaceAll(rec, []byte("\r\n"), []byte("\n")))
	write("hostile_header_bomb", append([]byte(strings.Repeat("X-A: "+strings.Repeat("a", 900)+"\r\n", 200)), rec...))
	write("hostile_part_duplicated", dupPart(rec, bnd))
	write("hostile_nested_boundary", bytes.Replace(rec, []byte("Content-Type: text/plain; charset=utf-8"),
		[]byte("Content-Type: multipart/mixed; boundary=\""+bnd+"\""), 1))
	write("hostile_escape_in_reason", jsonPart(rec, bnd, `{"version":1,"kind":"rejected","original_message_id":"abc123@clinic.example","final_recipient":"pharmacy@pharmacy.example","verdict":"verified","reason":"\u001b]8;;http://x\u0007click\u001b[2J","time":"2026-12-07T09:30:00Z","documents":[]}`))
	write("hostile_deep_json", jsonPart(rec, bnd, strings.Repeat(`{"a":`, 5000)+"1"+strings.Repeat("}", 5000)))
	write("hostile_fractional_time", jsonPart(rec, bnd, `{"version":1,"kind":"received","original_message_id":"abc123@clinic.example","final_recipient":"pharmacy@pharmacy.example","verdict":"verified","time":"2026-12-07T09:30:00.123456789+13:00","documents":[{"name":"script.pdf","content_type":"application/pdf","size":1234,"sha256":"`+hash+`"}]}`))
	write("hostile_big_size", jsonPart(rec, bnd, `{"version":1,"kind":"received","original_message_id":"abc123@clinic.example","final_recipient":"pharmacy@pharmacy.example","verdict":"verified","time":"2026-12-07T09:30:00Z","documents":[{"name":"script.pdf","content_type":"application/pdf","size":-18446744073709551617,"sha256":"`+hash+`"}]}`))
	write("hostile_oversize", append(bytes.Clone(rec), bytes.Repeat([]byte("A"), ack.MaxEntity)...))
	write("hostile_nul_and_controls", bytes.Replace(rec, []byte("Reporting-UA:"), []byte("Reporting-UA:\x00\x1b[31m"), 1))
	write("hostile_folded_disposition", bytes.Replace(rec, []byte("Disposition: automatic-action"), []byte("Disposition:\r\n automatic-action"), 1))
}

// boundary is the multipart boundary of a written acknowledgement.
func boundary(b []byte) string {
	_, rest, _ := bytes.Cut(b, []byte(`boundary=`))
	end := bytes.IndexAny(rest, "\r\n;")
	return strings.Trim(string(rest[:end]), `"`)
}

// dupPart repeats the first part.
func dupPart(b []byte, bnd string) []byte {
	d := []byte("--" + bnd + "\r\n")
	i := bytes.Index(b, d)
	j := bytes.Index(b[i+len(d):], d)
	first := b[i : i+len(d)+j]
	return append(append(bytes.Clone(b[:i]), first...), b[i:]...)
}

// jsonPart replaces the JSON part's body with js, base64-encoded.
func jsonPart(b []byte, bnd, js string) []byte {
	marker := []byte("Content-Type: " + ack.MediaType)
	i := bytes.Index(b, marker)
	k := i + bytes.Index(b[i:], []byte("\r\n\r\n")) + 4
	end := bytes.Index(b[k:], []byte("\r\n--"+bnd+"--"))
	out := append([]byte{}, b[:k]...)
	out = append(out, base64.StdEncoding.EncodeToString([]byte(js))...)
	return append(out, b[k+end:]...)
}

func write(name string, data []byte) {
	body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		log.Fatal(err)
	}
}
