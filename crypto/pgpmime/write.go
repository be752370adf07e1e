package pgpmime

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/securesend/securesend/crypto/pgp"
)

// EntityFunc writes one complete MIME entity (its header fields, a blank
// line, its body) to w.
type EntityFunc func(w io.Writer) error

// Options are the inputs of WriteSigned and WriteEncrypted.
type Options struct {
	// Signer is the user's unlocked key. Required.
	Signer *pgp.Key
	// Recipients are the keys to encrypt to (WriteEncrypted only). The
	// signer's own key is added so the sender can read the sent copy.
	Recipients []*pgp.PublicKey
	// Now is the signature time source; time.Now when nil.
	Now func() time.Time
	// Binary says that the entity content writes is already in its final
	// form, header sections and text with CRLF line ends and document
	// bodies with "Content-Transfer-Encoding: binary": WriteEncrypted then
	// passes it on unchanged instead of turning bare LFs into CRLF, which
	// would alter the documents' bytes. Only the combined signed and
	// encrypted form may carry binary parts (RFC 3156 section 6.2: the
	// signed data is the binary Literal Data packet); WriteSigned refuses
	// it (RFC 3156 section 5: multipart/signed content is 7-bit).
	Binary bool
	// Compression is how WriteEncrypted compresses the signed data inside
	// the encryption (only when every key lists ZIP in its preferences;
	// else the data stays uncompressed). The zero value is
	// CompressHuffman.
	Compression Compression
}

// Compression is a choice of compression inside the encryption.
type Compression int

const (
	// CompressHuffman deflates Huffman-only (no match search): it wins
	// back most of base64's 33% at high speed, and about half of
	// uncompressed or PackBits TIFF and text PDFs. Each byte takes at
	// least one bit, so the data never expands more than 8 times, well
	// within what receivers accept before they call it a compression bomb
	// (securesend: 32 times the ciphertext read, over 64 MiB). Deflate
	// with match search (even BestSpeed) has no such bound: a blank page
	// in an uncompressed TIFF deflates a thousandfold, and a large one
	// would be refused.
	CompressHuffman Compression = iota
	// CompressNone writes the data uncompressed: for binary documents that
	// do not compress (scans, image PDFs), where deflating costs CPU on
	// both sides and saves nothing.
	CompressNone
)

func (o Options) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// NewBoundary returns a random MIME boundary.
func NewBoundary() string {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return "ss=" + hex.EncodeToString(b)
}

