package desk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"

	"github.com/securesend/securesend/internal/termsafe"
)

// Printer hands a document to a print system.
type Printer interface {
	// Name is the printer's name, which keys its delivery journal.
	Name() string
	// Print prints the document read from doc under title and returns
	// the print system's job id. An error wrapping ErrPrintUncertain
	// means the job may have been accepted all the same.
	Print(ctx context.Context, title string, doc io.Reader) (job string, err error)
}

// ErrPrintUncertain means the print command ended so that the job may or
// may not have been queued (it was killed): the document is treated as
// possibly printed and not printed again.
var ErrPrintUncertain = errors.New("the print command did not finish")

// LP prints through CUPS's lp command (Linux, macOS); the document goes to
// lp's standard input, so no decrypted copy is written to disk by
// securesend. The queue decides the format: a raw queue passes the bytes
// unchanged, a driver queue converts PDF or images for the printer.
type LP struct {
	// Printer is the CUPS queue name.
	Printer string
	// Command is the lp program; "lp" (from PATH) when empty.
	Command string
	// Env is added to the environment of lp (e.g. CUPS_SERVER).
	Env []string
}

// cupsName is what CUPS accepts as a queue name (printable, no space,
// slash, backslash, hash or quotes), not starting with "-".
var cupsName = regexp.MustCompile(`^[^\x00-\x20\x7f/\\#'"-][^\x00-\x20\x7f/\\#'"]{0,126}$`)

// CheckPrinterName reports whether name can be a CUPS queue name.
func CheckPrinterName(name string) error {
	if !cupsName.MatchString(name) {
		return fmt.Errorf("%q is not a printer (CUPS queue) name", termsafe.String(name))
	}
	return nil
}

// Name is the queue name.
func (p *LP) Name() string { return p.Printer }

// requestID finds lp's "request id is QUEUE-12 (1 file(s))".
var requestID = regexp.MustCompile(`request id is (\S+)`)

// Print runs lp -d Printer -t title with doc on its standard input.
func (p *LP) Print(ctx context.Context, title string, doc io.Reader) (string, error) {
	if err := CheckPrinterName(p.Printer); err != nil {
		return "", err
	}
	cmd := p.Command
	if cmd == "" {
		cmd = "lp"
	}
	// Not CommandContext: lp is not killed half-way through queueing a
	// job; it reads a document and returns.
	c := exec.Command(cmd, "-d", p.Printer, "-t", title)
	c.Env = append(os.Environ(), p.Env...)
	c.Stdin = doc
	var out, errOut bytes.Buffer
	c.Stdout, c.Stderr = &out, &limited{w: &errOut, n: 4096}
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == -1:
		return "", fmt.Errorf("lp on %s: %w (%v)", p.Printer, ErrPrintUncertain, err)
	case err != nil:
		msg := strings.TrimSpace(termsafe.Text(errOut.String()))
		return "", fmt.Errorf("lp on %s: %w: %s", p.Printer, err, msg)
	}
	if m := requestID.FindStringSubmatch(out.String()); m != nil {
		return termsafe.String(m[1]), nil
	}
	return termsafe.String(strings.TrimSpace(out.String())), nil
}

// limited writes at most n bytes to w, dropping the rest.
type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	k := min(len(p), l.n)
	if k > 0 {
		l.w.Write(p[:k]) //nolint:errcheck // a bytes.Buffer
		l.n -= k
	}
	return len(p), nil
}
