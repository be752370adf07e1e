package receive

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/quotedprintable"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	message "github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/crypto/pgpmime"
	"github.com/securesend/securesend/internal/manifest"
)

// errPartHeader: a MIME part's header section is malformed or too long.
var errPartHeader = errors.New("a part's header section is malformed or too long")

// Limits on hostile input.
const (
	maxDepth      = 12      // MIME nesting
	maxHeaderSize = 1 << 20 // one header block
	maxNote       = 1 << 20 // note text kept, all text parts together
	maxSigPart    = 1 << 20 // the application/pgp-signature part
	maxParts      = 1000    // MIME parts in one message
)

// VerifyOptions are the keys and the document sink used by Verify.
type VerifyOptions struct {
	// Store holds correspondents' public keys and their trust, and the
	// user's own public keys. Nil means no known signer: every signature
	// is then at best UnknownSigner.
	Store *pgp.Store
	// Secret are the user's unlocked secret keys, for decryption. Without
	// them an encrypted message is CannotDecrypt.
	Secret []*pgp.Key
	// Sink receives each document's content after the verdict is known,
	// and only when the verdict is Releasable (see DocumentSink). Nil
	// discards the documents (sizes and hashes are still reported).
	Sink DocumentSink
	// Now is the time signatures and keys are checked at; time.Now when nil.
	Now func() time.Time
	// MaxDecompressed lowers the bound on what an encrypted message's
	// OpenPGP data may expand to. The bound is max(64 MiB, 32 times the
	// ciphertext read), never above 1 GiB; a positive MaxDecompressed
	// smaller than that replaces it.
	MaxDecompressed int64
	// Recipients are the user's own e-mail addresses (the accounts the
	// mail is fetched for). With the addresses of the Secret keys and of
	// the store's own keys they decide whether a message whose signed part
	// names its recipients was meant for this user (NotAddressed).
	Recipients []string
	// StagingDir is where documents are staged, encrypted with a key held
	// only in memory, until the verdict is known: a private 0700 directory
	// is made in it and removed before Verify returns. "" means
	// os.TempDir().
	StagingDir string
}

// Verify reads one RFC 5322 message from msg and returns its Report.
//
// The returned error is for I/O failures only (reading msg, the Sink, the
// staging area, the key store, a cancelled ctx); every cryptographic or
// structural outcome, including garbage input, is a Verdict in the Report.
//
// Nothing from inside the message is released before the verdict: the
// note is held in memory and the documents are staged (encrypted at rest,
// see DocumentSink) while the message is read and judged. Only then, and
// only when the verdict is Releasable, are the documents replayed to
// opts.Sink and the note, documents and protected header fields put in the
// Report; otherwise the Report is Withheld.
func Verify(ctx context.Context, msg io.Reader, opts VerifyOptions) (*Report, error) {
	v, err := newVerifier(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer v.stage.cleanup()
	v.src = &sourceReader{ctx: ctx, r: msg}
	v.run()
	if v.src.err != nil {
		return nil, fmt.Errorf("receive: read message: %w", v.src.err)
	}
	if v.stageErr != nil {
		return nil, v.stageErr
	}
	// A caller that cancelled (the user closed the window, the fetch was
	// stopped) gets nothing released, even when the message was already
	// read to its end.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("receive: %w", err)
	}
	if err := v.release(); err != nil {
		return nil, err
	}
	return v.rep, nil
}

// verifier holds the state of one Verify call.
type verifier struct {
	ctx   context.Context
	opts  VerifyOptions
	now   time.Time
	src   *sourceReader
	rep   *Report
	ring  openpgp.EntityList
	keys  map[pgp.Fingerprint]*pgp.PublicKey
	trust map[pgp.Fingerprint]pgp.Entry

	stage         *stager
	stageErr      error           // the staging area failed (an I/O error of Verify)
	noteText      strings.Builder // the text parts, at most about maxNote bytes
	noteCut       bool            // text beyond maxNote was left out
	omitted       []string
	parts         int
	carried       *pgp.PublicKey // the sender's key from the Autocrypt header, not in the store
	decryptFailed string         // reason, when decryption failed
	partial       bool           // a signed or encrypted part nested in unsigned content
	outer         *headerSet     // the message's own (unprotected) header
	encHdr        *headerSet     // protected headers of the decrypted payload, if marked
	shown         *headerSet     // the header set the report's fields come from
	mine          map[string]bool
	manifests     []manifestPart // the manifest parts met (manifest.go)
	signedScope   int            // >0 while reading content a signature covers
	// binaryParts counts the parts met with Content-Transfer-Encoding
	// binary: their bytes are the content itself, so only a signature
	// over the exact bytes covers them (binaryUncovered).
	binaryParts int
}

func newVerifier(ctx context.Context, opts VerifyOptions) (*verifier, error) {
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	v := &verifier{ctx: ctx, opts: opts, now: now, rep: &Report{Documents: []Document{}},
		keys: map[pgp.Fingerprint]*pgp.PublicKey{}, trust: map[pgp.Fingerprint]pgp.Entry{},
		stage: &stager{base: opts.StagingDir}, mine: map[string]bool{}}
	for _, a := range opts.Recipients {
		if a = pgp.NormalizeAddress(a); a != "" {
			v.mine[a] = true
		}
	}
	for _, k := range opts.Secret {
		v.ring = append(v.ring, k.Entity())
		for _, a := range k.Public().Emails() {
			v.mine[strings.ToLower(a)] = true
		}
	}
	if opts.Store != nil {
		keys, entries, err := opts.Store.All()
		if err != nil {
			return nil, fmt.Errorf("receive: key store: %w", err)
		}
		for i, k := range keys {
			v.ring = append(v.ring, k.Entity())
			v.keys[k.Fingerprint()] = k
			v.trust[k.Fingerprint()] = entries[i]
			if entries[i].Secret {
				for _, a := range entries[i].Emails {
					v.mine[strings.ToLower(a)] = true
				}
			}
		}
	}
	return v, nil
}

// sourceReader records I/O errors of the message source (as opposed to
// errors about its content) and honours cancellation.
type sourceReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// signature is what was learnt about the signature of a part of the
// message.
type signature struct {
	present bool
	bad     string // reason, when the signature is bad
	unknown bool   // no key in the store for it
	fpr     pgp.Fingerprint
	keyID   string
	signer  *openpgp.Entity
	// hdr is the protected header section of the payload the signature
	// covers, nil when the payload declares none (protectedMarker).
	hdr *headerSet
}

func badSig(format string, a ...any) signature {
	return signature{present: true, bad: fmt.Sprintf(format, a...)}
}

