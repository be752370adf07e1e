package receive

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
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
)

// Limits on hostile input.
const (
	maxDepth      = 12      // MIME nesting
	maxHeaderSize = 1 << 20 // one header block
	maxNote       = 1 << 20 // note text kept
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
	// Sink receives each document's content while the message is read.
	// Nil discards it (sizes and hashes are still computed).
	Sink DocumentSink
	// Now is the time signatures and keys are checked at; time.Now when nil.
	Now func() time.Time
	// MaxDecompressed bounds what compressed OpenPGP data may expand to
	// (compression bombs); 1 GiB when zero.
	MaxDecompressed int64

	verifyOptionsContract // contract shim (h-front only): delete on merge
}

// Verify reads one RFC 5322 message from msg and returns its Report.
//
// The returned error is for I/O failures only (reading msg, the Sink, the
// key store, a cancelled ctx); every cryptographic or structural outcome,
// including garbage input, is a Verdict in the Report. Documents are handed
// to opts.Sink as they are parsed, before the verdict is known: show the
// verdict next to them.
func Verify(ctx context.Context, msg io.Reader, opts VerifyOptions) (*Report, error) {
	v, err := newVerifier(ctx, opts)
	if err != nil {
		return nil, err
	}
	v.src = &sourceReader{ctx: ctx, r: msg}
	v.run()
	if v.src.err != nil {
		return nil, fmt.Errorf("receive: read message: %w", v.src.err)
	}
	if v.sinkErr != nil {
		return nil, v.sinkErr
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

	sinkErr       error
	parts         int
	carried       *pgp.PublicKey // the sender's key from the Autocrypt header, not in the store
	fromAmbiguous bool           // more than one From field or address
	decryptFailed string         // reason, when decryption failed
	partial       bool           // a signed or encrypted part nested in unsigned content
	protectedFrom string
}

func newVerifier(ctx context.Context, opts VerifyOptions) (*verifier, error) {
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	v := &verifier{ctx: ctx, opts: opts, now: now, rep: &Report{Documents: []Document{}},
		keys: map[pgp.Fingerprint]*pgp.PublicKey{}, trust: map[pgp.Fingerprint]pgp.Entry{}}
	for _, k := range opts.Secret {
		v.ring = append(v.ring, k.Entity())
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
}

func badSig(format string, a ...any) signature {
	return signature{present: true, bad: fmt.Sprintf(format, a...)}
}

func (v *verifier) run() {
	lr := &io.LimitedReader{R: v.src, N: maxHeaderSize}
	br := bufio.NewReaderSize(lr, 64<<10)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		v.judge(signature{}, "This file could not be read as an e-mail message.")
		return
	}
	lr.N = 1 << 62
	v.outerHeader(h)
	sig, structErr := v.entity(h, br, 0, true)
	if v.decryptFailed != "" {
		v.rep.Verdict, v.rep.Reason = CannotDecrypt, v.decryptFailed
		return
	}
	if structErr != "" && sig.present && sig.bad == "" {
		sig = badSig("%s", structErr)
	}
	v.judge(sig, structErr)
}

func (v *verifier) outerHeader(h textproto.Header) {
	mh := message.Header{Header: h}
	if subj, err := mh.Text("Subject"); err == nil {
		v.rep.Subject = subj
	}
	v.rep.From = fromAddress(h)
	gh := gomail.Header{Header: mh}
	if list, err := gh.AddressList("From"); len(h.Values("From")) > 1 || (err == nil && len(list) > 1) {
		v.fromAmbiguous = true
	}
	// A key the message carries (Autocrypt) is only ever used to tell a
	// good signature by an unknown key from a bad one; it is never trusted.
	if ac := h.Get("Autocrypt"); ac != "" {
		if addr, k, err := pgp.ParseAutocrypt(ac); err == nil && addr == v.rep.From {
			if _, known := v.keys[k.Fingerprint()]; !known {
				v.carried = k
				v.ring = append(v.ring, k.Entity())
			}
		}
	}
	v.rep.MessageID = strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>")
	if d, err := mail.ParseDate(h.Get("Date")); err == nil {
		v.rep.Date = d
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
		rr := pgpmime.NewRawReader(body, params["boundary"])
		for {
			part, err := rr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			lr := &io.LimitedReader{R: part, N: maxHeaderSize}
			br := bufio.NewReaderSize(lr, 16<<10)
			ph, err := textproto.ReadHeader(br)
			if err != nil {
				return fmt.Errorf("part header: %w", err)
			}
			lr.N = 1 << 62
			if err := v.collect(ph, br, depth+1, false); err != nil {
				return err
			}
		}
	}
	decoded := transferDecoder(h.Get("Content-Transfer-Encoding"), body)
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
		v.rep.Omitted = append(v.rep.Omitted, "HTML part not displayed")
		_, err := io.Copy(io.Discard, decoded)
		return err
	default:
		return v.document(name, mt, decoded)
	}
}

