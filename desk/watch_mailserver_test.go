package desk

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/internal/mailserver"
)

// dovecotDesk is a Desk of Bob's with an account on a private Postfix
// and Dovecot (bob@pharmacy.test), and a function that delivers a
// receive/testdata message to him through Postfix, as mail from outside.
func dovecotDesk(t *testing.T) (*Desk, *mailserver.Server, func(name string)) {
	t.Helper()
	requireKeychain(t)
	srv := mailserver.StartT(t, mailserver.Options{Domain: "pharmacy.test", Users: []string{"bob"}})
	d, _ := testDesk(t)
	bobsKeys(t, d)
	a := account.Account{Name: "pharmacy", Email: "bob@pharmacy.test", Auth: account.AuthPassword, CAFile: srv.CAFile,
		SMTP: account.Server{Address: mailserver.Addr(srv.SMTPS), Security: account.ImplicitTLS},
		IMAP: account.Server{Address: mailserver.Addr(srv.IMAPS), Security: account.ImplicitTLS}}
	if err := d.Accounts().Add(a, account.Credentials{Password: srv.Password}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Accounts().Remove("pharmacy") })
	deliver := func(name string) {
		t.Helper()
		// The plain port is the one mail from other domains arrives on.
		c, err := smtp.Dial(mailserver.Addr(srv.Plain))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.SendMail("alice@clinic.test", []string{"bob@pharmacy.test"}, bytes.NewReader(testdata(t, name))); err != nil {
			t.Fatalf("deliver %s: %v", name, err)
		}
	}
	return d, srv, deliver
}

// restartDovecot stops Dovecot (cutting every IMAP connection) and
// starts it again on the same ports.
func restartDovecot(t *testing.T, srv *mailserver.Server) {
	t.Helper()
	conf := filepath.Join(srv.Dir, "dovecot", "dovecot.conf")
	if out, err := exec.Command("/usr/bin/doveadm", "-c", conf, "stop").CombinedOutput(); err != nil {
		t.Fatalf("doveadm stop: %v: %s", err, out)
	}
	pid := filepath.Join(srv.Dir, "dovecot", "run", "master.pid")
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(pid); err != nil {
			break
		}
		if time.Now().After(end) {
			t.Fatal("dovecot did not stop")
		}
	}
	time.Sleep(time.Second) // down for a moment: the watch's reconnection fails first
	// No output pipes: the daemon's children would hold them open.
	if err := exec.Command("/usr/sbin/dovecot", "-c", conf).Run(); err != nil {
		t.Fatalf("dovecot: %v (log: %s)", err, srv.DovecotLog())
	}
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := net.Dial("tcp", mailserver.Addr(srv.IMAPS))
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(end) {
			t.Fatalf("dovecot did not come back: %v", err)
		}
	}
}

// TestWatchDovecot: against a real Dovecot (IDLE), unsigned and tampered
// messages are not dropped, a verified one delivered while watching is
// dropped within 5 s; Dovecot is restarted mid-watch, the watch
// reconnects, and a verified message delivered after is dropped too.
func TestWatchDovecot(t *testing.T) {
	d, srv, deliver := dovecotDesk(t)
	drop := t.TempDir()
	var ev events
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- d.Watch(ctx, WatchOptions{Drop: drop, Event: ev.add, MinBackoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	}()
	waitFor(t, time.Minute, func() bool { return ev.count(EventFetched) > 0 }, &ev)

	deliver("not_signed.eml")
	deliver("bad_signature_body_altered.eml")
	deliver("unknown_signer.eml")
	waitFor(t, time.Minute, func() bool { return ev.count(EventNotDelivered) == 3 }, &ev)
	start := time.Now()
	deliver("good_encrypted.eml")
	waitFor(t, 5*time.Second, func() bool { return len(dropped(t, drop)) == 2 }, &ev)
	t.Logf("dropped %v after it was handed to Postfix", time.Since(start).Round(time.Millisecond))

	restartDovecot(t, srv)
	waitFor(t, time.Minute, func() bool { return ev.count(EventConnected) >= 2 }, &ev)
	if ev.count(EventDisconnected) == 0 {
		t.Errorf("no disconnection reported:\n%s", &ev)
	}
	deliver("good_signed.eml")
	waitFor(t, 10*time.Second, func() bool { return ev.count(EventDelivered)+ev.count(EventAlreadyDelivered) >= 2 }, &ev)
	if n := ev.count(EventNotDelivered); n != 3 {
		t.Errorf("%d not delivered, want 3:\n%s", n, &ev)
	}
	t.Logf("events:\n%s", &ev)
}

// TestWatchDovecotLongIdle: idling for longer than the IMAP connection's
// silence limit (30 s) with the default IDLE renewal keeps the one
// connection, and mail is still noticed at once. Skipped with -short.
func TestWatchDovecotLongIdle(t *testing.T) {
	if testing.Short() {
		t.Skip("idles for 40 s")
	}
	d, _, deliver := dovecotDesk(t)
	drop := t.TempDir()
	var ev events
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Watch(ctx, WatchOptions{Drop: drop, Event: ev.add}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	}()
	waitFor(t, time.Minute, func() bool { return ev.count(EventFetched) > 0 }, &ev)
	time.Sleep(40 * time.Second)
	deliver("good_encrypted.eml")
	waitFor(t, 5*time.Second, func() bool { return len(dropped(t, drop)) == 2 }, &ev)
	if ev.count(EventDisconnected) != 0 || ev.count(EventConnected) != 1 {
		t.Errorf("the connection did not survive the idle:\n%s", &ev)
	}
}