func (v *verifier) run() {
	lr := &io.LimitedReader{R: v.src, N: maxHeaderSize}
	br := bufio.NewReaderSize(lr, 64<<10)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		v.outer = &headerSet{}
		v.judge(signature{}, "This file could not be read as an e-mail message.")
		return
	}
	lr.N = 1 << 62
	v.outerHeader(h)
	sig, structErr := v.entity(h, br, 0, true)
	if v.decryptFailed != "" {
		v.rep.Verdict, v.rep.Reason = CannotDecrypt, v.decryptFailed
		v.showOuter()
		return
	}
	if structErr != "" && sig.present && sig.bad == "" {
		sig = badSig("%s", structErr)
	}
	v.judge(sig, structErr)
	v.judgeManifest(sig)
}

func (v *verifier) outerHeader(h textproto.Header) {
	v.outer = readHeaderSet(h)
	// A key the message carries (Autocrypt) is only ever used to tell a
	// good signature by an unknown key from a bad one; it is never trusted.
	if ac := h.Get("Autocrypt"); ac != "" {
		if addr, k, err := pgp.ParseAutocrypt(ac); err == nil && addr == v.outer.from {
			if _, known := v.keys[k.Fingerprint()]; !known {
				v.carried = k
				v.ring = append(v.ring, k.Entity())
			}
		}
	}
}

// entity handles one entity whose header h is already read and whose body
// follows in body. It returns the signature covering it (if any) and, when
// the content could not be read completely, a plain-language reason.
func (v *verifier) entity(h textproto.Header, body io.Reader, depth int, root bool) (signature, string) {
	if depth > maxDepth {
		return signature{}, "The message is nested too deeply to be shown safely."
	}
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	switch mt {
	case "multipart/signed":
		if !root {
			v.partial = true
			break
		}
		return v.signed(params, body, depth)
	case "multipart/encrypted":
		if !root {
			v.partial = true
			break
		}
		return v.encrypted(params, body, depth)
	}
	if err := v.collect(h, body, depth, root); err != nil {
		return signature{}, "The message could not be read completely: " + plainError(err)
	}
	return signature{}, ""
}

// collect walks the entity with header h and raw body, and records the
// note, documents and omitted parts. Multipart bodies are split with
// pgpmime.RawReader and transfer encodings decoded here, streaming.
func (v *verifier) collect(h textproto.Header, body io.Reader, depth int, root bool) error {
	if depth > maxDepth {
		return errors.New("nested too deeply")
	}
	if v.parts++; v.parts > maxParts {
		return fmt.Errorf("more than %d parts", maxParts)
	}
	mh := message.Header{Header: h}
	mt, params := "text/plain", map[string]string{}
	if h.Has("Content-Type") {
		var err error
		if mt, params, err = mime.ParseMediaType(h.Get("Content-Type")); err != nil {
			mt, params = "application/octet-stream", map[string]string{}
		}
	}
	if strings.HasPrefix(mt, "multipart/") {
		if (mt == "multipart/signed" || mt == "multipart/encrypted") && !root {
			v.partial = true
		}
		if params["boundary"] == "" {
			return errors.New("a multipart part has no boundary")
		}
		if v.signedScope > 0 && strings.TrimRight(params["boundary"], " \t") != params["boundary"] {
			return errBoundarySpace
		}
		rr := pgpmime.NewRawReader(body, params["boundary"])
		for {
			part, err := rr.NextPart()
			if v.signedScope > 0 && rr.Ambiguous() {
				return errAmbiguousBoundary
			}
			if err == io.EOF {
				if v.signedScope > 0 {
					return blankEpilogue(rr.Epilogue())
				}
				return nil
			}
			if err != nil {
				return err
			}
			var scan *boundaryScan
			if v.signedScope > 0 {
				scan = &boundaryScan{r: part, pat: []byte("\r--" + params["boundary"])}
				part = scan
			}
			lr := &io.LimitedReader{R: part, N: maxHeaderSize}
			br := bufio.NewReaderSize(lr, 16<<10)
			ph, err := textproto.ReadHeader(br)
			if err != nil {
				// Not wrapped: the parser's error quotes the offending
				// line, which must not reach the Reason (it is content,
				// and may be withheld or hold terminal escapes).
				return errPartHeader
			}
			lr.N = 1 << 62
			if v.signedScope > 0 {
				if err := ambiguousHeader(ph); err != nil {
					return err
				}
			}
			if err := v.collect(ph, br, depth+1, false); err != nil {
				return err
			}
			if scan != nil {
				if _, err := io.Copy(io.Discard, scan); err != nil {
					return err
				}
				if scan.found {
					return errBoundaryAfterCR
				}
				if isBinaryCTE(ph.Get("Content-Transfer-Encoding")) && rr.PartEndedAtBareLF() {
					return errBinaryBareLF
				}
			}
		}
	}
	if isBinaryCTE(h.Get("Content-Transfer-Encoding")) {
		v.binaryParts++
	}
	raw := body
	if v.signedScope > 0 && strings.EqualFold(strings.TrimSpace(h.Get("Content-Transfer-Encoding")), "quoted-printable") {
		raw = &qpCheck{r: body}
	}
	decoded := transferDecoder(h.Get("Content-Transfer-Encoding"), raw)
	disp, _, _ := mh.ContentDisposition()
	ah := gomail.AttachmentHeader{Header: mh}
	name, _ := ah.Filename()
	if name == "" {
		name = params["name"]
		if d, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
			name = d
		}
	}
	switch {
	case mt == manifest.MediaType:
		return v.manifestPart(decoded)
	case mt == "application/pgp-signature" || mt == "application/pgp-encrypted":
		v.partial = true
		_, err := io.Copy(io.Discard, decoded)
		return err
	case mt == "text/plain" && name == "" && disp != "attachment":
		r := decoded
		if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
			if cr, err := charset.Reader(cs, decoded); err == nil {
				r = cr
			}
		}
		return v.note(r)
	case mt == "text/html" && name == "":
		v.omitted = append(v.omitted, "HTML part not displayed")
		_, err := io.Copy(io.Discard, decoded)
		return err
	default:
		return v.document(name, mt, decoded)
	}
}

// Signed content must be read one way only: a part of it that another
// MIME parser would read differently, or that no parser shows, is
// refused (a structural error: bad-signature under a good signature).
var (
	// errEpilogue: text after a multipart's close delimiter. RFC 2046
	// lets a reader ignore it, so signed data there (a signed manifest,
	// the rest of a binary document that held the close delimiter) would
	// be dropped unseen while the rest showed as Verified.
	errEpilogue = errors.New("signed content goes on after the end of its multipart (text after the closing boundary)")
	// errBinaryBareLF: a binary part ends at a delimiter preceded by a
	// bare LF. RFC 2046 requires CRLF before a delimiter, and a binary
	// part's LF is content: a parser that follows the RFC reads the part
	// on past it, as one document, where securesend would read two.
	errBinaryBareLF = errors.New("a binary part ends at a boundary not preceded by CRLF, so MIME readers differ on where it ends")
	// errBoundaryAfterCR: a part holds its multipart's boundary after a
	// bare CR. RawReader (like RFC 2046) does not end the part there, but
	// readers that take a lone CR for a line end (Python's email package)
	// do, and read a second part from the rest.
	errBoundaryAfterCR = errors.New("a part holds its multipart's boundary after a bare CR, so MIME readers differ on where it ends")
	// errAmbiguousBoundary: a boundary line of a multipart holds a bare
	// CR (a delimiter line "--boundary\r\r\n", or the boundary after a
	// bare CR in the preamble). RawReader (like RFC 2046) reads the
	// delimiter to its CRLF and ignores the preamble, but readers that
	// take a lone CR for a line end (Python's email package) end the
	// delimiter at the CR, so the part's header lines become an empty
	// header and a text body, or start a part in the preamble that
	// securesend never shows (pgpmime.RawReader.Ambiguous).
	errAmbiguousBoundary = errors.New("a boundary line of a multipart holds a bare CR, so MIME readers differ on where its parts begin")
)