// transferDecoder decodes a Content-Transfer-Encoding (RFC 2045); unknown
// encodings are passed through undecoded.
func transferDecoder(cte string, r io.Reader) io.Reader {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return pgpmime.Base64Reader(r)
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	}
	return r
}

func (v *verifier) note(r io.Reader) error {
	var b strings.Builder
	n, err := io.Copy(&b, io.LimitReader(r, maxNote))
	if err != nil {
		return err
	}
	if n == maxNote {
		if m, err := io.Copy(io.Discard, r); err != nil {
			return err
		} else if m > 0 {
			v.rep.Omitted = append(v.rep.Omitted, "the rest of a very long note")
		}
	}
	text := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || (r >= 0x20 && r != 0x7f && !(r >= 0x80 && r < 0xa0) && !(r >= 0x202a && r <= 0x202e) && !(r >= 0x2066 && r <= 0x2069)) {
			return r
		}
		return -1
	}, strings.ReplaceAll(b.String(), "\r\n", "\n"))
	if v.rep.Note != "" {
		v.rep.Note += "\n\n"
	}
	v.rep.Note += text
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

func (v *verifier) document(name, contentType string, body io.Reader) error {
	name = SanitizeName(name)
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	sum := sha256.New()
	cnt := &counter{}
	tr := &trackingReader{r: body}
	r := io.TeeReader(tr, io.MultiWriter(sum, cnt))
	doc := Document{Name: name, ContentType: contentType}
	if v.opts.Sink != nil {
		path, err := v.opts.Sink(name, contentType, r)
		if err != nil {
			if tr.err != nil {
				return tr.err // the content, not the sink, failed
			}
			if v.sinkErr == nil {
				v.sinkErr = fmt.Errorf("receive: document %s: %w", name, err)
			}
			return err
		}
		doc.Path = path
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	doc.Size = cnt.n
	doc.SHA256 = hex.EncodeToString(sum.Sum(nil))
	v.rep.Documents = append(v.rep.Documents, doc)
	return nil
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
		return badSig("The message is signed with an unsupported method (%s).", params["protocol"]), ""
	}
	algo, ok := micalgHash(params["micalg"])
	if !ok {
		return badSig("The signature uses an unsupported or weak hash (%s).", params["micalg"]), ""
	}
	rr := pgpmime.NewRawReader(body, boundary)
	part, err := rr.NextPart()
	if err != nil {
		return badSig("The signed message is malformed: %s.", plainError(err)), ""
	}
	h := algo.New()
	tee := &trackingReader{r: io.TeeReader(part, pgpmime.CRLFWriter(h))}
	_, structErr := v.content(tee, depth+1, false)
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
	return v.check(h, algo, sig), structErr
}

// content parses the raw entity (header and body) in r: the root of what
// is displayed. Protected header fields in it replace the outer ones. root
// is true for the plaintext of an encrypted message, which may itself be a
// multipart/signed entity (RFC 3156 section 6.1, sign then encrypt).
func (v *verifier) content(r io.Reader, depth int, root bool) (signature, string) {
	lr := &io.LimitedReader{R: r, N: maxHeaderSize}
	br := bufio.NewReaderSize(lr, 32<<10)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return signature{}, "The message content could not be read."
	}
	lr.N = 1 << 62
	mh := message.Header{Header: h}
	if h.Has("Subject") {
		if s, err := mh.Text("Subject"); err == nil {
			v.rep.Subject = s
			v.rep.SubjectSigned = true
		}
	}
	if h.Has("From") {
		v.protectedFrom = fromAddress(h)
		if v.protectedFrom == "" {
			v.protectedFrom = "(unreadable)"
		}
	}
	return v.entity(h, br, depth, root)
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

