package send

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"

	"github.com/securesend/securesend/crypto/pgpmime"
)

// WriteHeader writes the outer RFC 5322 header fields of m: Date, From, To,
// Cc (if any), Subject, Message-ID and MIME-Version: 1.0, with CRLF line
// endings and non-ASCII text encoded per RFC 2047. It writes no
// Content-Type and no terminating blank line: the entity that follows
// (WriteContent, or an OpenPGP/MIME wrapper of it) brings its own.
//
// subject is the Subject to write; callers pass m.Subject, or a neutral
// subject when the real one travels encrypted. m.MessageID must be set (see
// NewMessageID); the Date is m.Date, or now when zero. Values containing CR
// or LF are refused, never written.
func WriteHeader(w io.Writer, m *Message, subject string) error {
	if m.MessageID == "" {
		return errors.New("send: header: the message has no Message-ID (see NewMessageID)")
	}
	if !validMessageID(m.MessageID) {
		return fmt.Errorf("send: header: message id %q is not of the form local@domain", m.MessageID)
	}
	if err := validateText("subject", subject, maxSubjectLen, true); err != nil {
		return fmt.Errorf("send: header: %w", err)
	}
	for _, a := range append(append([]mailAddr{{"From", m.From}}, tag("To", m.To)...), tag("Cc", m.Cc)...) {
		if err := validateAddress(a.field, a.addr); err != nil {
			return fmt.Errorf("send: header: %w", err)
		}
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}
	fields := [][2]string{
		{"Date", date.Format("Mon, 02 Jan 2006 15:04:05 -0700")},
		{"From", formatAddress(m.From)},
		{"To", formatAddressList(m.To)},
	}
	if len(m.Cc) > 0 {
		fields = append(fields, [2]string{"Cc", formatAddressList(m.Cc)})
	}
	fields = append(fields,
		[2]string{"Subject", encodeText(subject)},
		[2]string{"Message-Id", "<" + m.MessageID + ">"},
		[2]string{"MIME-Version", "1.0"},
	)
	var h textproto.Header
	for i := len(fields) - 1; i >= 0; i-- { // Add inserts at the top
		h.Add(fields[i][0], fields[i][1])
	}
	var buf bytes.Buffer
	if err := textproto.WriteHeader(&buf, h); err != nil {
		return fmt.Errorf("send: header: %w", err)
	}
	_, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\r\n")))
	return err
}

// headerBlocks returns, for a signed (encrypted false) or signed and
// encrypted message m, the outer header block (WriteHeader's fields) and
// the protected header fields for the Cryptographic Payload (RFC 9788
// section 2.1): Date, From, To, Cc (if any), Subject and Message-Id with
// their real values. When encrypted, the outer Subject is obscured to
// PlaceholderSubject (the "[...]" of RFC 9788's baseline header
// confidentiality policy, hcp_baseline) and the payload also records each
// outer field in an HP-Outer field ("HP-Outer: Subject: [...]"), so a
// receiver can tell what travelled in the clear. Unless
// m.NoAcknowledgement, the protected fields also ask for an
// acknowledgement (Disposition-Notification-To: From). m.Date must be set.
func headerBlocks(m *Message, encrypted bool) (outer, protected []byte, err error) {
	var inner, out bytes.Buffer
	if err := WriteHeader(&inner, m, m.Subject); err != nil {
		return nil, nil, err
	}
	subject := m.Subject
	if encrypted {
		subject = PlaceholderSubject
	}
	if err := WriteHeader(&out, m, subject); err != nil {
		return nil, nil, err
	}
	var p bytes.Buffer
	for _, f := range headerFields(inner.Bytes()) {
		if !isStructural(f) {
			p.WriteString(f)
		}
	}
	if !m.NoAcknowledgement {
		// Only in the protected section: a receiver acts on it only when
		// a good signature covers it.
		p.WriteString("Disposition-Notification-To: " + formatAddress(mail.Address{Address: m.From.Address}) + "\r\n")
	}
	if encrypted {
		for _, f := range headerFields(out.Bytes()) {
			if !isStructural(f) {
				p.WriteString("HP-Outer: " + f)
			}
		}
	}
	return out.Bytes(), p.Bytes(), nil
}

// isStructural reports whether the header field f is a structural one
// (MIME-Version, Content-*) that describes the MIME entity rather than
// the message, and is therefore never protected (RFC 9788 section 1.1).
func isStructural(f string) bool {
	name, _, _ := strings.Cut(f, ":")
	name = strings.ToLower(strings.TrimSpace(name))
	return name == "mime-version" || strings.HasPrefix(name, "content-")
}

// headerFields splits a raw CRLF header block into its fields, each with
// its continuation lines and final CRLF.
func headerFields(h []byte) []string {
	var fields []string
	for _, line := range strings.SplitAfter(string(h), "\r\n") {
		switch {
		case line == "":
		case (line[0] == ' ' || line[0] == '\t') && len(fields) > 0:
			fields[len(fields)-1] += line
		default:
			fields = append(fields, line)
		}
	}
	return fields
}

type mailAddr struct {
	field string
	addr  mail.Address
}

