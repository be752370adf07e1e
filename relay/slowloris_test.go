package relay

import (
	"bufio"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRelayAttackSlotHolders: a client in an allowed network that
// connects and never signs in, sending a NOOP now and then so the idle
// timeout never ends it, must not keep the devices out. Before, it held
// a connection slot for as long as it liked: with the slots taken, every
// scan got 421 "Too many connections". Now a connection not signed in
// within SignInTimeout is closed and its slot goes back; a device that
// signs in in time is not cut off.
func TestRelayAttackSlotHolders(t *testing.T) {
	const signIn = 10 * time.Second
	scan := filepath.Join(testdataDir(t), "good_scan.pdf")
	tr := startRelay(t, func(o *Options) {
		o.MaxConnections = 1
		// The device (a Python client: start-up, STARTTLS, an argon2id
		// check) must sign in well within it on a loaded 2-core CI
		// machine; 3 s was too short there once.
		o.SignInTimeout = signIn
	})
	c, err := net.Dial("tcp", tr.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "220 ") {
		t.Fatalf("greeting %q, %v", line, err)
	}
	// Keep the connection busy, well within the idle timeout, until the
	// relay closes it.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		for {
			if _, err := c.Write([]byte("NOOP\r\n")); err != nil {
				return
			}
			if _, err := br.ReadString('\n'); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	select {
	case <-closed:
	case <-time.After(4 * signIn):
		t.Fatalf("a client that never signs in kept its connection for %v", 4*signIn)
	}
	if !strings.Contains(tr.log.String(), "not signed in within") {
		t.Errorf("the log does not say why the connection was closed:\n%s", tr.log.String())
	}
	if r := tr.mfd(t, devicePassword, "--user", "frontdesk", "--to", "mainst@relay", "--attach", scan); r.Code != 250 {
		t.Fatalf("the device, once the slot was free: %+v", r)
	}
	// The device's own session outlived the sign-in timeout only if it
	// took that long; a signed-in session is never cut by it.
	cl := signedIn(t, tr)
	time.Sleep(signIn + 500*time.Millisecond)
	if err := cl.Noop(); err != nil {
		t.Fatalf("a signed-in session was closed by the sign-in timeout: %v", err)
	}
}
