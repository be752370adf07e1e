package mailserver

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// Flush asks Postfix to attempt delivery of every queued message now
// (postqueue -f).
func (s *Server) Flush(ctx context.Context) error {
	if err := run(ctx, postqueueBin, "-c", s.postfixDir, "-f"); err != nil {
		return fmt.Errorf("mailserver: %w", err)
	}
	return nil
}

// QueueEmpty reports whether Postfix's queue holds no messages.
func (s *Server) QueueEmpty(ctx context.Context) (bool, error) {
	out, err := exec.CommandContext(ctx, postqueueBin, "-c", s.postfixDir, "-j").Output()
	if err != nil {
		return false, fmt.Errorf("mailserver: postqueue -j: %w", err)
	}
	return strings.TrimSpace(string(out)) == "", nil
}

// WaitQueueEmpty flushes the queue until it is empty or ctx ends.
func (s *Server) WaitQueueEmpty(ctx context.Context) error {
	for {
		empty, err := s.QueueEmpty(ctx)
		if err != nil {
			return err
		}
		if empty {
			return nil
		}
		s.Flush(ctx)
		select {
		case <-ctx.Done():
			return fmt.Errorf("mailserver: the Postfix queue did not empty: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// PostfixLog returns Postfix's log so far.
func (s *Server) PostfixLog() string { return readLog(s.postfixLog) }

// DovecotLog returns Dovecot's log so far.
func (s *Server) DovecotLog() string { return readLog(s.dovecotLog) }

// Logs returns both logs with headings, for a failing test's output.
func (s *Server) Logs() string {
	var b strings.Builder
	for _, l := range []struct{ name, text string }{{"postfix", s.PostfixLog()}, {"dovecot", s.DovecotLog()}} {
		if l.text != "" {
			fmt.Fprintf(&b, "----- %s log -----\n%s", l.name, l.text)
		}
	}
	return b.String()
}

func readLog(path string) string {
	if path == "" {
		return ""
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(data)
}

var messageIDLine = regexp.MustCompile(`: ([0-9A-Za-z]+): message-id=<?([^>\s]*)>?`)

// QueueIDs returns the Postfix queue ids that logged the given Message-ID
// (with or without angle brackets).
func (s *Server) QueueIDs(messageID string) []string {
	want := strings.Trim(messageID, "<>")
	var ids []string
	for _, m := range messageIDLine.FindAllStringSubmatch(s.PostfixLog(), -1) {
		if m[2] == want {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// Delivered reports whether the log shows the queue id delivered
// ("status=sent") to Dovecot.
func (s *Server) Delivered(queueID string) bool {
	for _, line := range strings.Split(s.PostfixLog(), "\n") {
		if strings.Contains(line, " "+queueID+": ") && strings.Contains(line, "status=sent") {
			return true
		}
	}
	return false
}

func (s *Server) caPool() (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM) {
		return nil, errors.New("mailserver: no CA certificate")
	}
	return pool, nil
}
