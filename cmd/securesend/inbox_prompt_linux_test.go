//go:build linux

package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/securesend/securesend/receive"
)

// openPTY opens a pseudo-terminal pair: what is written to master is
// read from tty, which is a terminal.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	var unlock int32
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, m.Fd(), unix.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Fatal(errno)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// TestConfirmUnverifiedPrompt: on a terminal, opening a non-verified
// document asks y/N after showing the reason; only y opens. Without a
// terminal it is refused unless --yes-unverified.
func TestConfirmUnverifiedPrompt(t *testing.T) {
	rep := &receive.Report{Verdict: receive.NotAddressed, Reason: "signed by Dr Alice for other@pharmacy.test\x1b[2K"}
	for _, tt := range []struct {
		answer string
		ok     bool
	}{{"y\n", true}, {"yes\n", true}, {"\n", false}, {"n\n", false}, {"whatever\n", false}} {
		master, tty := openPTY(t)
		if _, err := master.Write([]byte(tt.answer)); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		err := confirmUnverified(&env{stdin: tty, stderr: &stderr}, "3", rep, false)
		if (err == nil) != tt.ok {
			t.Errorf("answer %q: %v", tt.answer, err)
		}
		p := stderr.String()
		if !strings.Contains(p, "NOT VERIFIED (not-addressed-to-you)") || !strings.Contains(p, `other@pharmacy.test\x1b[2K`) || !strings.HasSuffix(p, "[y/N] ") {
			t.Errorf("prompt %q", p)
		}
	}
	var stderr bytes.Buffer
	if err := confirmUnverified(&env{stdin: strings.NewReader("y\n"), stderr: &stderr}, "3", rep, false); err == nil || !strings.Contains(err.Error(), "--yes-unverified") {
		t.Errorf("without a terminal: %v", err)
	}
	if err := confirmUnverified(&env{stdin: strings.NewReader(""), stderr: &stderr}, "3", rep, true); err != nil {
		t.Errorf("--yes-unverified: %v", err)
	}
}