// WriteSigned writes a multipart/signed entity (RFC 3156 section 5): its
// Content-Type header field, a blank line, then the entity written by
// content, canonicalized to CRLF, and a detached signature over exactly
// those bytes. The content is streamed through the signer, never buffered
// whole.
func WriteSigned(w io.Writer, opts Options, content EntityFunc) error {
	if opts.Signer == nil {
		return errors.New("pgpmime: sign: no signing key")
	}
	if opts.Binary {
		return errors.New("pgpmime: sign: a multipart/signed entity cannot carry binary parts (RFC 3156 section 5); encrypt it, or use base64")
	}
	now := opts.now()
	if err := opts.Signer.Public().UsableForSigning(now); err != nil {
		return fmt.Errorf("pgpmime: sign: %w", err)
	}
	boundary := NewBoundary()
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, "Content-Type: multipart/signed; boundary=%q;\r\n micalg=pgp-sha256; protocol=\"application/pgp-signature\"\r\n\r\n", boundary)
	fmt.Fprintf(bw, "This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n--%s\r\n", boundary)

	// The signer reads the canonical entity from a pipe while it is also
	// written to the output: one pass, bounded memory.
	pr, pw := io.Pipe()
	var sig bytes.Buffer
	done := make(chan error, 1)
	cfg := pgp.Config(func() time.Time { return now })
	go func() {
		err := openpgp.ArmoredDetachSign(&sig, opts.Signer.Entity(), pr, cfg)
		pr.CloseWithError(err) // unblock the writer if signing failed
		done <- err
	}()
	cw := CRLFWriter(io.MultiWriter(bw, pw))
	err := content(cw)
	pw.CloseWithError(err)
	if serr := <-done; err == nil && serr != nil {
		err = fmt.Errorf("pgpmime: sign: %w", serr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(bw, "\r\n--%s\r\n", boundary)
	io.WriteString(bw, "Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n")
	io.WriteString(bw, "Content-Description: OpenPGP digital signature\r\n")
	io.WriteString(bw, "Content-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n")
	if _, err := CRLFWriter(bw).Write(sig.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(bw, "\r\n--%s--\r\n", boundary)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("pgpmime: sign: %w", err)
	}
	return nil
}

// WriteEncrypted writes a multipart/encrypted entity (RFC 3156 section 4):
// its Content-Type header field, a blank line, the "Version: 1" control
// part, and the armored OpenPGP message that is the entity written by
// content, canonicalized to CRLF, signed by opts.Signer and encrypted to
// opts.Recipients and the signer (RFC 3156 section 6.2, as
// "gpg --sign --encrypt"), compressed inside as opts.Compression says.
// With opts.Binary the entity is taken as written (it may hold binary
// parts), not canonicalized. Recipients whose keys are expired, revoked or
// unusable are refused before anything is written.
func WriteEncrypted(w io.Writer, opts Options, content EntityFunc) error {
	if opts.Signer == nil {
		return errors.New("pgpmime: encrypt: no signing key")
	}
	if len(opts.Recipients) == 0 {
		return errors.New("pgpmime: encrypt: no recipients")
	}
	if opts.Compression != CompressHuffman && opts.Compression != CompressNone {
		return fmt.Errorf("pgpmime: encrypt: unknown compression %d", opts.Compression)
	}
	now := opts.now()
	if err := opts.Signer.Public().UsableForSigning(now); err != nil {
		return fmt.Errorf("pgpmime: sign: %w", err)
	}
	to := openpgp.EntityList{}
	seen := map[pgp.Fingerprint]bool{}
	for _, r := range append([]*pgp.PublicKey{opts.Signer.Public()}, opts.Recipients...) {
		if err := r.UsableForEncryption(now); err != nil {
			return fmt.Errorf("pgpmime: encrypt: %w", err)
		}
		if !seen[r.Fingerprint()] {
			seen[r.Fingerprint()] = true
			to = append(to, r.Entity())
		}
	}
	boundary := NewBoundary()
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, "Content-Type: multipart/encrypted; boundary=%q;\r\n protocol=\"application/pgp-encrypted\"\r\n\r\n", boundary)
	fmt.Fprintf(bw, "This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n--%s\r\n", boundary)
	io.WriteString(bw, "Content-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n")
	fmt.Fprintf(bw, "--%s\r\n", boundary)
	io.WriteString(bw, "Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n")
	io.WriteString(bw, "Content-Description: OpenPGP encrypted message\r\n")
	io.WriteString(bw, "Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n")

	// Three stages on as many cores as there are: content writes the
	// entity; go-crypto signs and encrypts it (behind plain); the
	// ciphertext is armored and written out (behind ct). bw and w are
	// used by the armoring goroutine until ct is closed.
	aw := newArmorWriter(bw, "PGP MESSAGE")
	ct := newWriteBehind(aw, behindSize, behindDepth)
	cfg := pgp.Config(func() time.Time { return now })
	// Inside the encryption, the entity is deflated (ZIP, RFC 1951) as
	// opts.Compression says: base64 documents (1.37 bytes per document
	// byte) Huffman-only, about 6 bits per base64 character at ~450 MB/s;
	// binary documents not at all, or Huffman-only when they compress.
	// Only when every recipient's key, and the signer's, lists ZIP in its
	// preferences (GnuPG's keys and ours do); else the data stays
	// uncompressed. See signEncrypt.
	switch opts.Compression {
	case CompressHuffman:
		cfg.DefaultCompressionAlgo = packet.CompressionZIP
		cfg.CompressionConfig = &packet.CompressionConfig{Level: flate.HuffmanOnly}
	case CompressNone:
		cfg.DefaultCompressionAlgo = packet.CompressionNone
	}
	// A binary Literal Data packet ('b') and a binary signature (type
	// 0x00): nothing on either side canonicalises line ends in it.
	pt, err := signEncrypt(ct, to, opts.Signer.Entity(), &openpgp.FileHints{IsBinary: true}, cfg)
	if err != nil {
		ct.Close()
		return fmt.Errorf("pgpmime: encrypt: %w", err)
	}
	plain := newWriteBehind(pt, behindSize, behindDepth)
	var entity io.Writer = plain
	if !opts.Binary {
		entity = CRLFWriter(plain)
	}
	err = content(entity)
	perr := plain.Close()
	if err == nil && perr == nil {
		perr = pt.Close()
	}
	cerr := ct.Close()
	if err != nil {
		return err
	}
	if perr != nil || cerr != nil {
		return fmt.Errorf("pgpmime: encrypt: %w", errors.Join(perr, cerr))
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("pgpmime: encrypt: %w", err)
	}
	fmt.Fprintf(bw, "\r\n--%s--\r\n", boundary)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("pgpmime: encrypt: %w", err)
	}
	return nil
}

