package desk

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securesend/securesend/internal/home"
)

// cups is a private cupsd with one raw queue whose device is a
// socket:// (AppSocket/JetDirect) printer that the test plays: it
// records the bytes of each job.
type cups struct {
	// Server is the value for CUPS_SERVER (cupsd's unix socket).
	Server string
	// Queue is the printer's name.
	Queue string
	dir   string
	mu    sync.Mutex
	jobs  [][]byte
}

// startCUPS starts cupsd in the foreground with a private configuration
// (a unix socket, jobs run as lp, since cupsd refuses root) and adds the
// queue. Without CUPS, or not as root, the test is skipped, unless
// CI=true, where it fails: CI must run every test.
func startCUPS(t *testing.T) *cups {
	t.Helper()
	missing := ""
	for _, p := range []string{"/usr/sbin/cupsd", "/usr/lib/cups/backend/socket"} {
		if _, err := os.Stat(p); err != nil {
			missing = p
		}
	}
	for _, b := range []string{"lp", "lpadmin"} {
		if _, err := exec.LookPath(b); err != nil {
			missing = b
		}
	}
	why := ""
	switch {
	case missing != "":
		why = missing + " is missing (run scripts/install-deps.sh test)"
	case os.Geteuid() != 0:
		why = "a private cupsd must start as root"
	}
	if why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot run CUPS: %s (CI=true, so this is a failure, not a skip)", why)
		}
		t.Skipf("cannot run CUPS: %s", why)
	}
	// Under /tmp, not t.TempDir: lp must be able to reach its spool.
	dir, err := os.MkdirTemp("", "securesend-cups-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, d := range []string{"etc/ppd", "spool/tmp", "cache", "state", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range [][]string{
		{"chgrp", "lp", dir + "/spool", dir + "/spool/tmp", dir + "/cache", dir + "/etc", dir + "/etc/ppd"},
		{"chmod", "0710", dir + "/spool"}, {"chmod", "1770", dir + "/spool/tmp"}, {"chmod", "0770", dir + "/cache"},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", c, err, out)
		}
	}
	c := &cups{Server: filepath.Join(dir, "cups.sock"), Queue: "pharmacy-mfd", dir: dir}
	conf := fmt.Sprintf(`Listen %s
LogLevel debug
WebInterface No
Browsing No
DefaultAuthType None
<Location />
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
`, c.Server)
	files := fmt.Sprintf(`User lp
Group lp
SystemGroup root
ServerRoot %[1]s/etc
RequestRoot %[1]s/spool
TempDir %[1]s/spool/tmp
CacheDir %[1]s/cache
StateDir %[1]s/state
ServerBin /usr/lib/cups
DataDir /usr/share/cups
ErrorLog %[1]s/log/error_log
AccessLog %[1]s/log/access_log
PageLog %[1]s/log/page_log
`, dir)
	for name, s := range map[string]string{"cupsd.conf": conf, "cups-files.conf": files} {
		if err := os.WriteFile(filepath.Join(dir, "etc", name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("/usr/sbin/cupsd", "-f", "-c", filepath.Join(dir, "etc", "cupsd.conf"), "-s", filepath.Join(dir, "etc", "cups-files.conf"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "log", "error_log"))
			lines := strings.Split(string(b), "\n")
			t.Logf("cupsd error_log (last lines):\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if conn, err := net.Dial("unix", c.Server); err == nil {
			conn.Close()
			break
		}
		if time.Now().After(end) {
			t.Fatal("cupsd did not start")
		}
	}
	// The printer: record every connection's bytes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			b, _ := io.ReadAll(conn)
			conn.Close()
			c.mu.Lock()
			c.jobs = append(c.jobs, b)
			c.mu.Unlock()
		}
	}()
	// A raw queue: the bytes reach the printer unchanged.
	if out, err := c.command("lpadmin", "-p", c.Queue, "-E", "-v", "socket://"+ln.Addr().String(), "-m", "raw").CombinedOutput(); err != nil {
		t.Fatalf("lpadmin: %v: %s", err, out)
	}
	return c
}

func (c *cups) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), c.env()...)
	return cmd
}

func (c *cups) env() []string { return []string{"CUPS_SERVER=" + c.Server} }

// printer is an LP for the queue.
func (c *cups) printer() *LP { return &LP{Printer: c.Queue, Env: c.env()} }

// received returns the jobs the printer has received.
func (c *cups) received() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.jobs...)
}

