package ack

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/internal/manifest"
)

const testHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

func testReceipt(k Kind, reason string) Receipt {
	return Receipt{OriginalMessageID: "abc123@clinic.example", Kind: k, Reason: reason, Verdict: "verified",
		Documents:      []manifest.Document{{Name: "script.pdf", ContentType: "application/pdf", Size: 1234, SHA256: testHash}},
		FinalRecipient: "pharmacy@pharmacy.example", Time: time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)}
}

// Every kind written by Write parses back to the same Receipt, with the
// RFC 8098 Disposition of its kind in the standard part.
func TestAckRoundTrip(t *testing.T) {
	tests := []struct {
		kind   Kind
		reason string
		disp   string
	}{
		{Received, "", "Disposition: automatic-action/MDN-sent-automatically; processed"},
		{Accepted, "", "Disposition: manual-action/MDN-sent-manually; processed"},
		{Accepted, "Dispensed at 10:05", "Disposition: manual-action/MDN-sent-manually; processed"},
		{Rejected, "Dose looks wrong — please phone us (Ōtautahi)", "Disposition: manual-action/MDN-sent-manually; deleted"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			in := testReceipt(tt.kind, tt.reason)
			var b bytes.Buffer
			if err := Write(&b, &in); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tt.disp+"\r\n") {
				t.Errorf("no %q in\n%s", tt.disp, b.String())
			}
			for i := 0; i < b.Len(); i++ {
				if b.Bytes()[i] >= 0x80 {
					t.Fatalf("byte %d is not 7-bit", i)
				}
			}
			if strings.Contains(strings.ReplaceAll(b.String(), "\r\n", ""), "\n") {
				t.Error("a bare LF in the entity")
			}
			got, err := Parse(&b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, in) {
				t.Errorf("got %+v\nwant %+v", *got, in)
			}
		})
	}
}

// The fixtures in testdata: the good ones parse, each bad one is refused
// with ErrInvalid and a reason that names what is wrong.
func TestAckParseFixtures(t *testing.T) {
	good := map[string]Kind{"received.eml": Received, "accepted.eml": Accepted, "rejected.eml": Rejected}
	for name, kind := range good {
		r := open(t, name)
		if r.Kind != kind || r.OriginalMessageID != "abc123@clinic.example" || r.FinalRecipient != "pharmacy@pharmacy.example" ||
			len(r.Documents) != 1 || r.Documents[0].SHA256 != testHash {
			t.Errorf("%s: %+v", name, r)
		}
	}
	bad := []struct {
		file, want string
	}{
		{"bad_disposition_mismatch.eml", "Disposition does not match the kind"},
		{"bad_original_id_mismatch.eml", "Original-Message-ID differs"},
		{"bad_final_recipient_mismatch.eml", "Final-Recipient differs"},
		{"bad_two_dispositions.eml", "Disposition must appear exactly once"},
		{"bad_report_type.eml", "not a disposition notification"},
		{"bad_not_report.eml", "not a multipart/report"},
		{"bad_missing_json_part.eml", "fewer than the three parts"},
		{"bad_extra_part.eml", "more than the three parts"},
		{"bad_parts_out_of_order.eml", "part 1 is not text/plain"},
		{"bad_json_unknown_key.eml", "version 1 does not define"},
		{"bad_json_duplicate_key.eml", "names a key twice"},
		{"bad_json_version2.eml", "version is missing or not 1"},
		{"bad_json_escape_in_reason.eml", "reason contains a control"},
		{"bad_json_bad_hash.eml", "sha256 is not a SHA-256"},
		{"bad_json_received_with_reason.eml", "only with accepted or rejected"},
		{"bad_base64.eml", "broken base64"},
	}
	for _, tt := range bad {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := Parse(f)
			if err == nil {
				t.Fatalf("parsed: %+v", r)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want ErrInvalid with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "evil") || strings.Contains(err.Error(), "\x1b") {
				t.Errorf("error quotes content: %q", err)
			}
		})
	}
}