// errHeaderBareCR: a header field of signed content holds a bare CR
// (one not followed by LF). go-message reads it as part of the field's
// value, readers that take a lone CR for a line end (Python's email
// package) as the start of another field: "X-Comment: scan\rContent-
// Transfer-Encoding: base64" is a note of base64 text for securesend and
// the decoded text for Python.
var errHeaderBareCR = errors.New("a part's header holds a bare CR, so MIME readers differ on its fields")

// errBoundarySpace: a multipart's boundary parameter ends in white space,
// which RFC 2046 (bcharsnospace) does not allow. Go keeps it as part of
// the boundary; Python's email package (checked) strips it, so a line of
// the boundary without the space is a delimiter there and content here.
var errBoundarySpace = errors.New("a multipart's boundary ends in white space, so MIME readers differ on where its parts begin")

// errHeaderNameSpace: a header field of signed content has white space
// in its name ("Content-Type : application/pdf"). go-message trims it and
// reads the field; Python's email package (checked) takes the line for
// the start of the body, so the part is a text note there.
var errHeaderNameSpace = errors.New("a part's header has a field name with white space in it, so MIME readers differ on where its header ends")

// ambiguousHeader returns errHeaderBareCR when a field of h holds a CR not
// followed by LF (a folded field's CRLF is not one), errHeaderNameSpace
// when a field's name as written holds white space, else nil.
func ambiguousHeader(h textproto.Header) error {
	for f := h.Fields(); f.Next(); {
		if bareCR(f.Key()) || bareCR(f.Value()) {
			return errHeaderBareCR
		}
		if raw, err := f.Raw(); err == nil {
			if i := bytes.IndexByte(raw, ':'); i >= 0 && bytes.ContainsAny(raw[:i], " \t") {
				return errHeaderNameSpace
			}
		}
	}
	return nil
}

func bareCR(s string) bool {
	for i := strings.IndexByte(s, '\r'); i >= 0; i = strings.IndexByte(s, '\r') {
		if i+1 >= len(s) || s[i+1] != '\n' {
			return true
		}
		s = s[i+1:]
	}
	return false
}

// boundaryScan passes r through and records whether pat occurs in it,
// across reads.
type boundaryScan struct {
	r     io.Reader
	pat   []byte
	tail  []byte // the last len(pat)-1 bytes read
	win   []byte // scratch: tail and the head of the next read
	found bool
}

func (b *boundaryScan) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n == 0 || b.found {
		return n, err
	}
	keep := len(b.pat) - 1
	b.win = append(append(b.win[:0], b.tail...), p[:min(n, keep)]...)
	if bytes.Contains(b.win, b.pat) || bytes.Contains(p[:n], b.pat) {
		b.found = true
	}
	if n >= keep {
		b.tail = append(b.tail[:0], p[n-keep:n]...)
	} else { // win is tail and all of p[:n]
		b.tail = append(b.tail[:0], b.win[max(0, len(b.win)-keep):]...)
	}
	return n, err
}

