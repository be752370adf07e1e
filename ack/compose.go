package ack

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/securesend/securesend/internal/manifest"
)

// wire is the JSON part, version 1 (docs/acknowledgements.md).
type wire struct {
	Version           int                 `json:"version"`
	Kind              Kind                `json:"kind"`
	OriginalMessageID string              `json:"original_message_id"`
	FinalRecipient    string              `json:"final_recipient"`
	Verdict           string              `json:"verdict"`
	Reason            string              `json:"reason,omitempty"`
	Time              time.Time           `json:"time"`
	Documents         []manifest.Document `json:"documents"`
}

// Subject is the Subject line securesend gives an acknowledgement of kind
// k (it travels in the protected header section; the outer one is
// obscured when encrypted).
func Subject(k Kind) string {
	switch k {
	case Accepted:
		return "Accepted: your secure message"
	case Rejected:
		return "Rejected: your secure message"
	}
	return "Received and verified: your secure message"
}

// Text is the text/plain part of r: one paragraph for people and for
// other mail programs. It holds no document name or patient detail.
func Text(r *Receipt) string {
	var what string
	switch r.Kind {
	case Received:
		what = "was received, decrypted and verified (good signature from your pinned key) by securesend"
	case Accepted:
		what = "was accepted"
	case Rejected:
		what = "was REJECTED. Reason: " + r.Reason
	}
	n := len(r.Documents)
	return fmt.Sprintf("This is a signed acknowledgement from %s.\r\n\r\nYour message %s with %d document(s) %s at %s.\r\n",
		r.FinalRecipient, "<"+r.OriginalMessageID+">", n, what, r.Time.UTC().Format(time.RFC1123Z))
}

// Write validates r and writes it as one MIME entity: its own
// Content-Type header (multipart/report; report-type=disposition-
// notification), a blank line and the three parts (see the package doc),
// with CRLF line endings and only 7-bit data, ready to be signed and
// encrypted as a message's Cryptographic Payload.
func Write(w io.Writer, r *Receipt) error {
	r.Time = r.Time.UTC().Truncate(time.Second)
	if err := r.Validate(); err != nil {
		return err
	}
	disp, _ := Disposition(r.Kind)
	data, err := marshal(r)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	mw := textproto.NewMultipartWriter(bw)
	var top textproto.Header
	top.Set("Content-Type", mime.FormatMediaType("multipart/report", map[string]string{"report-type": ReportType, "boundary": mw.Boundary()}))
	if err := textproto.WriteHeader(bw, top); err != nil {
		return fmt.Errorf("acknowledgement: %w", err)
	}

	var th textproto.Header
	th.Add("Content-Transfer-Encoding", "quoted-printable")
	th.Add("Content-Type", "text/plain; charset=utf-8")
	pw, err := mw.CreatePart(th)
	if err != nil {
		return fmt.Errorf("acknowledgement: %w", err)
	}
	qp := quotedprintable.NewWriter(pw)
	if _, err := io.WriteString(qp, Text(r)); err != nil {
		return fmt.Errorf("acknowledgement: %w", err)
	}
	if err := qp.Close(); err != nil {
		return fmt.Errorf("acknowledgement: %w", err)
	}

	var nh textproto.Header
	nh.Add("Content-Transfer-Encoding", "7bit")
	nh.Add("Content-Type", NotificationType)
	if pw, err = mw.CreatePart(nh); err != nil {
		return fmt.Errorf("acknowledgement: %w", err)
	}
	fields := "Reporting-UA: " + ReportingUA + "; " + ReportingUA + "\r\n" +
		"Final-Recipient: rfc822; " + r.FinalRecipient + "\r\n" +
		"Original-Message-ID: <" + r.OriginalMessageID + ">\r\n" +
		"Disposition: " + disp + "\r\n"
	if _, err := io.WriteString(pw, fields); err != nil {
		return fmt.Errorf("acknowledgement: %w", err)
	}

	var jh textproto.Header
	jh.Add("Content-Transfer-Encoding", "base64")
	jh.Add("Content-Disposition", `attachment; filename="securesend-ack.json"`)
	jh.Add("Content-Type", MediaType+`; version="1"`)
	if pw, err = mw.CreatePart(jh); err != nil {
		return fmt.Errorf("acknowledgement: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 0 {
		n := min(76, len(enc))
		if _, err := io.WriteString(pw, enc[:n]+"\r\n"); err != nil {
			return fmt.Errorf("acknowledgement: %w", err)
		}
		enc = enc[n:]
	}
	if err := mw.Close(); err != nil {
		return fmt.Errorf("acknowledgement: %w", err)
	}
	return bw.Flush()
}

// marshal is the JSON part of r (validated).
func marshal(r *Receipt) ([]byte, error) {
	docs := r.Documents
	if docs == nil {
		docs = []manifest.Document{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(wire{Version: Version, Kind: r.Kind, OriginalMessageID: r.OriginalMessageID,
		FinalRecipient: r.FinalRecipient, Verdict: r.Verdict, Reason: r.Reason, Time: r.Time.UTC(), Documents: docs}); err != nil {
		return nil, fmt.Errorf("acknowledgement: encode: %w", err)
	}
	if b.Len() > MaxJSON {
		return nil, invalid("", "would be larger than %d KiB", MaxJSON>>10)
	}
	return b.Bytes(), nil
}

// normalizeSpace collapses runs of white space to one space.
func normalizeSpace(s string) string { return strings.Join(strings.Fields(s), " ") }