func tag(field string, as []mail.Address) []mailAddr {
	out := make([]mailAddr, len(as))
	for i, a := range as {
		out[i] = mailAddr{field, a}
	}
	return out
}

// WriteContent writes the body of m as one self-contained MIME entity: its
// own "Content-Type: multipart/mixed; boundary=..." header, a blank line,
// then the note as text/plain; charset=utf-8 (quoted-printable), every
// document as a base64 attachment with its file name (RFC 2231 when not
// ASCII), and last the message's manifest (docs/manifest.md), which lists
// the documents' names, types, sizes and SHA-256 as they were written.
// Content types left empty are detected from the file's first bytes (PDF,
// TIFF, JPEG, PNG) and its name.
//
// m.MessageID and m.Date must be set (the manifest names them; Compose and
// ComposeProtected set the Date when it is zero). Documents are streamed
// from disk in small buffers, read once: their size and SHA-256 are
// computed on the way, so the manifest follows them and lists exactly the
// bytes sent. They are returned in document order. Lines end in CRLF.
func WriteContent(w io.Writer, m *Message) ([]DocumentInfo, error) {
	if m.MessageID == "" || !validMessageID(m.MessageID) {
		return nil, errors.New("send: content: the message has no valid Message-ID for its manifest (see NewMessageID)")
	}
	if m.Date.IsZero() {
		return nil, errors.New("send: content: the message has no Date for its manifest")
	}
	bw := bufio.NewWriterSize(w, 32*1024)
	mw := textproto.NewMultipartWriter(bw)
	var top textproto.Header
	top.Set("Content-Type", formatParams("multipart/mixed", map[string]string{"boundary": mw.Boundary()}))
	if err := textproto.WriteHeader(bw, top); err != nil {
		return nil, fmt.Errorf("send: content: %w", err)
	}

	var th textproto.Header
	th.Add("Content-Transfer-Encoding", "quoted-printable")
	th.Add("Content-Type", "text/plain; charset=utf-8")
	pw, err := mw.CreatePart(th)
	if err != nil {
		return nil, fmt.Errorf("send: content: note: %w", err)
	}
	qp := quotedprintable.NewWriter(pw)
	if _, err := io.WriteString(qp, m.Note); err != nil {
		return nil, fmt.Errorf("send: content: note: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, fmt.Errorf("send: content: note: %w", err)
	}

	infos := make([]DocumentInfo, 0, len(m.Documents))
	for i := range m.Documents {
		info, err := writeDocument(mw, &m.Documents[i])
		if err != nil {
			return infos, err
		}
		infos = append(infos, info)
	}
	if err := writeManifest(mw, m, infos); err != nil {
		return infos, err
	}
	if err := mw.Close(); err != nil {
		return infos, fmt.Errorf("send: content: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return infos, fmt.Errorf("send: content: %w", err)
	}
	return infos, nil
}

// writeDocument streams one document into a new part of mw.
func writeDocument(mw *textproto.MultipartWriter, d *Document) (DocumentInfo, error) {
	name := documentName(d)
	if err := validateText(fmt.Sprintf("file name %q", name), name, maxFileNameLen, false); err != nil {
		return DocumentInfo{}, err
	}
	f, err := os.Open(d.Path)
	if err != nil {
		return DocumentInfo{}, fmt.Errorf("send: document %s: %w", d.Path, err)
	}
	defer f.Close()
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return DocumentInfo{}, fmt.Errorf("send: document %s: %w", d.Path, err)
	}
	head = head[:n]
	ct := d.ContentType
	if ct == "" {
		ct = detectType(name, head)
	}

	var h textproto.Header
	h.Add("Content-Transfer-Encoding", "base64")
	h.Add("Content-Disposition", formatParams("attachment", map[string]string{"filename": name}))
	h.Add("Content-Type", formatParams(ct, map[string]string{"name": name}))
	pw, err := mw.CreatePart(h)
	if err != nil {
		return DocumentInfo{}, fmt.Errorf("send: document %s: %w", d.Path, err)
	}
	enc := pgpmime.Base64Writer(pw)
	sum := sha256.New()
	size, err := io.Copy(enc, io.TeeReader(io.MultiReader(bytes.NewReader(head), f), sum))
	if err != nil {
		return DocumentInfo{}, fmt.Errorf("send: document %s: %w", d.Path, err)
	}
	if err := enc.Close(); err != nil {
		return DocumentInfo{}, fmt.Errorf("send: document %s: %w", d.Path, err)
	}
	return DocumentInfo{Name: name, ContentType: ct, Size: size, SHA256: hex.EncodeToString(sum.Sum(nil))}, nil
}

// Compose writes the complete RFC 5322 message: WriteHeader with m.Subject
// followed by WriteContent (the Date, when m.Date is zero, is the current
// time in both). It returns the documents' sizes and hashes.
func Compose(w io.Writer, m *Message) ([]DocumentInfo, error) {
	mm := *m
	if mm.Date.IsZero() {
		mm.Date = time.Now()
	}
	if err := WriteHeader(w, &mm, mm.Subject); err != nil {
		return nil, err
	}
	return WriteContent(w, &mm)
}

// base64Line is the length of a base64 body line (RFC 2045 section 6.8).
const base64Line = 76