func open(t *testing.T, name string) *Receipt {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

// Write refuses a Receipt that Parse would refuse, naming the field.
func TestAckValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Receipt)
		want   string
	}{
		{"no message id", func(r *Receipt) { r.OriginalMessageID = "" }, "original message id is missing"},
		{"message id with brackets", func(r *Receipt) { r.OriginalMessageID = "<a@b>" }, "character a Message-ID cannot"},
		{"unknown kind", func(r *Receipt) { r.Kind = "dispensed" }, "kind is not"},
		{"rejection without reason", func(r *Receipt) { r.Kind = Rejected }, "required for a rejection"},
		{"blank rejection reason", func(r *Receipt) { r.Kind, r.Reason = Rejected, "   " }, "required for a rejection"},
		{"reason on received", func(r *Receipt) { r.Reason = "x" }, "only with accepted or rejected"},
		{"multi-line reason", func(r *Receipt) { r.Kind, r.Reason = Rejected, "a\r\nBcc: x@y" }, "control"},
		{"bidi in reason", func(r *Receipt) { r.Kind, r.Reason = Rejected, "ok \u202e fdp.exe" }, "bidi"},
		{"reason too long", func(r *Receipt) { r.Kind, r.Reason = Rejected, strings.Repeat("x", MaxReason+1) }, "longer than"},
		{"no verdict", func(r *Receipt) { r.Verdict = "" }, "verdict is missing"},
		{"odd verdict", func(r *Receipt) { r.Verdict = "Verified!" }, "not a verdict"},
		{"upper-case hash", func(r *Receipt) { r.Documents[0].SHA256 = strings.ToUpper(testHash) }, "lower-case hex"},
		{"negative size", func(r *Receipt) { r.Documents[0].Size = -1 }, "negative"},
		{"no document name", func(r *Receipt) { r.Documents[0].Name = "" }, "name is missing"},
		{"too many documents", func(r *Receipt) { r.Documents = make([]manifest.Document, MaxDocuments+1) }, "more than"},
		{"upper-case recipient", func(r *Receipt) { r.FinalRecipient = "Pharmacy@pharmacy.example" }, "lower-case"},
		{"no recipient", func(r *Receipt) { r.FinalRecipient = "" }, "final recipient is missing"},
		{"no time", func(r *Receipt) { r.Time = time.Time{} }, "time is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testReceipt(Received, "")
			tt.change(&r)
			var b bytes.Buffer
			err := Write(&b, &r)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if b.Len() != 0 {
				t.Error("wrote something for an invalid receipt")
			}
		})
	}
}

// Parse reads at most MaxEntity bytes: a huge entity is refused without
// being read whole.
func TestAckParseBounds(t *testing.T) {
	huge := "Content-Type: multipart/report; report-type=disposition-notification; boundary=x\r\n\r\n--x\r\n" +
		"Content-Type: text/plain\r\n\r\n" + strings.Repeat("a", MaxEntity) + "\r\n--x--\r\n"
	if _, err := Parse(strings.NewReader(huge)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("error %v", err)
	}
	big := bytes.Repeat([]byte("X-Ext: y\r\n"), MaxNotification/10+1)
	if _, err := ParseParts(big, []byte("{}")); err == nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v", err)
	}
	if _, err := ParseParts([]byte("Reporting-UA: x\r\n"), bytes.Repeat([]byte(" "), MaxJSON+1)); err == nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v", err)
	}
}

// Unknown RFC 8098 extension fields are ignored; header folding is read.
func TestAckParsePartsExtensionFields(t *testing.T) {
	in := testReceipt(Accepted, "")
	data, err := marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	n := "Reporting-UA: securesend\r\nX-Other: 1\r\nFinal-Recipient: rfc822;\r\n Pharmacy@pharmacy.example\r\nOriginal-Message-ID: <abc123@clinic.example>\r\n" +
		"Disposition: manual-action/MDN-sent-manually;   processed\r\n"
	r, err := ParseParts([]byte(n), data)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != Accepted {
		t.Errorf("kind %s", r.Kind)
	}
}