// blankEpilogue reads the epilogue r to its end and fails with
// errEpilogue if it holds anything but line breaks and white space.
func blankEpilogue(r io.Reader) error {
	buf := make([]byte, 4<<10)
	for {
		n, err := r.Read(buf)
		if len(bytes.Trim(buf[:n], " \t\r\n")) > 0 {
			return errEpilogue
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// errQPAmbiguous: quoted-printable that decoders read differently. RFC
// 2045 section 6.7 has a decoder delete white space at the end of a line
// (so "=" then spaces then a line break is a soft line break), and Go's
// decoder does; Python's email package (quopri) keeps it, and reads "5=
// \r\n00 mg" as "5= 00 mg" where securesend reads "500 mg". An "=" that
// starts no escape ("==3D") is also read differently.
var errQPAmbiguous = errors.New("a quoted-printable part has white space at the end of a line or an \"=\" that starts no escape, which MIME readers decode differently")

// qpCheck passes raw quoted-printable through, failing with
// errQPAmbiguous at white space before a line break (or the end) and at
// an "=" not followed by two hex digits, a line break or the end.
type qpCheck struct {
	r     io.Reader
	eq    int  // bytes seen since an "=" (0: none pending; 1, 2)
	eqCR  bool // "=" then CR: an LF must follow
	space bool // the last byte was a space or tab
	err   error
}

func (q *qpCheck) Read(p []byte) (int, error) {
	if q.err != nil {
		return 0, q.err
	}
	n, err := q.r.Read(p)
	for _, c := range p[:n] {
		if !q.step(c) {
			q.err = errQPAmbiguous
			return 0, q.err
		}
	}
	if err == io.EOF && (q.space || q.eq == 2 || q.eqCR) {
		q.err = errQPAmbiguous
		return 0, q.err
	}
	return n, err
}

// step takes one byte and reports whether the input is still unambiguous.
func (q *qpCheck) step(c byte) bool {
	hex := c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f'
	switch {
	case q.eqCR:
		q.eqCR = false
		return c == '\n'
	case q.eq == 1:
		switch {
		case c == '\r':
			q.eq, q.eqCR = 0, true
			return true
		case c == '\n':
			q.eq = 0
			return true
		case hex:
			q.eq = 2
			return true
		}
		return false
	case q.eq == 2:
		q.eq = 0
		return hex
	}
	if (c == '\r' || c == '\n') && q.space {
		return false
	}
	q.space = c == ' ' || c == '\t'
	if c == '=' {
		q.eq = 1
	}
	return true
}

// isBinaryCTE reports whether cte is "binary" (RFC 2045 section 2.9):
// the part's bytes are the content, any octet, any line end.
func isBinaryCTE(cte string) bool {
	return strings.EqualFold(strings.TrimSpace(cte), "binary")
}

// binaryUncovered is the reason a good signature does not cover a
// message with binary parts: the multipart/signed form (RFC 3156 section
// 5) and an OpenPGP text signature (type 0x01, RFC 9580 section 5.2.1.2)
// hash the content with its line ends made CRLF, so CR and LF in a binary
// part could be changed (by anyone in transit for multipart/signed, by
// anyone who re-encrypts the signed data for a text signature) and the
// signature would still match, while the document's bytes would not be the
// ones signed. Securesend sends binary parts only inside a binary
// signature (the combined signed and encrypted form, RFC 3156 section
// 6.2), which covers every byte.
const binaryUncovered = "A document in this message is in binary form, and its kind of signature covers text with its line ends normalised, not the exact bytes of a binary document; the document could have been altered without breaking the signature. Ask the sender to send it again."

// transferDecoder decodes a Content-Transfer-Encoding (RFC 2045); unknown
// encodings (and 7bit, 8bit, binary) are passed through undecoded.
func transferDecoder(cte string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return pgpmime.Base64Reader(r)
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

// note adds a text part to the note. All text parts together keep at most
// maxNote bytes: each part is bounded, and so is their number (maxParts),
// but a thousand 1 MiB notes in a small compressed message would
// otherwise be held in memory and shown.
func (v *verifier) note(r io.Reader) error {
	var b strings.Builder
	room := max(int64(maxNote-v.noteText.Len()), 0)
	n, err := io.Copy(&b, io.LimitReader(r, room))
	if err != nil {
		return err
	}
	if n == room {
		if m, err := io.Copy(io.Discard, r); err != nil {
			return err
		} else if m > 0 && !v.noteCut {
			v.noteCut = true
			v.omitted = append(v.omitted, "the rest of a very long note")
		}
	}
	if n == 0 {
		return nil
	}
	text := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || (r >= 0x20 && r != 0x7f && !(r >= 0x80 && r < 0xa0) && !(r >= 0x202a && r <= 0x202e) && !(r >= 0x2066 && r <= 0x2069)) {
			return r
		}
		return -1
	}, strings.ReplaceAll(b.String(), "\r\n", "\n"))
	if v.noteText.Len() > 0 {
		v.noteText.WriteString("\n\n")
	}
	v.noteText.WriteString(text)
	return nil
}

// trackingReader records the first read error of the content it wraps.
type trackingReader struct {
	r   io.Reader
	err error
}

func (t *trackingReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

// document stages one document until the verdict is known (or, without
// a sink, only measures and hashes it).
func (v *verifier) document(name, contentType string, body io.Reader) error {
	name = SanitizeName(name)
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	err := v.stage.add(name, contentType, body, v.opts.Sink != nil)
	if errors.Is(err, errStaging) && v.stageErr == nil {
		v.stageErr = err
	}
	return err
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// signed handles a multipart/signed body (RFC 3156 section 5): it parses
// and hashes the first part in one pass, then checks the detached
// signature in the second.
func (v *verifier) signed(params map[string]string, body io.Reader, depth int) (signature, string) {
	boundary := params["boundary"]
	if boundary == "" {
		return badSig("The signed message has no MIME boundary."), ""
	}
	if !strings.EqualFold(params["protocol"], "application/pgp-signature") {
		return badSig("The message is signed with an unsupported method%s.", knownName(params["protocol"], "application/pkcs7-signature", "application/x-pkcs7-signature")), ""
	}
	algo, ok := micalgHash(params["micalg"])
	if !ok {
		return badSig("The signature uses an unsupported or weak hash%s.", knownName(params["micalg"], "pgp-md5", "pgp-sha1", "pgp-ripemd160", "pgp-md2", "pgp-tiger192", "pgp-haval-5-160", "pgp-sha3-256", "pgp-sha3-512")), ""
	}
	rr := pgpmime.NewRawReader(body, boundary)
	part, err := rr.NextPart()
	if err != nil {
		return badSig("The signed message is malformed: %s.", plainError(err)), ""
	}
	h := algo.New()
	// The signature covers the part with its line ends made CRLF, so the
	// part is parsed from exactly those bytes, not as it arrived: line
	// ends changed in transit (CRLF to LF, or back) in a 7bit, 8bit or
	// quoted-printable part then change nothing that is released.
	tee := &trackingReader{r: io.TeeReader(pgpmime.CRLFReader(part), h)}
	v.signedScope++
	binaryBefore := v.binaryParts
	_, hdr, structErr := v.content(tee, depth+1, false)
	binary := v.binaryParts > binaryBefore
	v.signedScope--
	if _, err := io.Copy(io.Discard, tee); err != nil || tee.err != nil {
		return badSig("The signed message is malformed or truncated."), structErr
	}
	sigPart, err := rr.NextPart()
	if err != nil {
		return badSig("The signature part is missing or malformed."), structErr
	}
	sig, reason := readSignature(sigPart)
	if reason != "" {
		return badSig("%s", reason), structErr
	}
	if _, err := rr.NextPart(); err != io.EOF {
		return badSig("The signed message has extra parts outside the signature."), structErr
	}
	res := v.check(h, algo, sig)
	if binary && res.bad == "" {
		// The hash is over the content with its line ends made CRLF
		// (RFC 3156 section 5), so it does not cover a binary part's
		// bytes: a good (or unknown) signature proves nothing about them.
		return badSig("%s", binaryUncovered), structErr
	}
	res.hdr = hdr
	return res, structErr
}

// content parses the raw entity (header and body) in r: a cryptographic
// payload, the root of what is displayed. It returns the signature of a
// signed entity inside (only when root), the payload's protected header
// section when its Content-Type declares one (RFC 9788 "hp", or the legacy
// protected-headers="v1"), and a structural problem. root is true for the
// plaintext of an encrypted message, which may itself be a multipart/signed
// entity (RFC 3156 section 6.1, sign then encrypt): the header section of
// that multipart/signed entity is then encrypted but not signed.
func (v *verifier) content(r io.Reader, depth int, root bool) (signature, *headerSet, string) {
	lr := &io.LimitedReader{R: r, N: maxHeaderSize}
	br := bufio.NewReaderSize(lr, 32<<10)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return signature{}, nil, "The message content could not be read."
	}
	lr.N = 1 << 62
	if v.signedScope > 0 {
		if err := ambiguousHeader(h); err != nil {
			return signature{}, nil, "The message could not be read completely: " + err.Error()
		}
	}
	var hdr *headerSet
	if protectedMarker(h.Get("Content-Type")) {
		hdr = readHeaderSet(h)
	}
	sig, structErr := v.entity(h, br, depth, root)
	return sig, hdr, structErr
}

// knownName returns " (value)" when value is one of known (ignoring case),
// else "": a reason names only values it knows, never text from a message
// (which may be encrypted content, withheld, or hold terminal escapes).
func knownName(value string, known ...string) string {
	v := strings.ToLower(strings.TrimSpace(value))
	if slices.Contains(known, v) {
		return " (" + v + ")"
	}
	return ""
}

func micalgHash(micalg string) (crypto.Hash, bool) {
	switch strings.ToLower(strings.TrimSpace(micalg)) {
	case "pgp-sha256", "":
		return crypto.SHA256, true
	case "pgp-sha384":
		return crypto.SHA384, true
	case "pgp-sha512":
		return crypto.SHA512, true
	case "pgp-sha224":
		return crypto.SHA224, true
	}
	return 0, false
}

// readSignature reads the application/pgp-signature part.
func readSignature(part io.Reader) (*packet.Signature, string) {
	e, err := message.Read(io.LimitReader(part, maxSigPart))
	if err != nil && !message.IsUnknownCharset(err) {
		return nil, "The signature part is malformed."
	}
	if mt, _, _ := e.Header.ContentType(); mt != "application/pgp-signature" {
		return nil, "The second part of the signed message is not a signature."
	}
	data, err := io.ReadAll(e.Body)
	if err != nil {
		return nil, "The signature part is malformed."
	}
	var r io.Reader = bytes.NewReader(data)
	if bytes.Contains(data, []byte("-----BEGIN PGP")) {
		block, err := armor.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, "The signature is damaged (bad armor)."
		}
		r = block.Body
	}
	p, err := packet.Read(r)
	if err != nil {
		return nil, "The signature is damaged."
	}
	sig, ok := p.(*packet.Signature)
	if !ok {
		return nil, "The signature part holds no signature."
	}
	return sig, ""
}

// check verifies sig over the data hashed into h.
func (v *verifier) check(h hash.Hash, algo crypto.Hash, sig *packet.Signature) signature {
	if sig.SigType != packet.SigTypeBinary && sig.SigType != packet.SigTypeText {
		return badSig("The signature is not a document signature.")
	}
	if sig.Version != 4 {
		return badSig("The signature version %d is not supported.", sig.Version)
	}
	if sig.Hash != algo {
		return badSig("The signature's hash does not match the message's declared one (micalg).")
	}
	res := signature{present: true}
	if len(sig.IssuerFingerprint) > 0 {
		res.fpr = pgp.Fingerprint(strings.ToUpper(hex.EncodeToString(sig.IssuerFingerprint)))
	}
	if sig.IssuerKeyId == nil {
		return badSig("The signature does not name its key.")
	}
	res.keyID = fmt.Sprintf("%016X", *sig.IssuerKeyId)
	keys := v.ring.KeysByIdUsage(*sig.IssuerKeyId, packet.KeyFlagSign)
	if len(keys) == 0 {
		res.unknown = true
		return res
	}
	key := keys[0]
	if err := key.PublicKey.VerifySignature(h, sig); err != nil {
		return badSig("The signature does not match the content: the message was altered after it was signed, or the signature is forged.")
	}
	if reason := v.keyProblem(key, sig); reason != "" {
		return badSig("%s", reason)
	}
	res.signer = key.Entity
	res.fpr = pgp.Fingerprint(strings.ToUpper(hex.EncodeToString(key.Entity.PrimaryKey.Fingerprint)))
	return res
}

// keyProblem makes the checks go-crypto makes after a good signature on
// the combined (signed and encrypted) form, checkMessageSignatureDetails
// in openpgp/read.go, for the detached form too, in the same order and at
// the same time (v.now), with a plain-language reason for each: unknown
// critical notations on the signature or the key's self-signatures
// (primary, subkey binding, back signature); a revoked primary key,
// signing subkey or primary user ID; an expired primary key or signing
// subkey; an expired signature or self-signature. A signature dated in the
// future says so (go-crypto calls it expired). Subkey binding and back
// signatures themselves are checked when the key is read (go-crypto's
// ReadEntity drops a subkey whose binding or back signature is missing or
// bad), so a signature by such a subkey finds no key (KeysByIdUsage).
func (v *verifier) keyProblem(key openpgp.Key, sig *packet.Signature) string {
	now := v.now
	cfg := pgp.Config(func() time.Time { return now })
	primarySelf, primaryID := key.Entity.PrimarySelfSignature()
	bySubkey := key.PublicKey != key.Entity.PrimaryKey
	sigs := []*packet.Signature{sig, primarySelf}
	if bySubkey {
		sigs = append(sigs, key.SelfSignature)
		if key.SelfSignature != nil {
			sigs = append(sigs, key.SelfSignature.EmbeddedSignature)
		}
	}
	for _, s := range sigs {
		if s == nil {
			continue
		}
		for _, n := range s.Notations {
			if n.IsCritical && !cfg.KnownNotation(n.Name) {
				return fmt.Sprintf("The signature or the signer's key carries a critical notation securesend does not understand (%q), so the signature cannot be accepted.", n.Name)
			}
		}
	}
	if primarySelf == nil {
		return "The signer's key has no valid self-signature."
	}
	switch {
	case key.Entity.Revoked(now):
		return "The signer's key has been revoked."
	case bySubkey && key.Revoked(now):
		return "The signer's signing subkey has been revoked."
	case primaryID != nil && primaryID.Revoked(now):
		return "The signer's key has revoked its primary user ID."
	}
	if key.Entity.PrimaryKey.KeyExpired(primarySelf, now) {
		return "The signer's key has expired."
	}
	if bySubkey && (key.SelfSignature == nil || key.PublicKey.KeyExpired(key.SelfSignature, now)) {
		return "The signer's signing subkey has expired."
	}
	if sig.CreationTime.Unix() > now.Unix() {
		return fmt.Sprintf("The signature is dated in the future (%s); the sender's clock may be wrong, or the message was prepared to look newer than it is.", sig.CreationTime.UTC().Format(time.RFC1123))
	}
	for _, s := range sigs {
		if s != nil && s.SigExpired(now) {
			if s == sig {
				return "The signature has expired."
			}
			return "A self-signature of the signer's key has expired."
		}
	}
	if sig.CreationTime.Before(key.PublicKey.CreationTime) {
		return "The signature is older than the key that made it."
	}
	return ""
}

// Read-ahead of the encrypted path: chunk size and how many chunks a
// stage may run ahead of the next (about 1 MB in all).
const (
	aheadSize  = 128 << 10
	aheadDepth = 3
)

// decryptingReader records errors from the decrypted stream: any error
// there (integrity check, damaged packets) means the ciphertext is bad.
type decryptingReader struct {
	r   io.Reader
	err error
}

func (d *decryptingReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		d.err = err
	}
	return n, err
}

// encrypted handles a multipart/encrypted body (RFC 3156 section 4).
func (v *verifier) encrypted(params map[string]string, body io.Reader, depth int) (signature, string) {
	v.rep.Encrypted = true
	damaged := "The encrypted message is damaged or malformed, so it cannot be decrypted."
	if !strings.EqualFold(params["protocol"], "application/pgp-encrypted") || params["boundary"] == "" {
		v.decryptFailed = "The message is encrypted with an unsupported method."
		return signature{}, ""
	}
	rr := pgpmime.NewRawReader(body, params["boundary"])
	ctl, err := rr.NextPart()
	if err != nil {
		v.decryptFailed = damaged
		return signature{}, ""
	}
	ce, err := message.Read(io.LimitReader(ctl, 64<<10))
	if err != nil {
		v.decryptFailed = damaged
		return signature{}, ""
	}
	if mt, _, _ := ce.Header.ContentType(); mt != "application/pgp-encrypted" {
		v.decryptFailed = damaged
		return signature{}, ""
	}
	part, err := rr.NextPart()
	if err != nil {
		v.decryptFailed = damaged
		return signature{}, ""
	}
	plr := &io.LimitedReader{R: part, N: maxHeaderSize}
	pbr := bufio.NewReaderSize(plr, 16<<10)
	ph, err := textproto.ReadHeader(pbr)
	if err != nil {
		v.decryptFailed = damaged
		return signature{}, ""
	}
	plr.N = 1 << 62
	br := bufio.NewReaderSize(transferDecoder(ph.Get("Content-Transfer-Encoding"), pbr), 64<<10)
	var ct io.Reader = br
	if head, _ := br.Peek(64); bytes.Contains(head, []byte("-----BEGIN PGP")) {
		ct = pgpmime.ArmorReader(br)
	}
	if len(v.opts.Secret) == 0 {
		v.decryptFailed = "The message is encrypted, and you have no key of your own to decrypt it with."
		return signature{}, ""
	}
	cfg := pgp.Config(func() time.Time { return v.now })
	hard := int64(maxDecompressedCap)
	if v.opts.MaxDecompressed > 0 && v.opts.MaxDecompressed < hard {
		hard = v.opts.MaxDecompressed
	}
	cfg.MaxDecompressedMessageSize = &hard
	// Four stages on as many cores as there are, each on its own
	// goroutine, about 1 MB of read-ahead between them: reading and
	// de-armoring the ciphertext; decrypting it (go-crypto's OpenPGP CFB
	// and the SHA-1 MDC, the most expensive, alone); reading the decrypted
	// packets (inflateFirst, then go-crypto: the signature hash); parsing and
	// hashing the plaintext (v.content).
	armored := readAhead(ct, aheadSize, aheadDepth)
	defer armored.Close()
	consumed := &countingReader{r: armored}
	decrypted, err := openEncrypted(consumed, v.ring, cfg)
	if err != nil {
		if errors.Is(err, pgperrors.ErrKeyIncorrect) {
			v.decryptFailed = "The message was not encrypted to your key, so it cannot be decrypted."
		} else {
			v.decryptFailed = damaged
		}
		return signature{}, ""
	}
	sealed := &sealedReader{rc: decrypted}
	packets := readAhead(sealed, aheadSize, aheadDepth)
	defer packets.Close()
	pbuf := bufio.NewReaderSize(packets, compressionScan)
	reason, textSig, signers := checkCompression(pbuf)
	if reason != "" {
		v.decryptFailed = reason
		return signature{}, ""
	}
	stream, finish, err := inflateFirst(pbuf, hard)
	if err != nil {
		v.decryptFailed = damaged
		return signature{}, ""
	}
	// All the packets go-crypto reads count against the expansion bound,
	// not only the literal data (lim below): after it, go-crypto reads
	// on to the end of the decompressed stream (a signed message's
	// signature, padding, unknown packets), and that may be most of it.
	bounded := &expansionLimiter{r: stream, in: consumed, hard: hard}
	md, err := openpgp.ReadMessage(bounded, v.ring, nil, cfg)
	if err != nil || md.IsEncrypted {
		// md.IsEncrypted: an encrypted message inside the encrypted one.
		v.decryptFailed = damaged
		return signature{}, ""
	}
	lim := &expansionLimiter{r: md.UnverifiedBody, in: consumed, hard: hard}
	dec := &decryptingReader{r: lim}
	plain := readAhead(dec, aheadSize, aheadDepth)
	if md.IsSigned {
		// The signature of the OpenPGP message covers all its plaintext.
		v.signedScope++
	}
	binaryBefore := v.binaryParts
	// A text signature covers the literal data with its line ends made
	// CRLF (go-crypto's canonical form), not the data itself: the content
	// is parsed from exactly the bytes hashed, so that line ends changed
	// by whoever re-encrypted the signed data (a second recipient, the
	// sender's mail system) change nothing released.
	var signedBytes io.Reader = plain
	if textSig {
		signedBytes = pgpmime.TextSignatureReader(plain)
	}
	inner, hdr, structErr := v.content(signedBytes, depth+1, true)
	binary := v.binaryParts > binaryBefore
	if md.IsSigned {
		v.signedScope--
	}
	_, err = io.Copy(io.Discard, plain)
	plain.Close()
	if err == nil && dec.err == nil {
		// go-crypto stops reading packets at the first error after the
		// literal data (and does not report it); read the decrypted
		// stream to its end so that the MDC is always checked. The
		// compression layer inflateFirst took off must end cleanly, with
		// nothing after its packet: a malformed stream, refused even when
		// its MDC is good.
		ferr := finish()
		if bounded.err != nil {
			ferr = bounded.err // go-crypto did not report it
		}
		_, err = io.Copy(io.Discard, pbuf)
		if err == nil && sealed.err == nil && ferr != nil && !errors.Is(ferr, pgperrors.ErrMessageTooLarge) && !errors.Is(ferr, errExpansion) {
			v.decryptFailed = damaged
			return signature{}, ""
		}
		if err == nil {
			err = ferr
		}
	}
	packets.Close()
	armored.Close() // before the outer reader is used again (rr.NextPart)
	if err != nil || dec.err != nil || sealed.err != nil {
		v.decryptFailed = "The encrypted message was altered or damaged in transit (integrity check failed); its content cannot be trusted."
		if errors.Is(dec.err, pgperrors.ErrMessageTooLarge) || errors.Is(err, pgperrors.ErrMessageTooLarge) ||
			errors.Is(dec.err, errExpansion) || errors.Is(err, errExpansion) {
			v.decryptFailed = "The encrypted message expands to far more data than it holds (a compression bomb?); it was not read."
		}
		return signature{}, ""
	}
	switch _, err := rr.NextPart(); {
	case err == nil:
		// A part after the encrypted one is outside the encryption and
		// any signature inside it: anyone could have added it, whatever
		// the signature says about the rest.
		return badSig("The encrypted message has extra parts outside the encryption; anyone could have added them."), structErr
	case err != io.EOF:
		// The close delimiter is missing (a message cut after its
		// OpenPGP data): nothing was added, the content is complete.
		v.partial = true
	}
	v.encHdr = hdr
	outer := v.messageSignature(md)
	switch {
	case signers > 1:
		// go-crypto checks one signature, by the key of the last One-Pass
		// Signature packet, and keeps the key of an earlier one when it
		// does not know that one: a message signed by the sender and by
		// a key not in the store came out as altered or forged.
		outer = badSig("%s", manySigners)
	case outer.present && outer.bad == "" && md.Signature != nil && (md.Signature.SigType == packet.SigTypeText) != textSig:
		// The One-Pass Signature packet, which is not signed, decided how
		// the data was hashed; it must announce the signature that follows.
		outer = badSig("%s", sigTypeMismatch)
	case binary && outer.present && outer.bad == "" && (textSig || textSignature(md)):
		outer = badSig("%s", binaryUncovered)
	}
	outer.hdr = hdr
	switch {
	case inner.present && outer.present && outer.bad != "":
		return outer, structErr
	case inner.present:
		return inner, structErr
	default:
		return outer, structErr
	}
}

// manySigners is the reason for a signed and encrypted message with
// more than one signature (One-Pass Signature packets).
const manySigners = "The message inside the encryption is signed with more than one key; securesend checks messages signed with exactly one, so it cannot say who vouches for it. Ask the sender to sign with their own key only."

// sigTypeMismatch is the reason for a signed and encrypted message whose
// signature is of another type (text or binary) than the One-Pass
// Signature packet before the data announced.
const sigTypeMismatch = "The signature inside the encrypted message is not of the kind announced before the signed data (text or binary), so it does not cover the data as it was read; the message was altered or forged. Ask the sender to send it again."

// textSignature reports whether the signature of the OpenPGP message md,
// verified or not, is a text signature (type 0x01: the literal data is
// hashed with its line ends made CRLF).
func textSignature(md *openpgp.MessageDetails) bool {
	if md.Signature != nil && md.Signature.SigType == packet.SigTypeText {
		return true
	}
	for _, s := range md.UnverifiedSignatures {
		if s != nil && s.SigType == packet.SigTypeText {
			return true
		}
	}
	return false
}

// messageSignature is the verdict on the signature inside an OpenPGP
// message (the combined signed-and-encrypted form), after its body has
// been read to the end.
func (v *verifier) messageSignature(md *openpgp.MessageDetails) signature {
	if !md.IsSigned {
		return signature{}
	}
	res := signature{present: true, keyID: fmt.Sprintf("%016X", md.SignedByKeyId)}
	if md.SignedBy == nil {
		res.unknown = true
		for _, s := range md.UnverifiedSignatures {
			if len(s.IssuerFingerprint) > 0 {
				res.fpr = pgp.Fingerprint(strings.ToUpper(hex.EncodeToString(s.IssuerFingerprint)))
			}
		}
		return res
	}
	if md.SignatureError != nil && md.Signature != nil && md.Signature.IssuerKeyId != nil && *md.Signature.IssuerKeyId == md.SignedBy.PublicKey.KeyId {
		// go-crypto checked the hash and then the key (revoked,
		// expired, notations): the same reasons as the detached form.
		if reason := v.keyProblem(*md.SignedBy, md.Signature); reason != "" {
			return badSig("%s", reason)
		}
	}
	if md.SignatureError != nil || md.Signature == nil {
		if errors.Is(md.SignatureError, pgperrors.ErrKeyRevoked) {
			return badSig("The signer's key has been revoked.")
		}
		return badSig("The signature does not match the content: the message was altered after it was signed, or the signature is forged.")
	}
	if reason := v.keyProblem(*md.SignedBy, md.Signature); reason != "" {
		return badSig("%s", reason)
	}
	res.signer = md.SignedBy.Entity
	res.fpr = pgp.Fingerprint(strings.ToUpper(hex.EncodeToString(md.SignedBy.Entity.PrimaryKey.Fingerprint)))
	return res
}

// judge turns the signature finding into the verdict and reason, and
// chooses the header fields to show.
func (v *verifier) judge(sig signature, structErr string) {
	r := v.rep
	r.SignerFingerprint = string(sig.fpr)
	v.showHeaders(sig)
	switch {
	case !sig.present && v.partial:
		r.Verdict, r.Reason = BadSignature, "Only part of this message is signed or encrypted; the rest could have been added by anyone."
	case !sig.present:
		r.Verdict, r.Reason = NotSigned, "This message is not signed: there is no proof of who sent it or that it was not altered."
		if r.Encrypted {
			r.Reason = "This message was encrypted to you but is not signed: there is no proof of who sent it."
		}
		if structErr != "" {
			r.Reason += " " + structErr
		}
	case sig.bad != "":
		r.Verdict, r.Reason = BadSignature, sig.bad
	case sig.unknown:
		r.Verdict = UnknownSigner
		if sig.fpr != "" {
			r.Reason = fmt.Sprintf("Signed by a key that is not in your address book (fingerprint %s). The signature could not be checked.", sig.fpr.Grouped())
		} else {
			r.Reason = fmt.Sprintf("Signed by a key that is not in your address book (key ID %s). The signature could not be checked.", sig.keyID)
		}
		v.impostor(sig)
	default:
		v.judgeSigner(sig)
	}
	if !r.Verdict.Releasable() {
		v.showOuter()
	}
}

// showHeaders puts the header fields to show in the report: the protected
// ones of the payload the signature covers, marked signed when the
// signature is good; else the protected ones of the decrypted payload
// (encrypted, not signed); else the outer ones. When protected fields are
// shown, outer (and other unsigned) values that differ are listed as
// Unprotected, never merged.
func (v *verifier) showHeaders(sig signature) {
	r := v.rep
	good := sig.present && sig.bad == "" && sig.signer != nil
	switch {
	case sig.present && sig.bad == "" && sig.hdr != nil:
		v.shown = sig.hdr
		show(r, sig.hdr, good, true, v.outer)
		r.Unprotected = append(unprotected(sig.hdr, v.encHdr), unprotected(sig.hdr, v.outer)...)
	case v.encHdr != nil:
		v.shown = v.encHdr
		show(r, v.encHdr, false, true, v.outer)
		r.Unprotected = unprotected(v.encHdr, v.outer)
	default:
		v.shown = v.outer
		show(r, v.outer, false, false, nil)
	}
}

// showOuter shows only the outer header fields: for a message that is not
// Releasable nothing from inside is reported.
func (v *verifier) showOuter() {
	v.shown = v.outer
	show(v.rep, v.outer, false, false, nil)
	v.rep.Unprotected = nil
}

// release publishes what was held back until the verdict: for a
// Releasable verdict the note, the omitted parts and the documents (replayed
// to the sink); otherwise nothing, and the report says it was withheld.
func (v *verifier) release() error {
	r := v.rep
	if !r.Verdict.Releasable() {
		r.Note, r.Omitted, r.Documents = "", nil, []Document{}
		r.Withheld = true
		r.Remarks = append(r.Remarks, "Nothing from inside this message is shown or saved (no note, no documents, no signed header fields), because it failed its check. The raw message may be kept for investigation only.")
		return nil
	}
	r.Note, r.Omitted = v.noteText.String(), v.omitted
	docs, err := v.stage.release(v.ctx, v.opts.Sink)
	if err != nil {
		return err
	}
	r.Documents = docs
	return nil
}

// pinnedFor returns the fingerprints of the keys pinned (or the user's
// own) for addr, in the store.
func (v *verifier) pinnedFor(addr string) []pgp.Fingerprint {
	var out []pgp.Fingerprint
	if addr == "" {
		return nil
	}
	for fpr, e := range v.trust {
		if (e.Trust == pgp.Pinned || e.Secret) && containsAddr(e.Emails, addr) {
			out = append(out, fpr)
		}
	}
	slices.Sort(out)
	return out
}

// impostor raises the red warning when the message claims a sender for
// whom a different key is pinned than the one that signed it.
func (v *verifier) impostor(sig signature) {
	r := v.rep
	for _, fpr := range v.pinnedFor(r.From) {
		if fpr == sig.fpr {
			continue
		}
		who := "fingerprint " + sig.fpr.Grouped()
		if sig.fpr == "" {
			who = "key ID " + sig.keyID
		}
		r.Impostor = true
		r.SignerKey = ""
		r.Reason = fmt.Sprintf("WARNING: you have a different, pinned key for %s (fingerprint %s), but this message was signed with another key (%s). It may come from an impostor; do not act on it before calling the sender.", r.From, fpr.Grouped(), who)
		return
	}
}

// boundIdentity names the identity the user bound the key to: the user
// ID of the key for addr when the entry is bound to addr, else the user ID
// (or address) of the first address the entry is bound to; never an
// address the key claims but the user did not bind.
func boundIdentity(pub *pgp.PublicKey, entry pgp.Entry, addr string) string {
	if addr != "" && containsAddr(entry.Emails, addr) {
		if id := pub.UserIDFor(addr); id != "" {
			return id
		}
		return "<" + addr + ">"
	}
	if len(entry.Emails) > 0 {
		if id := pub.UserIDFor(entry.Emails[0]); id != "" {
			return id
		}
		return "<" + entry.Emails[0] + ">"
	}
	return fmt.Sprintf("a key bound to no address (fingerprint %s)", pub.Fingerprint().Grouped())
}

func (v *verifier) judgeSigner(sig signature) {
	r := v.rep
	pub := v.keys[sig.fpr]
	entry, known := v.trust[sig.fpr]
	if pub == nil || !known {
		// The key is one of the user's own secret keys not in the store.
		for _, k := range v.opts.Secret {
			if k.Public().Fingerprint() == sig.fpr {
				pub, entry, known = k.Public(), pgp.Entry{Trust: pgp.Pinned, Secret: true, Emails: k.Public().Emails()}, true
			}
		}
	}
	if pub == nil {
		r.Verdict, r.Reason = UnknownSigner, fmt.Sprintf("Signed by a key that is not in your address book (fingerprint %s).", sig.fpr.Grouped())
		if c := v.carried; c != nil && c.Fingerprint() == sig.fpr {
			var b strings.Builder
			if err := c.WriteArmored(&b); err == nil {
				r.SignerKey = b.String()
			}
			r.SignerUserID = c.UserIDFor(r.From)
			r.Reason = fmt.Sprintf("Good signature by a key that calls itself %q, but it is not in your address book. Compare its fingerprint %s with the sender (by phone), then add and pin it.", r.SignerUserID, sig.fpr.Grouped())
		}
		v.impostor(sig)
		return
	}
	pinned := entry.Trust == pgp.Pinned || entry.Secret
	if pinned {
		r.SignerUserID = boundIdentity(pub, entry, r.From)
	} else {
		r.SignerUserID = pub.UserIDFor(r.From)
		if r.SignerUserID == "" {
			if ids := pub.UserIDs(); len(ids) > 0 {
				r.SignerUserID = ids[0]
			}
		}
	}
	others := slices.DeleteFunc(v.pinnedFor(r.From), func(f pgp.Fingerprint) bool { return f == sig.fpr })
	switch {
	case !pinned:
		r.Verdict, r.Reason = UnknownSigner, fmt.Sprintf("Good signature by a key that calls itself %q, but that key is not pinned: compare its fingerprint %s with the sender (by phone) and pin it.", r.SignerUserID, sig.fpr.Grouped())
		v.impostor(sig)
	case len(others) > 0 && containsAddr(entry.Emails, r.From):
		r.Verdict, r.Reason = SenderMismatch, fmt.Sprintf("Two different keys are pinned for %s (fingerprints %s and %s), so mail from that address cannot be verified. Call the sender to find out which key is theirs, then run \"securesend keys pin --replace\" with it or \"securesend keys delete\" the other.", r.From, sig.fpr.Grouped(), others[0].Grouped())
	case r.From == "" || !pub.HasEmail(r.From) || !containsAddr(entry.Emails, r.From):
		r.Verdict, r.Reason = SenderMismatch, fmt.Sprintf("Good signature by %s, but the message claims to be from %q.", r.SignerUserID, r.From)
	case v.shown.fromCount > 1:
		r.Verdict, r.Reason = SenderMismatch, fmt.Sprintf("Good signature by %s, but the message names more than one sender.", r.SignerUserID)
	default:
		v.judgeRecipients()
	}
}

// judgeRecipients gives the verdict on a good signature by the pinned key
// of the sender: Verified, unless the signed recipients name none of the
// user's addresses (NotAddressed).
func (v *verifier) judgeRecipients() {
	r := v.rep
	what := "signed"
	if r.Encrypted {
		what = "encrypted and signed"
	}
	if !r.Signed.To && !r.Signed.Cc {
		r.Verdict, r.Reason = Verified, fmt.Sprintf("Verified: %s by %s, not altered.", what, r.SignerUserID)
		r.Remarks = append(r.Remarks, "The signature does not say whom the message was for (it has no signed To or Cc), so a copy sent to someone else would look the same.")
		return
	}
	recips := append(slices.Clone(r.To), r.Cc...)
	for _, a := range recips {
		if v.mine[strings.ToLower(a)] {
			r.Verdict, r.Reason = Verified, fmt.Sprintf("Verified: %s by %s for you, not altered.", what, r.SignerUserID)
			return
		}
	}
	r.Verdict = NotAddressed
	r.Reason = fmt.Sprintf("Signed by %s for %s, not for you; it may have been forwarded or replayed. Do not act on it (for example, dispense) before checking with the sender.", r.SignerUserID, strings.Join(recips, ", "))
	if len(v.mine) == 0 {
		r.Reason += " (None of your own addresses is known to securesend, so it could not match any.)"
	}
}

// fromAddress returns the lower-cased address of the From field, "" if
// there is none or it cannot be read.
func fromAddress(h textproto.Header) string {
	mh := gomail.Header{Header: message.Header{Header: h}}
	if from, err := mh.AddressList("From"); err == nil && len(from) > 0 {
		return strings.ToLower(from[0].Address)
	}
	return pgp.NormalizeAddress(h.Get("From"))
}

func containsAddr(list []string, a string) bool {
	for _, x := range list {
		if strings.EqualFold(x, a) {
			return true
		}
	}
	return false
}

// plainError gives a short reason for a parse error.
func plainError(err error) string {
	if errors.Is(err, pgpmime.ErrMalformed) {
		return "it is malformed or truncated"
	}
	return err.Error()
}
