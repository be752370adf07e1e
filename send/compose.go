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
	"github.com/klauspost/compress/flate"

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
	return writeContent(w, m, false)
}

// writeContent is WriteContent; with binary, the documents' bodies are
// their exact bytes under "Content-Transfer-Encoding: binary" instead of
// base64 (for the inside of an encrypted message only: ComposeProtected).
// Everything else is written as WriteContent writes it.
func writeContent(w io.Writer, m *Message, binary bool) ([]DocumentInfo, error) {
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
		info, err := writeDocument(mw, &m.Documents[i], binary)
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

// writeDocument streams one document into a new part of mw: base64, or
// with binary its exact bytes (Content-Transfer-Encoding: binary).
func writeDocument(mw *textproto.MultipartWriter, d *Document, binary bool) (DocumentInfo, error) {
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

	cte := "base64"
	if binary {
		cte = "binary"
	}
	var h textproto.Header
	h.Add("Content-Transfer-Encoding", cte)
	h.Add("Content-Disposition", formatParams("attachment", map[string]string{"filename": name}))
	h.Add("Content-Type", formatParams(ct, map[string]string{"name": name}))
	pw, err := mw.CreatePart(h)
	if err != nil {
		return DocumentInfo{}, fmt.Errorf("send: document %s: %w", d.Path, err)
	}
	var enc io.WriteCloser
	if binary {
		enc = newBoundaryGuard(pw, mw.Boundary())
	} else {
		enc = pgpmime.Base64Writer(pw)
	}
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

// ErrBoundaryInDocument: a document to be sent in binary holds the
// multipart boundary, so a MIME parser might end its part there. The
// boundary is 240 random bits chosen for each message, so this does not
// happen by chance; it is checked rather than assumed.
var ErrBoundaryInDocument = errors.New("the document contains the message's MIME boundary, so it cannot be sent in binary; send it again (a new message has a new boundary)")

// boundaryGuard passes a binary document body to w unchanged and fails
// with ErrBoundaryInDocument when it contains "--boundary" anywhere. A
// delimiter needs it at the start of a line (RFC 2046 section 5.1.1), but
// parsers differ on what starts a line (CRLF; receive's
// pgpmime.RawReader also a bare LF; Python's email package also a bare
// CR), so any occurrence is refused. A document may hold anything else.
type boundaryGuard struct {
	w    io.Writer
	pat  []byte // "--" + boundary
	tail []byte // the last len(pat)-1 bytes written
	win  []byte // scratch: tail + the head of the next write
}

func newBoundaryGuard(w io.Writer, boundary string) *boundaryGuard {
	pat := []byte("--" + boundary)
	return &boundaryGuard{w: w, pat: pat, tail: make([]byte, 0, len(pat)), win: make([]byte, 0, 2*len(pat))}
}

func (g *boundaryGuard) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	// An occurrence either straddles the previous writes and p (it
	// starts in tail) or lies within p.
	keep := len(g.pat) - 1
	g.win = append(append(g.win[:0], g.tail...), p[:min(len(p), keep)]...)
	if bytes.Contains(g.win, g.pat) || bytes.Contains(p, g.pat) {
		return 0, ErrBoundaryInDocument
	}
	if len(p) >= keep {
		g.tail = append(g.tail[:0], p[len(p)-keep:]...)
	} else {
		drop := max(0, len(g.tail)+len(p)-keep)
		g.tail = append(g.tail[:copy(g.tail, g.tail[drop:])], p...)
	}
	return g.w.Write(p)
}

// Close does nothing: the part ends with the multipart writer's next
// delimiter.
func (g *boundaryGuard) Close() error { return nil }

// Compression sampling for binary documents (binaryCompression).
const (
	// compressSample is how many bytes are deflated from each place a
	// document is sampled at (its start and its middle).
	compressSample = 32 << 10
	// minSaving is the share of the documents' bytes deflating must be
	// expected to save for a message to be compressed: below it, the CPU
	// deflating costs the sender and inflating the receiver buys little.
	minSaving = 0.10
)

// binaryCompression decides how an encrypted message whose documents travel
// in binary is compressed inside the encryption: pgpmime.CompressHuffman
// (deflate Huffman-only) when samples of the documents (compressSample
// bytes from the start of each and from its middle) deflate to at least
// minSaving less than the documents' total size, extrapolated by each
// document's size; else pgpmime.CompressNone. Scanned documents (JPEG or
// CCITT in a PDF, compressed TIFF) do not compress, so deflating them
// costs CPU on both sides for nothing; uncompressed or PackBits TIFF and
// text PDFs do, by a third to a half. Not with match search (BestSpeed
// would take the sample TIFF to 0.18 of its size, not 0.47): a blank
// uncompressed page deflates a thousandfold, and the receiver refuses
// more than 32 times the ciphertext as a compression bomb, so a large one
// could not be read; Huffman-only never exceeds 8 times (see
// pgpmime.CompressHuffman). A message with no document bytes (a note
// only) is compressed. Each document is opened and read in part; the
// decision only chooses a compression, so a file that changes before it is
// sent changes nothing but the size.
func binaryCompression(docs []Document) (pgpmime.Compression, error) {
	var total, saved float64
	zw, err := flate.NewWriter(io.Discard, flate.HuffmanOnly)
	if err != nil {
		return 0, fmt.Errorf("send: compression sample: %w", err)
	}
	buf := make([]byte, compressSample)
	for i := range docs {
		size, ratio, err := sampleRatio(docs[i].Path, buf, zw)
		if err != nil {
			return 0, err
		}
		total += float64(size)
		saved += float64(size) * (1 - ratio)
	}
	if total == 0 || saved >= minSaving*total {
		return pgpmime.CompressHuffman, nil
	}
	return pgpmime.CompressNone, nil
}

// sampleRatio returns the size of the file at path and what its samples
// (len(buf) bytes from its start and from its middle) deflate to with zw,
// as a share of their size (1 for an empty file).
func sampleRatio(path string, buf []byte, zw *flate.Writer) (int64, float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("send: document %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("send: document %s: %w", path, err)
	}
	size := fi.Size()
	var out counter
	zw.Reset(&out)
	offsets := []int64{0}
	if size > 2*int64(len(buf)) {
		offsets = append(offsets, size/2)
	}
	var in int64
	for _, off := range offsets {
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, 0, fmt.Errorf("send: document %s: %w", path, err)
		}
		in += int64(n)
		if _, err := zw.Write(buf[:n]); err != nil {
			return 0, 0, fmt.Errorf("send: compression sample: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return 0, 0, fmt.Errorf("send: compression sample: %w", err)
	}
	if in == 0 {
		return size, 1, nil
	}
	return size, min(float64(out.n)/float64(in), 1), nil
}

// counter counts the bytes written to it.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

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