// TestAckParseFieldControls: a control, bidi or invisible character in
// any RFC 8098 field Parse reads (Reporting-UA, which it never uses,
// included) is refused, naming the field and not quoting it; blanks and
// tabs between words, and folding, are read as before.
func TestAckParseFieldControls(t *testing.T) {
	in := testReceipt(Accepted, "")
	data, err := marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	good := map[string]string{
		"Reporting-UA":        "securesend; securesend",
		"Final-Recipient":     "rfc822; pharmacy@pharmacy.example",
		"Original-Message-ID": "<abc123@clinic.example>",
		"Disposition":         "manual-action/MDN-sent-manually; processed",
	}
	order := []string{"Reporting-UA", "Final-Recipient", "Original-Message-ID", "Disposition"}
	entity := func(field, value string) []byte {
		var b strings.Builder
		for _, f := range order {
			v := good[f]
			if f == field {
				v = value
			}
			b.WriteString(f + ": " + v + "\r\n")
		}
		return []byte(b.String())
	}
	tests := []struct {
		field, value string
		ok           bool
	}{
		{"Reporting-UA", "securesend; securesend", true},
		{"Reporting-UA", "securesend;\tsecuresend", true},
		{"Reporting-UA", "securesend;\r\n securesend", true}, // folded
		{"Reporting-UA", "securesend\x00", false},
		{"Reporting-UA", "securesend \x1b[2J\x1b[31mVERIFIED", false},
		{"Reporting-UA", "securesend\x7f", false},
		{"Reporting-UA", "securesend \u0085", false},
		{"Reporting-UA", "securesend \u202egnp.exe", false},
		{"Reporting-UA", "secure\u200bsend", false},
		{"Reporting-UA", "securesend\u2028", false},
		{"Reporting-UA", "securesend \u009b31m", false},
		{"Reporting-UA", "secure\ufe0fsend", false},                // a variation selector
		{"Reporting-UA", "secure\U000e0100send", false},            // a variation selector, supplement
		{"Reporting-UA", "secure\u034fsend", false},                // combining grapheme joiner
		{"Reporting-UA", "secure\u3164send", false},                // Hangul filler: blank, not a space
		{"Reporting-UA", "secure\u115fsend", false},                // Hangul choseong filler
		{"Reporting-UA", "secure\U000e0041send", false},            // a tag character
		{"Reporting-UA", "securesend\u2029", false},                // paragraph separator
		{"Reporting-UA", "caf\u00e9 mail; Th\u00fcnderbird", true}, // letters beyond ASCII stay
		{"Reporting-UA", "=?utf-8?q?=1B[31m?=", true},              // an encoded word is never decoded: ASCII as it stands
		{"Final-Recipient", "rfc822; pharmacy@pharmacy.example\x0b", false},
		{"Final-Recipient", "rfc822;\x0cpharmacy@pharmacy.example", false},
		{"Final-Recipient", "rfc822; pharmacy@pharmacy.example\u00a0", true}, // a separator, not a control: trimmed, as before
		{"Original-Message-ID", "<abc123@clinic.example>\x1b", false},
		{"Disposition", "manual-action/MDN-sent-manually;\x00processed", false},
		{"Disposition", "manual-action/MDN-sent-manually;\t processed", true},
	}
	for _, tt := range tests {
		t.Run(tt.field+" "+strings.ToValidUTF8(tt.value, "?"), func(t *testing.T) {
			_, err := ParseParts(entity(tt.field, tt.value), data)
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || e.Field != tt.field {
				t.Fatalf("error %v (%T), want an *Error about %s", err, err, tt.field)
			}
			if strings.ContainsAny(err.Error(), "\x00\x1b\x7f\u202e\u200b") {
				t.Errorf("the error quotes the value: %q", err)
			}
		})
	}
}

// TestAckParsePartsOtherMailPrograms: the RFC 8098 part in the shapes
// other mail programs write (RFC 8098's own example, section 9.1;
// Thunderbird's nsMsgMdnGenerator: "rfc822;" without a blank, an
// Original-Recipient, bare LF line ends, a folded Reporting-UA, a
// comment-free non-ASCII product name) parses, with the JSON part of a
// securesend acknowledgement beside it.
func TestAckParsePartsOtherMailPrograms(t *testing.T) {
	in := testReceipt(Accepted, "")
	data, err := marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"RFC 8098 example": "Reporting-UA: joes-pc.cs.example.com; Foomail 97.1\r\n" +
			"Original-Recipient: rfc822;pharmacy@pharmacy.example\r\nFinal-Recipient: rfc822;pharmacy@pharmacy.example\r\n" +
			"Original-Message-ID: <abc123@clinic.example>\r\nDisposition: manual-action/MDN-sent-manually; processed\r\n",
		"Thunderbird": "Reporting-UA: pharmacy-pc.pharmacy.example; Mozilla Thunderbird\n" +
			"Final-Recipient: rfc822;pharmacy@pharmacy.example\nOriginal-Message-ID: <abc123@clinic.example>\n" +
			"Disposition: manual-action/MDN-sent-manually; processed\n",
		"folded, non-ASCII product": "Reporting-UA: pharmacy-pc.pharmacy.example;\r\n\tApoth\u00e9ke Mail 2.1\r\n" +
			"Final-Recipient: RFC822; Pharmacy@Pharmacy.example\r\nOriginal-Message-ID: <abc123@clinic.example>\r\n" +
			"Disposition: Manual-Action/MDN-Sent-Manually;\r\n processed\r\n",
	}
	for name, n := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := ParseParts([]byte(n), data)
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind != Accepted || r.FinalRecipient != "pharmacy@pharmacy.example" || r.OriginalMessageID != "abc123@clinic.example" {
				t.Errorf("receipt %+v", r)
			}
		})
	}
}
