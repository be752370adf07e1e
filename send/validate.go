package send

import (
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/securesend/securesend/internal/maildomain"
	"github.com/securesend/securesend/internal/manifest"
)

// Limits on what reaches a header, so folding never has to alter a value.
const (
	maxSubjectLen  = 500 // bytes
	maxNameLen     = 200 // bytes, display names
	maxFileNameLen = 255 // bytes
)

// ErrInvalidMessage is wrapped by every error Validate returns.
var ErrInvalidMessage = errors.New("the message is not complete or not valid")

// Validate checks the message before anything is composed or sent: every
// address parses and ends in a domain name (no address literal or IP
// address), there is a sender and at least one To recipient, no text
// that ends up in a header (subject, display names, file names) contains a
// control character such as CR or LF, the Message-ID (if set) is well
// formed, and every document is an existing, readable, non-empty regular
// file. The error names the offending field and wraps ErrInvalidMessage.
func (m *Message) Validate() error {
	if err := validateAddress("sender (From)", m.From); err != nil {
		return err
	}
	if len(m.To) == 0 {
		return invalid("there is no recipient (To)")
	}
	for i, a := range m.To {
		if err := validateAddress(fmt.Sprintf("recipient %d (To)", i+1), a); err != nil {
			return err
		}
	}
	for i, a := range m.Cc {
		if err := validateAddress(fmt.Sprintf("copy recipient %d (Cc)", i+1), a); err != nil {
			return err
		}
	}
	if err := validateText("subject", m.Subject, maxSubjectLen, true); err != nil {
		return err
	}
	if !utf8.ValidString(m.Note) {
		return invalid("the note is not valid UTF-8 text")
	}
	if m.MessageID != "" && !validMessageID(m.MessageID) {
		return invalid("message id %q is not of the form local@domain", m.MessageID)
	}
	// A cancellation (Supersedes of kind cancel) carries no documents;
	// every other message at least one.
	if m.Supersedes != nil && m.Supersedes.Kind == manifest.Cancel {
		if len(m.Documents) > 0 {
			return invalid("a cancellation carries no documents (send a replacement to correct them)")
		}
	} else if len(m.Documents) == 0 {
		return invalid("there are no documents to send")
	}
	for i := range m.Documents {
		if err := validateDocument(&m.Documents[i]); err != nil {
			return err
		}
	}
	return m.validateManifestFields()
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("send: %s: %w", fmt.Sprintf(format, a...), ErrInvalidMessage)
}

func validateAddress(what string, a mail.Address) error {
	if a.Address == "" {
		return invalid("the %s has no e-mail address", what)
	}
	if err := validateText(what+" name", a.Name, maxNameLen, true); err != nil {
		return err
	}
	if strings.ContainsAny(a.Address, "\r\n<>\" \t") || hasControl(a.Address) {
		return invalid("the %s address %q is not a valid e-mail address", what, a.Address)
	}
	// RFC 5321 4.5.3.1: a local part of at most 64 octets, a path of at
	// most 256 with its angle brackets. Longer ones no server accepts, and
	// they cannot be folded into a header line.
	if local, _, _ := strings.Cut(a.Address, "@"); len(a.Address) > 254 || len(local) > 64 {
		return invalid("the %s address %.40q... is longer than an e-mail address can be (254 characters, 64 before the @)", what, a.Address)
	}
	for _, r := range a.Address {
		if r > 0x7e {
			return invalid("the %s address %q contains non-ASCII characters, which are not supported yet", what, a.Address)
		}
	}
	p, err := mail.ParseAddress("<" + a.Address + ">")
	if err != nil || p.Address != a.Address {
		return invalid("the %s address %q is not a valid e-mail address", what, a.Address)
	}
	// Only domain names: the organisation's policy decides by domain, and
	// an address literal (dr@[192.0.2.10]) or bare IP address would slip
	// past every domain rule.
	if d, ok := maildomain.OfAddress(a.Address); !ok {
		return invalid("the %s address %q does not end in a domain name: %q is an IP address, an address literal or not a complete domain (write it like pharmacy.example.nz)", what, a.Address, d)
	}
	return nil
}

// validateText rejects control characters (CR and LF above all), invalid
// UTF-8 and over-long values. Tabs are allowed when tab is true.
func validateText(what, s string, max int, tab bool) error {
	if !utf8.ValidString(s) {
		return invalid("the %s is not valid UTF-8 text", what)
	}
	if strings.ContainsAny(s, "\r\n") {
		return invalid("the %s contains a line break, which is not allowed", what)
	}
	for _, r := range s {
		if (r < 0x20 && !(tab && r == '\t')) || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return invalid("the %s contains a control character (%U), which is not allowed", what, r)
		}
	}
	if len(s) > max {
		return invalid("the %s is too long (%d bytes, at most %d)", what, len(s), max)
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// validateDocument checks one document and its header-bound names.
func validateDocument(d *Document) error {
	if d.Path == "" {
		return invalid("a document has no file path")
	}
	name := documentName(d)
	if err := validateText(fmt.Sprintf("file name %q", name), name, maxFileNameLen, false); err != nil {
		return err
	}
	if strings.TrimSpace(name) == "" || name == "." || name == string(filepath.Separator) {
		return invalid("document %s has no usable file name", d.Path)
	}
	if strings.Contains(name, "=?") {
		return invalid("the file name %q contains \"=?\", which mail programs would misread", name)
	}
	if d.ContentType != "" {
		if err := validateText("content type", d.ContentType, 200, false); err != nil {
			return err
		}
		mt, params, err := mime.ParseMediaType(d.ContentType)
		if err != nil || len(params) != 0 || strings.HasPrefix(mt, "multipart/") || strings.HasPrefix(mt, "message/") {
			return invalid("the content type %q of %s is not a plain media type such as application/pdf", d.ContentType, d.Path)
		}
	}
	f, err := os.Open(d.Path)
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist):
			return invalid("document %s does not exist", d.Path)
		case errors.Is(err, os.ErrPermission):
			return invalid("document %s cannot be read (permission denied)", d.Path)
		}
		return invalid("document %s cannot be opened: %v", d.Path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return invalid("document %s cannot be read: %v", d.Path, err)
	}
	if !fi.Mode().IsRegular() {
		return invalid("document %s is not a regular file", d.Path)
	}
	if fi.Size() == 0 {
		return invalid("document %s is empty", d.Path)
	}
	var b [1]byte
	if _, err := f.Read(b[:]); err != nil {
		return invalid("document %s cannot be read: %v", d.Path, err)
	}
	return nil
}

// documentName is the file name the recipient sees.
func documentName(d *Document) string {
	if d.Name != "" {
		return d.Name
	}
	return filepath.Base(d.Path)
}