// Write-behind of WriteEncrypted: chunk size and how many chunks a stage
// may lag behind the one before (about 1 MB in all).
const (
	behindSize  = 128 << 10
	behindDepth = 3
)

// HeaderProtection is the value of the "hp" Content-Type parameter that
// marks a Cryptographic Payload carrying protected header fields (RFC 9788
// section 2.1.1).
type HeaderProtection string

const (
	// HPClear marks a signed-only payload: its header fields are signed,
	// and the outer header carries the same values in the clear.
	HPClear HeaderProtection = "clear"
	// HPCipher marks a payload that is encrypted (and, here, signed): the
	// outer header may hide some fields (header confidentiality), and the
	// payload records what the outer header carried in HP-Outer fields.
	HPCipher HeaderProtection = "cipher"
)

// ProtectHeaders returns a writer that passes a MIME entity (the
// Cryptographic Payload) through to w, adding the header fields in
// protected (raw, CRLF-terminated "Name: value" lines, e.g. Date, From,
// To, Cc, Subject, Message-Id and, with HPCipher, HP-Outer) to the
// entity's header, and to its Content-Type the parameters hp="clear" or
// hp="cipher" (RFC 9788) and protected-headers="v1" (the earlier scheme
// Thunderbird and K-9 Mail read; RFC 9788 receivers ignore it). Close must
// be called after the entity is written. The entity's header may be at
// most 64 KiB.
func ProtectHeaders(w io.Writer, protected []byte, hp HeaderProtection) io.WriteCloser {
	return &protector{w: w, protected: protected, hp: hp}
}

type protector struct {
	w         io.Writer
	protected []byte
	hp        HeaderProtection
	head      []byte
	passing   bool
}

const maxEntityHeader = 64 << 10

func (p *protector) Write(b []byte) (int, error) {
	if p.passing {
		return p.w.Write(b)
	}
	p.head = append(p.head, b...)
	i := bytes.Index(p.head, []byte("\r\n\r\n"))
	if i < 0 {
		if len(p.head) > maxEntityHeader {
			return 0, errors.New("pgpmime: entity header too large")
		}
		return len(b), nil
	}
	if err := p.flushHeader(i + 2); err != nil {
		return 0, err
	}
	return len(b), nil
}

// flushHeader rewrites the header head[:end] (ending in CRLF) and passes
// on the rest.
func (p *protector) flushHeader(end int) error {
	if p.hp != HPClear && p.hp != HPCipher {
		return fmt.Errorf("pgpmime: header protection %q is neither %q nor %q", p.hp, HPClear, HPCipher)
	}
	var out bytes.Buffer
	typed := false
	for _, field := range splitFields(p.head[:end]) {
		if strings.EqualFold(fieldName(field), "Content-Type") {
			field = strings.TrimRight(field, "\r\n") + ";\r\n hp=\"" + string(p.hp) + "\";\r\n protected-headers=\"v1\"\r\n"
			typed = true
		}
		out.WriteString(field)
	}
	if !typed {
		return errors.New("pgpmime: the protected entity has no Content-Type to mark")
	}
	out.Write(p.protected)
	out.Write(p.head[end:])
	p.passing = true
	p.head = nil
	_, err := p.w.Write(out.Bytes())
	return err
}

func (p *protector) Close() error {
	if p.passing {
		return nil
	}
	return errors.New("pgpmime: entity has no header/body separator")
}

// splitFields splits a raw header block into fields, each with its
// continuation lines and final CRLF.
func splitFields(h []byte) []string {
	var fields []string
	for _, line := range strings.SplitAfter(string(h), "\r\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] += line
			continue
		}
		fields = append(fields, line)
	}
	return fields
}

func fieldName(field string) string {
	name, _, _ := strings.Cut(field, ":")
	return strings.TrimSpace(name)
}
