package account

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/securesend/securesend/internal/imapbound"
)

// startTLSTag is the tag of the STARTTLS command securesend sends itself.
const startTLSTag = "S0"

// maxPreTLSLines bounds the untagged lines accepted before the reply to
// STARTTLS.
const maxPreTLSLines = 100

// errInjected: the server sent bytes after the STARTTLS reply, before the
// TLS handshake (CVE-2011-0411-style command injection).
var errInjected = errors.New("the server sent data after agreeing to STARTTLS, before encryption started")

// imapStartTLS reads the cleartext greeting and asks for STARTTLS (RFC 9051
// section 6.2.1) through bc, whose bounds limit what the server can send.
// It refuses a PREAUTH greeting (section 7.1.4) and any byte after the
// tagged OK, which would otherwise be read as if it came over TLS.
// securesend does this itself instead of letting go-imap do it, so that the
// bounded connection sees the plaintext after the upgrade too.
func imapStartTLS(bc *imapbound.Conn) error {
	br := bufio.NewReaderSize(bc, 4096)
	greeting, err := readPlainLine(br, bc)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	switch upper := strings.ToUpper(greeting); {
	case strings.HasPrefix(upper, "* OK"):
	case strings.HasPrefix(upper, "* PREAUTH"):
		return fmt.Errorf("%w: the server signed in before encryption (PREAUTH)", ErrNoTLS)
	case strings.HasPrefix(upper, "* BYE"):
		return fmt.Errorf("the server refused the connection: %s", serverText(greeting))
	default:
		return fmt.Errorf("not an IMAP greeting: %s", serverText(greeting))
	}
	if _, err := io.WriteString(bc, startTLSTag+" STARTTLS\r\n"); err != nil {
		return err
	}
	for range maxPreTLSLines {
		line, err := readPlainLine(br, bc)
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "* ") {
			continue
		}
		status, ok := strings.CutPrefix(line, startTLSTag+" ")
		if !ok {
			return fmt.Errorf("unexpected reply to STARTTLS: %s", serverText(line))
		}
		if !strings.HasPrefix(strings.ToUpper(status), "OK") {
			return fmt.Errorf("%w (server said: %s)", ErrNoTLS, serverText(status))
		}
		if br.Buffered() > 0 {
			return errInjected
		}
		return nil
	}
	return fmt.Errorf("the server sent more than %d lines before answering STARTTLS", maxPreTLSLines)
}

// readPlainLine reads one line without its CRLF. bc bounds its length.
func readPlainLine(br *bufio.Reader, bc *imapbound.Conn) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		if lerr := bc.Err(); lerr != nil {
			return "", lerr
		}
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// serverText makes text from a server safe to show: printable ASCII
// only, at most 200 characters.
func serverText(s string) string {
	const max = 200
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < max; {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		} else {
			b.WriteByte('?')
		}
	}
	if b.Len() >= max {
		b.WriteString("...")
	}
	return b.String()
}
