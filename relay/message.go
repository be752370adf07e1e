package relay

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // subjects and names in legacy charsets

	"github.com/securesend/securesend/internal/doccheck"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/internal/winname"
)

// maxParts bounds the MIME parts of one message: a scan has a handful.
const maxParts = 64

// maxNameLen bounds a document's file name (bytes).
const maxNameLen = 120

// errNoDocument: the message carries no attachment.
var errNoDocument = errors.New("the message has no document attached: scan to e-mail with the scan attached as PDF, TIFF, JPEG or PNG")

// badDocumentError is an attachment doccheck refused (or that could not be
// read out of the message); its text is for the device's screen.
type badDocumentError struct{ reason string }

func (e *badDocumentError) Error() string { return e.reason }

// extracted is what extract took out of a message.
type extracted struct {
	subject   string
	messageID string
	docs      []Document
}

// extract reads the message r, writes each attachment (decoded) into dir
// as its own file, checks it with doccheck and hashes it. Text parts (the
// body an MFD adds) are skipped. Any attachment that is not a document
// doccheck accepts refuses the whole message: a partial scan must not go
// out as if it were the whole.
func extract(r io.Reader, dir string) (*extracted, error) {
	ent, err := message.Read(r)
	if err != nil && !message.IsUnknownCharset(err) {
		return nil, &badDocumentError{"the message could not be read: " + safeReason(err)}
	}
	out := &extracted{subject: headerText(ent.Header, "Subject"), messageID: messageIDOf(ent.Header)}
	parts := 0
	werr := ent.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil && !message.IsUnknownCharset(err) {
			return &badDocumentError{"a part of the message could not be read: " + safeReason(err)}
		}
		if parts++; parts > maxParts {
			return &badDocumentError{fmt.Sprintf("the message has more than %d parts", maxParts)}
		}
		if part.MultipartReader() != nil {
			return nil
		}
		ctype, _, _ := part.Header.ContentType()
		disp, dparams, _ := part.Header.ContentDisposition()
		name := dparams["filename"]
		if name == "" {
			_, cparams, _ := part.Header.ContentType()
			name = cparams["name"]
		}
		if name == "" && !strings.EqualFold(disp, "attachment") && (ctype == "" || strings.HasPrefix(ctype, "text/")) {
			_, err := io.Copy(io.Discard, part.Body) // the body text: not sent on
			return err
		}
		doc, err := saveDocument(part.Body, dir, len(out.docs)+1, name)
		if err != nil {
			return err
		}
		out.docs = append(out.docs, *doc)
		return nil
	})
	if werr != nil {
		var bad *badDocumentError
		if errors.As(werr, &bad) {
			return nil, bad
		}
		return nil, &badDocumentError{"the message could not be read: " + safeReason(werr)}
	}
	if len(out.docs) == 0 {
		return nil, errNoDocument
	}
	return out, nil
}

// saveDocument writes one attachment into its own folder dir/N, hashing
// it, checks it with doccheck, and renames it to the name the recipient
// will see (so that a Submitter that goes by file names gets it right).
func saveDocument(body io.Reader, dir string, n int, name string) (*Document, error) {
	sub := filepath.Join(dir, strconv.Itoa(n))
	if err := os.Mkdir(sub, 0o700); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	path := filepath.Join(sub, "scan")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(f, h), body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var bad *badDocumentError
		if errors.As(err, &bad) {
			return nil, bad
		}
		if isTooLarge(err) {
			return nil, err
		}
		return nil, &badDocumentError{fmt.Sprintf("attachment %d could not be decoded: %s", n, safeReason(err))}
	}
	info, err := doccheck.Check(path)
	if err != nil {
		var de *doccheck.Error
		if errors.As(err, &de) {
			return nil, &badDocumentError{fmt.Sprintf("attachment %s: %s", displayDocName(name, n), safeReason(errors.New(de.Reason)))}
		}
		return nil, &badDocumentError{fmt.Sprintf("attachment %s: %s", displayDocName(name, n), safeReason(err))}
	}
	final := docName(name, n, info.Kind)
	named := filepath.Join(sub, final)
	if err := os.Rename(path, named); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	return &Document{
		Path:        named,
		Name:        final,
		ContentType: info.ContentType,
		Size:        size,
		SHA256:      hex.EncodeToString(h.Sum(nil)),
	}, nil
}

// docName is the file name the recipient sees: the device's name made
// safe (a base name, printable, bounded, with the extension of the type
// doccheck found), or scan-N.ext.
func docName(name string, n int, kind doccheck.Kind) string {
	ext := map[doccheck.Kind]string{doccheck.PDF: ".pdf", doccheck.TIFF: ".tif", doccheck.JPEG: ".jpg", doccheck.PNG: ".png"}[kind]
	base := cleanName(name)
	if base == "" {
		return fmt.Sprintf("scan-%d%s", n, ext)
	}
	if e := strings.ToLower(filepath.Ext(base)); e != ext && !(kind == doccheck.TIFF && e == ".tiff") && !(kind == doccheck.JPEG && e == ".jpeg") {
		base += ext
	}
	return base
}

// cleanName is name as a safe base name: no folders, no control or
// invisible characters, none that Windows refuses in a name, not a Windows
// device name, at most maxNameLen bytes; "" when nothing is left.
func cleanName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = name[strings.LastIndexByte(name, '/')+1:]
	var b strings.Builder
	for _, r := range name {
		if termsafe.Unsafe(r) || r == utf8.RuneError || strings.ContainsRune(`<>:"|?*`, r) {
			r = '_'
		}
		if b.Len()+utf8.RuneLen(r) > maxNameLen {
			break
		}
		b.WriteRune(r)
	}
	s := strings.Trim(b.String(), " .")
	if s == "" || strings.Trim(s, "_") == "" {
		return ""
	}
	if winname.Reserved(s) {
		s = "_" + s
		for len(s) > maxNameLen {
			_, size := utf8.DecodeLastRuneInString(s)
			s = s[:len(s)-size]
		}
	}
	return s
}

func displayDocName(name string, n int) string {
	if c := cleanName(name); c != "" {
		return strings.Map(asciiOnly, c)
	}
	return fmt.Sprint(n)
}

// headerText is the decoded header field, made safe for one line.
func headerText(h message.Header, key string) string {
	v, err := h.Text(key)
	if err != nil {
		v = h.Get(key)
		if d, derr := new(mime.WordDecoder).DecodeHeader(v); derr == nil {
			v = d
		}
	}
	return termsafe.String(strings.TrimSpace(v))
}

// maxMessageIDLen bounds the Message-ID kept (RFC 5322 lines are at most
// 998 characters).
const maxMessageIDLen = 250

// messageIDOf is the message's Message-ID without angle brackets, in
// printable ASCII, or "" when it has none (or an absurd one).
func messageIDOf(h message.Header) string {
	id := strings.TrimSpace(h.Get("Message-Id"))
	id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	if id == "" || len(id) > maxMessageIDLen || strings.ContainsFunc(id, func(r rune) bool { return r <= 0x20 || r > 0x7e }) {
		return ""
	}
	return id
}
