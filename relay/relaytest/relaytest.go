// Package relaytest holds what the relay's tests and the CLI's relay tests
// share: a client that submits as a multifunction printer's scan-to-e-mail
// does (mfd_client.py: Python's smtplib, STARTTLS with the relay's
// certificate pinned by its SHA-256 fingerprint, AUTH, the scans
// attached), and a buffer one goroutine writes while another reads. It is
// for tests only.
package relaytest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

//go:embed mfd_client.py
var mfdClient []byte

// Reply is the MFD client's outcome: the stage where the relay answered
// last ("sent" when it took the message), and that answer's code and text.
type Reply struct {
	Stage   string `json:"stage"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// RequirePython skips t when python3, which runs the MFD client, is not
// installed, and fails it instead under CI=true.
func RequirePython(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 (the MFD-like SMTP client) is not installed (CI=true, so this is a failure, not a skip)")
		}
		t.Skip("python3 not installed; scripts/install-deps.sh test installs it")
	}
}

// MFD submits to the relay at addr (host:port) as an MFD would, pinning
// the certificate whose SHA-256 fingerprint is fingerprint, with password
// on standard input (never in argv); args are mfd_client.py's (--user,
// --to, --attach, --auth, --no-tls, --hang-up-after-data, ...). It skips
// t as RequirePython does, and fails t when the client cannot run or
// prints no reply.
func MFD(t testing.TB, addr, fingerprint, password string, args ...string) Reply {
	t.Helper()
	RequirePython(t)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("relay address %q: %v", addr, err)
	}
	script := filepath.Join(t.TempDir(), "mfd_client.py")
	if err := os.WriteFile(script, mfdClient, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", append([]string{script, "--host", host, "--port", port, "--fingerprint", fingerprint}, args...)...)
	cmd.Stdin = strings.NewReader(password + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mfd_client.py %v: %v\n%s%s", args, err, out, stderr.String())
	}
	var r Reply
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("mfd_client.py: %v\n%s", err, out)
	}
	return r
}

// SyncBuffer is a bytes.Buffer safe for a writer and a reader goroutine
// (a server's log read by the test while the server runs).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