// keyProblem checks what go-crypto's message reader checks for us on the
// combined form: signature expiry, revocation, key expiry at signing time.
func (v *verifier) keyProblem(key openpgp.Key, sig *packet.Signature) string {
	if sig.SigExpired(v.now) {
		return "The signature has expired."
	}
	if key.Entity.Revoked(v.now) || key.Revoked(v.now) {
		return "The signer's key has been revoked."
	}
	if self, _ := key.Entity.PrimarySelfSignature(); self != nil && key.Entity.PrimaryKey.KeyExpired(self, sig.CreationTime) {
		return "The signer's key had expired when the message was signed."
	}
	if key.SelfSignature != nil && key.PublicKey.KeyExpired(key.SelfSignature, sig.CreationTime) {
		return "The signer's key had expired when the message was signed."
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
	pe, err := message.Read(part)
	if err != nil {
		v.decryptFailed = damaged
		return signature{}, ""
	}
	br := bufio.NewReaderSize(pe.Body, 64<<10)
	var ct io.Reader = br
	if head, _ := br.Peek(64); bytes.Contains(head, []byte("-----BEGIN PGP")) {
		ct = pgpmime.ArmorReader(br)
	}
	if len(v.opts.Secret) == 0 {
		v.decryptFailed = "The message is encrypted, and you have no key of your own to decrypt it with."
		return signature{}, ""
	}
	cfg := pgp.Config(func() time.Time { return v.now })
	if v.opts.MaxDecompressed > 0 {
		cfg.MaxDecompressedMessageSize = &v.opts.MaxDecompressed
	}
	// Four stages on as many cores as there are, each on its own
	// goroutine, about 1 MB of read-ahead between them: reading and
	// de-armoring the ciphertext; decrypting it (go-crypto's OpenPGP CFB
	// and the SHA-1 MDC, the most expensive, alone); reading the decrypted
	// packets (go-crypto: decompression, the signature hash); parsing and
	// hashing the plaintext (v.content).
	armored := readAhead(ct, aheadSize, aheadDepth)
	defer armored.Close()
	decrypted, err := openEncrypted(armored, v.ring, cfg)
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
	md, err := openpgp.ReadMessage(packets, v.ring, nil, cfg)
	if err != nil || md.IsEncrypted {
		// md.IsEncrypted: an encrypted message inside the encrypted one.
		v.decryptFailed = damaged
		return signature{}, ""
	}
	dec := &decryptingReader{r: md.UnverifiedBody}
	plain := readAhead(dec, aheadSize, aheadDepth)
	inner, structErr := v.content(plain, depth+1, true)
	_, err = io.Copy(io.Discard, plain)
	plain.Close()
	if err == nil && dec.err == nil {
		// go-crypto stops reading packets at the first error after the
		// literal data (and does not report it); read the decrypted
		// stream to its end so that the MDC is always checked.
		_, err = io.Copy(io.Discard, packets)
	}
	packets.Close()
	armored.Close() // before the outer reader is used again (rr.NextPart)
	if err != nil || dec.err != nil || sealed.err != nil {
		v.decryptFailed = "The encrypted message was altered or damaged in transit (integrity check failed); its content cannot be trusted."
		if errors.Is(dec.err, pgperrors.ErrMessageTooLarge) || errors.Is(err, pgperrors.ErrMessageTooLarge) {
			v.decryptFailed = "The encrypted message expands to more data than allowed (a compression bomb?); it was not read."
		}
		return signature{}, ""
	}
	if _, err := rr.NextPart(); err != io.EOF {
		v.partial = true
	}
	outer := v.messageSignature(md)
	switch {
	case inner.present && outer.present && outer.bad != "":
		return outer, structErr
	case inner.present:
		return inner, structErr
	default:
		return outer, structErr
	}
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

// judge turns the signature finding into the verdict and reason.
func (v *verifier) judge(sig signature, structErr string) {
	r := v.rep
	r.SignerFingerprint = string(sig.fpr)
	if !sig.present || sig.bad != "" || sig.unknown {
		r.SubjectSigned = false // nothing vouches for it
	}
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
	default:
		v.judgeSigner(sig)
	}
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
			r.Reason = fmt.Sprintf("Good signature by %s, but with a key that is not in your address book. Compare its fingerprint %s with the sender (by phone), then add and pin it.", r.SignerUserID, sig.fpr.Grouped())
		}
		for fpr, e := range v.trust {
			if fpr != sig.fpr && e.Trust == pgp.Pinned && containsAddr(e.Emails, r.From) {
				r.Reason = fmt.Sprintf("WARNING: you have a different, pinned key for %s, but this message was signed with another key (fingerprint %s). It may come from an impostor; do not act on it before calling the sender.", r.From, sig.fpr.Grouped())
				r.SignerKey = ""
				break
			}
		}
		return
	}
	r.SignerUserID = pub.UserIDFor(r.From)
	if r.SignerUserID == "" {
		if ids := pub.UserIDs(); len(ids) > 0 {
			r.SignerUserID = ids[0]
		}
	}
	switch {
	case entry.Trust != pgp.Pinned && !entry.Secret:
		r.Verdict, r.Reason = UnknownSigner, fmt.Sprintf("Good signature by %s, but that key is not pinned: compare its fingerprint %s with the sender (by phone) and pin it.", r.SignerUserID, sig.fpr.Grouped())
	case r.From == "" || !pub.HasEmail(r.From) || !containsAddr(entry.Emails, r.From):
		r.Verdict, r.Reason = SenderMismatch, fmt.Sprintf("Good signature by %s, but the message claims to be from %q.", r.SignerUserID, r.From)
	case v.fromAmbiguous:
		r.Verdict, r.Reason = SenderMismatch, fmt.Sprintf("Good signature by %s, but the message names more than one sender.", r.SignerUserID)
	case v.protectedFrom != "" && v.protectedFrom != r.From:
		r.Verdict, r.Reason = SenderMismatch, fmt.Sprintf("The signed sender %q differs from the visible sender %q.", v.protectedFrom, r.From)
	default:
		what := "signed"
		if r.Encrypted {
			what = "encrypted and signed"
		}
		r.Verdict, r.Reason = Verified, fmt.Sprintf("Verified: %s by %s, not altered.", what, r.SignerUserID)
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