// TestWatchPrintsThroughCUPS: of a verified message, an unsigned one, a
// tampered one and one from an unknown signer, only the verified
// document reaches the printer, through a real cupsd, byte for byte;
// running again prints nothing more.
func TestWatchPrintsThroughCUPS(t *testing.T) {
	c := startCUPS(t)
	d, srv := watchDesk(t)
	for _, n := range []string{"not_signed.eml", "good_encrypted.eml", "bad_signature_body_altered.eml", "unknown_signer.eml", "cannot_decrypt_tampered_ciphertext.eml"} {
		srv.Deliver(t, testdata(t, n))
	}
	var ev events
	if err := d.Watch(context.Background(), WatchOptions{Printer: c.printer(), Once: true, Event: ev.add}); err != nil {
		t.Fatal(err)
	}
	if ev.count(EventDelivered) != 1 || ev.count(EventNotDelivered) != 4 {
		t.Fatalf("events:\n%s", &ev)
	}
	_, sum := verifiedDoc(t, d)
	waitFor(t, time.Minute, func() bool { return len(c.received()) == 1 }, &ev)
	if got := c.received()[0]; sha(got) != sum {
		t.Errorf("the printer received %d bytes, SHA-256 %s; verified %s", len(got), sha(got), sum)
	}
	var again events
	if err := d.Watch(context.Background(), WatchOptions{Printer: c.printer(), Once: true, Event: again.add}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // a second job would have arrived by now
	if n := len(c.received()); n != 1 || again.count(EventDelivered) != 0 {
		t.Errorf("second run: %d jobs\n%s", n, &again)
	}
}

// TestWatchPrintFailureRetried: a print that fails (no such queue) is
// not recorded as printed and is printed on a later round.
func TestWatchPrintFailureRetried(t *testing.T) {
	c := startCUPS(t)
	d, srv := watchDesk(t)
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	// Same journal (same printer name) but the server is not there.
	down := &LP{Printer: c.Queue, Env: []string{"CUPS_SERVER=" + filepath.Join(c.dir, "nowhere.sock")}}
	var ev events
	if err := d.Watch(context.Background(), WatchOptions{Printer: down, Once: true, Event: ev.add}); err != nil {
		t.Fatal(err)
	}
	if ev.count(EventFailed) != 1 || ev.count(EventDelivered) != 0 {
		t.Fatalf("events:\n%s", &ev)
	}
	var ev2 events
	if err := d.Watch(context.Background(), WatchOptions{Printer: c.printer(), Once: true, Event: ev2.add}); err != nil {
		t.Fatal(err)
	}
	if ev2.count(EventDelivered) != 1 {
		t.Fatalf("retry events:\n%s", &ev2)
	}
	waitFor(t, time.Minute, func() bool { return len(c.received()) == 1 }, &ev2)
}

// crashEnv names, for the helper process of TestWatchPrintCrash, the
// home to watch and the lp wrapper that kills it.
const crashEnv = "SECURESEND_WATCH_CRASH"

// TestWatchPrintCrashHelper is not a test: TestWatchPrintCrash runs it
// in a process of its own, which its lp wrapper kills after printing.
func TestWatchPrintCrashHelper(t *testing.T) {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		t.Skip("helper process of TestWatchPrintCrash")
	}
	// home|lp command|queue|CUPS_SERVER
	f := strings.Split(spec, "|")
	d, err := Open(Options{Getenv: func(k string) string {
		if k == home.EnvVar {
			return f[0]
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Watch(context.Background(), WatchOptions{Printer: &LP{Printer: f[2], Command: f[1], Env: []string{"CUPS_SERVER=" + f[3]}}, Once: true})
	t.Fatalf("the watch was not killed while printing: %v", err)
}

// TestWatchPrintCrash: the watch process is killed after lp queued the
// job and before "printed" was recorded. The next watch reports the
// document as possibly printed and does not print it again.
func TestWatchPrintCrash(t *testing.T) {
	c := startCUPS(t)
	d, srv := watchDesk(t)
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	wrapper := filepath.Join(t.TempDir(), "lp-then-crash")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nlp \"$@\" || exit $?\nkill -9 $PPID\nsleep 10\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWatchPrintCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+strings.Join([]string{d.Home().Dir, wrapper, c.Queue, c.Server}, "|"))
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 {
		t.Fatalf("the helper was not killed: %v\n%s", err, out)
	}
	waitFor(t, time.Minute, func() bool { return len(c.received()) == 1 }, &events{})
	var ev events
	if err := d.Watch(context.Background(), WatchOptions{Printer: c.printer(), Once: true, Event: ev.add}); err != nil {
		t.Fatal(err)
	}
	if ev.count(EventPossiblyDelivered) != 1 || ev.count(EventDelivered) != 0 {
		t.Errorf("after the crash:\n%s", &ev)
	}
	time.Sleep(2 * time.Second)
	if n := len(c.received()); n != 1 {
		t.Errorf("the printer received %d jobs, want 1", n)
	}
}
