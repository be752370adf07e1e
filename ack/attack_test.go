package ack

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// attackNotification is a valid RFC 8098 part for testReceipt(Accepted).
const attackNotification = "Reporting-UA: securesend; securesend\r\nFinal-Recipient: rfc822; pharmacy@pharmacy.example\r\n" +
	"Original-Message-ID: <abc123@clinic.example>\r\nDisposition: manual-action/MDN-sent-manually; processed\r\n"

// attackJSON is the JSON part of testReceipt(Accepted) with extra inserted
// just after the opening brace and documents replaced by docs when docs
// is not empty.
func attackJSON(extra, docs string) []byte {
	if docs == "" {
		docs = `[{"name":"script.pdf","content_type":"application/pdf","size":1234,"sha256":"` + testHash + `"}]`
	}
	return []byte(`{` + extra + `"version":1,"kind":"accepted","original_message_id":"abc123@clinic.example",` +
		`"final_recipient":"pharmacy@pharmacy.example","verdict":"verified","time":"2026-12-07T09:30:00Z","documents":` + docs + `}`)
}

// Attacks on the JSON part by a signer of acknowledgements: every one is
// refused with ErrInvalid and an error that quotes nothing of the part.
// encoding/json matches keys without regard to case (and folds the
// Kelvin sign to k, the long s to s), so "Kind" or "\u212aind" beside
// "kind" would be a second value for the same field that the exact
// duplicate check did not see, and a reader of the JSON other than Go's
// would read the other one.
func TestAckAttackJSON(t *testing.T) {
	doc := `{"name":"script.pdf","content_type":"application/pdf","size":1234,"sha256":"` + testHash + `"}`
	deep := strings.Repeat(`[`, 10000) + strings.Repeat(`]`, 10000)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"duplicate key", attackJSON(`"kind":"rejected",`, ""), "names a key twice"},
		{"duplicate key differing in case", attackJSON(`"Kind":"rejected",`, ""), "names a key"},
		{"duplicate key with Kelvin sign", attackJSON(`"\u212aind":"rejected",`, ""), "names a key"},
		{"duplicate key with Kelvin sign unescaped", attackJSON("\"\u212aind\":\"rejected\",", ""), "names a key"},
		{"upper-case key alone", bytes.Replace(attackJSON("", ""), []byte(`"kind"`), []byte(`"KIND"`), 1), "names a key"},
		{"duplicate key in a document", attackJSON("", `[{"sha256":"`+strings.Repeat("0", 64)+`",`+doc[1:]+`]`), "names a key twice"},
		{"duplicate key in a document differing in case", attackJSON("", `[{"SHA256":"`+strings.Repeat("0", 64)+`",`+doc[1:]+`]`), "names a key"},
		{"deep nesting", attackJSON(`"x":`+deep+`,`, ""), "nested too deeply"},
		{"huge array of documents", attackJSON("", "["+strings.Repeat(doc+",", 400)+doc+"]"), "more than 100 documents"},
		{"huge array of numbers", attackJSON(`"x":[`+strings.Repeat("1,", 20000)+`1],`, ""), "not valid JSON or has a field"},
		{"non-UTF-8", append(attackJSON("", ""), 0xff), "not valid UTF-8"},
		{"non-UTF-8 in a string", bytes.Replace(attackJSON("", ""), []byte("script.pdf"), []byte("script\xc0.pdf"), 1), "not valid UTF-8"},
		{"two objects", append(attackJSON("", ""), attackJSON("", "")...), "JSON part"},
		{"null documents", attackJSON("", "null"), "documents is missing"},
		{"over the bound", append(attackJSON("", ""), bytes.Repeat([]byte(" "), MaxJSON)...), "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseParts([]byte(attackNotification), tt.data)
			if err == nil {
				t.Fatalf("parsed: %+v", r)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want ErrInvalid with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "rejected") || strings.Contains(err.Error(), "script") {
				t.Errorf("error quotes content: %q", err)
			}
		})
	}
	// The untouched part parses: the attacks above fail for their own
	// reason.
	if _, err := ParseParts([]byte(attackNotification), attackJSON("", "")); err != nil {
		t.Fatal(err)
	}
}

// A multipart/report with 1,000 parts, or the three parts followed by
// many more, is refused after the fourth part without reading the rest
// into parts; one over MaxEntity is refused before parsing.
func TestAckAttackManyParts(t *testing.T) {
	in := testReceipt(Accepted, "")
	var good bytes.Buffer
	if err := Write(&good, &in); err != nil {
		t.Fatal(err)
	}
	head, body, _ := strings.Cut(good.String(), "\r\n\r\n")
	_, params, _ := strings.Cut(head, "boundary=")
	boundary := strings.Trim(strings.Fields(params)[0], `";`)
	closing := "--" + boundary + "--"
	for _, tt := range []struct {
		n    int
		want string
	}{{100, "more than the three parts"}, {1000, "larger than"}} {
		extra := ""
		for i := 0; i < tt.n; i++ {
			extra += fmt.Sprintf("--%s\r\nContent-Type: %s\r\n\r\nx\r\n", boundary, NotificationType)
		}
		many := head + "\r\n\r\n" + strings.Replace(body, closing, strings.TrimSuffix(extra, "\r\n")+"\r\n"+closing, 1)
		_, err := Parse(strings.NewReader(many))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("three parts and %d more: %v, want %q", tt.n, err, tt.want)
		}
	}
	small := "Content-Type: multipart/report; report-type=disposition-notification; boundary=b\r\n\r\n" +
		strings.Repeat("--b\r\nContent-Type: message/disposition-notification\r\n\r\nx\r\n", 1000) + "--b--\r\n"
	if _, err := Parse(strings.NewReader(small)); err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "part 1 is not text/plain") {
		t.Errorf("1,000 notification parts: %v", err)
	}
}

// A rejection's reason is shown in the CLI, its JSON and the Sent tab: a
// reason with an escape sequence, a bidi override, an invisible
// character, a line break or invalid UTF-8 is refused when parsed, so no
// stored acknowledgement holds one.
func TestAckAttackReasonUnsafe(t *testing.T) {
	for _, reason := range []string{"ok\x1b[2J", "ok\u202egnp.exe", "o\u200bk", "line\nbreak", "line\u2028break", "nul\x00", "\u2066isolate\u2069"} {
		t.Run(fmt.Sprintf("%q", reason), func(t *testing.T) {
			in := testReceipt(Rejected, "x")
			data, err := marshal(&in)
			if err != nil {
				t.Fatal(err)
			}
			data = bytes.Replace(data, []byte(`"reason":"x"`), []byte(`"reason":`+strconvQuote(reason)), 1)
			n := strings.Replace(attackNotification, "processed", "deleted", 1)
			if r, err := ParseParts([]byte(n), data); err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "reason") {
				t.Errorf("reason %q: %v, %+v", reason, err, r)
			}
		})
	}
}

// strconvQuote is s as a JSON string with every non-ASCII rune escaped.
func strconvQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r < 0x20 || r >= 0x7f || r == '"' || r == '\\' {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
