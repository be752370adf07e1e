package relay

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/relay/relaytest"
)

// dialFrom connects to the relay from the loopback address src and
// returns its first line (greeting or refusal).
func dialFrom(t *testing.T, src, addr string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("from %s: %v", src, err)
	}
	return c, line
}

// TestRelayAttackPerAddressCap: one host in an allowed network (here
// 127.0.0.2) that opens as many connections as the relay takes must not
// keep the devices out. Before, it took every MaxConnections slot and the
// device (at 127.0.0.1) got 421. Now the host gets MaxConnectionsPerAddress
// and then 421 4.7.0 before the greeting, logged and audited once for the
// whole burst; the device's scan is queued; and once the host closes its
// connections it may connect again.
func TestRelayAttackPerAddressCap(t *testing.T) {
	scan := filepath.Join(testdataDir(t), "good_scan.pdf")
	tr := startRelay(t, func(o *Options) {
		o.MaxConnections = 4
		o.MaxConnectionsPerAddress = 2
	})
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	greeted, refused := 0, 0
	for range 12 {
		c, line := dialFrom(t, "127.0.0.2", tr.addr)
		switch {
		case strings.HasPrefix(line, "220 "):
			greeted++
			held = append(held, c)
		case strings.HasPrefix(line, "421 4.7.0 ") && strings.Contains(line, "from your address"):
			refused++
			c.Close()
		default:
			c.Close()
			t.Fatalf("connection from 127.0.0.2: %q", line)
		}
	}
	if greeted != 2 || refused != 10 {
		t.Fatalf("one host got %d connections and %d refusals, want 2 and 10", greeted, refused)
	}
	if r := tr.mfd(t, devicePassword, "--user", "frontdesk", "--to", "mainst@relay", "--attach", scan); r.Stage != "sent" || r.Code != 250 {
		t.Fatalf("the device, while the host holds its connections: %+v\nlog:\n%s", r, tr.log)
	}
	log := tr.log.String()
	if n := strings.Count(log, "refused a connection from 127.0.0.2"); n != 1 {
		t.Errorf("%d log lines for a burst of 10 refusals, want 1:\n%s", n, log)
	}
	if !strings.Contains(log, "2 connections from that address already open (--max-per-address)") {
		t.Errorf("the log does not say why:\n%s", log)
	}
	var refusals []map[string]string
	for _, ev := range tr.audit.all() {
		if ev.Kind == AuditConnectionsRefused {
			refusals = append(refusals, ev.Fields)
		}
	}
	if len(refusals) != 1 || refusals[0]["address"] != "127.0.0.2" || refusals[0]["count"] != "1" ||
		!strings.Contains(refusals[0]["reason"], "--max-per-address") {
		t.Errorf("audit of the refusals: %v, want one entry for 127.0.0.2", refusals)
	}
	// Its connections closed, the host may connect again.
	for _, c := range held {
		c.Close()
	}
	held = nil
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, line := dialFrom(t, "127.0.0.2", tr.addr)
		c.Close()
		if strings.HasPrefix(line, "220 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing its connections the host still gets %q", line)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRefusalLogBursts: refusals are logged and audited once when a burst
// starts, then as a count once a window while it lasts, and the count
// left when the relay stops; a burst ends after a window without any,
// so the next refusal is logged at once again. Addresses beyond maxBursts
// are counted together.
func TestRefusalLogBursts(t *testing.T) {
	log := &relaytest.SyncBuffer{}
	au := &auditRecorder{}
	s := &Server{opts: Options{Log: log, Audit: au, Now: time.Now, MaxConnectionsPerAddress: 4, MaxConnections: 8}}
	l := newRefusalLog(s)
	l.window = 200 * time.Millisecond
	a := netip.MustParseAddr("192.0.2.7")
	for range 50 {
		l.note(refusedAddress, a, "192.0.2.7:4000")
	}
	if got := strings.Count(log.String(), "\n"); got != 1 {
		t.Fatalf("%d lines for 50 refusals within a window, want 1:\n%s", got, log)
	}
	waitFor(t, func() bool { return strings.Contains(log.String(), "refused 49 more connection(s) from 192.0.2.7") })
	// A window with no refusals ends the burst: the next is logged at once.
	time.Sleep(3 * l.window)
	l.note(refusedAddress, a, "192.0.2.7:4001")
	if got := strings.Count(log.String(), "refused a connection from 192.0.2.7"); got != 2 {
		t.Fatalf("a refusal after the burst ended: %d first lines, want 2:\n%s", got, log)
	}
	// Outside the allowed networks: logged once, never audited.
	before := len(au.all())
	for i := range maxBursts + 10 {
		ip := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		l.note(refusedNetwork, ip, ip.String()+":25")
		l.note(refusedNetwork, ip, ip.String()+":26")
	}
	if got := len(au.all()); got != before {
		t.Errorf("%d audit entries for refusals outside the allowed networks, want none", got-before)
	}
	if got := strings.Count(log.String(), "not in the allowed networks"); got > maxBursts+1 {
		t.Errorf("%d log lines for %d addresses, want at most %d", got, maxBursts+10, maxBursts+1)
	}
	l.note(refusedAddress, a, "192.0.2.7:4002")
	l.close()
	if !strings.Contains(log.String(), "from other addresses") {
		t.Errorf("the addresses beyond %d were not counted together:\n%s", maxBursts, log)
	}
	l.note(refusedAddress, a, "192.0.2.7:4003") // after close: nothing
	var audited int
	for _, ev := range au.all() {
		if ev.Kind == AuditConnectionsRefused {
			audited++
		}
	}
	// The first burst's first refusal and its count of 49, the second
	// burst's first refusal and, at close, its count of 1: four.
	if audited != 4 {
		t.Errorf("%d audit entries, want 4: %+v", audited, au.all())
	}
	if !strings.Contains(log.String(), "refused 1 more connection(s) from 192.0.2.7") {
		t.Errorf("close did not log the count left:\n%s", log)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// TestServeCancelledBeforeStart: Serve with a context already done
// returns. Before, go-smtp's Shutdown could run before its Serve had
// registered the listener, which it then served for ever (seen when a
// Started callback cancelled the relay).
func TestServeCancelledBeforeStart(t *testing.T) {
	for range 20 {
		tr := &testRelay{}
		dir := t.TempDir()
		cert, _, err := LoadOrCreateCertificate(dir, []string{"127.0.0.1"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tr.sub, tr.audit = &recorder{}, &auditRecorder{}
		srv, err := New(Options{Devices: OpenDevices(filepath.Join(dir, "devices.json")), Resolver: directory, Submitter: tr.sub,
			Audit: tr.audit, TLS: cert, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, TempDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ctx, ln) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("Serve did not return after its context was done")
		}
	}
}
