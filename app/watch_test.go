package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/home"
)

// watchUI is a demo window whose Settings offer the watch of Bob's desk
// (a home of its own: Bob's key, Alice's pinned, an account on an
// in-process IMAP server with STARTTLS and IDLE), with the app's home h.
func watchUI(t *testing.T, h home.Home) (*demoUI, *accounttest.IMAPServer) {
	t.Helper()
	testKeychain(t)
	dir := t.TempDir()
	d, err := desk.Open(desk.Options{Getenv: func(k string) string {
		if k == home.EnvVar {
			return dir
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := d.Keys()
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) *pgp.Key {
		data, err := os.ReadFile(filepath.Join("..", "receive", "testdata", "keys", "test_only_"+name+".sec.asc"))
		if err != nil {
			t.Fatal(err)
		}
		k, err := pgp.ReadSecretKey(bytes.NewReader(data), nil)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	if _, err := ks.AddSecret(read("bob")); err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	if err := read("alice").Public().WriteArmored(&pub); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Import(&pub, pgp.ImportOptions{Pin: true}); err != nil {
		t.Fatal(err)
	}
	const user, pw = "bob@pharmacy.test", "imap-pass-for-app"
	pki := accounttest.NewPKI(t)
	srv := accounttest.StartIMAP(t, pki, accounttest.Credentials{User: user, Password: pw}, accounttest.Options{StartTLS: true})
	a := account.Account{Name: "pharmacy", Email: user, Auth: account.AuthPassword,
		SMTP: account.Server{Address: "127.0.0.1:1", Security: account.StartTLS},
		IMAP: account.Server{Address: srv.Addr, Security: account.StartTLS}, CAFile: pki.CAFile}
	if err := d.Accounts().Add(a, account.Credentials{Password: pw}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Accounts().Remove("pharmacy") })
	u := newDemoUI(t, func(c *Config) {
		c.Home, c.Account, c.Watch = h, "pharmacy", d.Watch
	})
	t.Cleanup(func() {
		if w := u.settings.watch; w != nil {
			w.stop()
		}
	})
	return u, srv
}

// waitWatch waits, as the watch reports events, until cond holds.
func waitWatch(t *testing.T, w *watchSection, what string, cond func() bool) {
	t.Helper()
	ch := make(chan struct{}, 100)
	w.event = func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	defer func() { w.event = nil }()
	deadline := time.After(time.Minute)
	for !cond() {
		if _, ok := pumpRecv(ch, 100*time.Millisecond); ok {
			continue
		}
		select {
		case <-deadline:
			t.Fatalf("%s: not seen; state %q, activity:\n%s", what, w.state.Text, texts(w.activity))
		default:
		}
	}
}

func savedWatch(t *testing.T, h home.Home) watchSettings {
	t.Helper()
	var s watchSettings
	data, err := os.ReadFile(h.Path(watchSettingsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWatchSetting: "Deliver verified documents as they arrive" is off
// by default; turned on with no folder or printer it says so next to the
// folder; turned on with a folder it runs the desk's watch, which writes a
// verified document sent while it runs into the folder and lists it; the
// choice is kept in the home and a new window starts the watch again;
// turned off the watch ends.
func TestWatchSetting(t *testing.T) {
	h := home.Home{Dir: t.TempDir()}
	u, srv := watchUI(t, h)
	w := u.settings.watch
	if w == nil || w.on.Checked || w.running() {
		t.Fatal("the watch setting is missing or on by default")
	}
	u.tabs.Select(u.settings.item)
	if !u.settings.showSection(sectionWatch) {
		t.Fatal("no section for the watch")
	}

	test.Tap(w.on)
	if w.on.Checked || w.running() || !w.dropErr.Visible() || !strings.Contains(w.dropErr.Text, "Choose a folder") {
		t.Fatalf("on without a destination: checked %v, next to the folder %q", w.on.Checked, w.dropErr.Text)
	}
	w.printer.SetText("my printer")
	w.drop.SetText(filepath.Join(t.TempDir(), "missing"))
	test.Tap(w.on)
	if w.on.Checked || !strings.Contains(w.dropErr.Text, "There is no folder") || !strings.Contains(w.printErr.Text, "not a printer name") {
		t.Fatalf("bad folder and printer: %q, %q", w.dropErr.Text, w.printErr.Text)
	}
	w.printer.SetText("")
	w.drop.SetText("scans")
	test.Tap(w.on)
	if w.on.Checked || !strings.Contains(w.dropErr.Text, "full path") {
		t.Fatalf("a relative folder: %q", w.dropErr.Text)
	}
	drop := t.TempDir()
	w.drop.SetText(drop)
	if w.dropErr.Visible() || w.printErr.Visible() {
		t.Error("the errors stay after editing the fields")
	}
	test.Tap(w.on)
	if !w.on.Checked || !w.running() {
		t.Fatalf("not running: %q", w.state.Text)
	}
	waitWatch(t, w, "connected", func() bool { return strings.HasPrefix(w.state.Text, "On:") })
	if s := savedWatch(t, h); !s.On || s.Drop != drop {
		t.Errorf("saved %+v", s)
	}

	// Alice's signed and encrypted message arrives while the watch runs;
	// so do one that is not signed and one whose body was altered.
	for _, n := range []string{"not_signed.eml", "bad_signature_body_altered.eml", "good_encrypted.eml"} {
		raw, err := os.ReadFile(filepath.Join("..", "receive", "testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		srv.Deliver(t, raw)
	}
	waitWatch(t, w, "delivered", func() bool { return strings.Contains(texts(w.activity), "written to the folder") })
	waitWatch(t, w, "refused", func() bool { return strings.Count(texts(w.activity), "not verified") == 2 })
	entries, _ := os.ReadDir(drop)
	if len(entries) != 2 {
		t.Errorf("the folder holds %v, want the verified document and its sidecar", entries)
	}
	// Off: the watch ends and the choice is kept.
	test.Tap(w.on)
	if w.running() || w.state.Text != "Off." || savedWatch(t, h).On {
		t.Errorf("after turning off: running %v, %q, saved %+v", w.running(), w.state.Text, savedWatch(t, h))
	}

	// Left on, it runs from the start of the next window.
	test.Tap(w.on)
	if !w.running() {
		t.Fatal("not on again")
	}
	w.stop()
	u2, _ := watchUI(t, h)
	if w2 := u2.settings.watch; !w2.on.Checked || !w2.running() || w2.drop.Text != drop {
		t.Errorf("the next window: checked %v, running %v, folder %q", w2.on.Checked, w2.running(), w2.drop.Text)
	}
}

// TestWatchShowsPossiblyPrinted: a delivery interrupted after the
// document was handed to the printer is listed as possibly printed, with
// what to do; new mail the watch saw has the Inbox check at once; a
// watch that cannot start says why and turns off.
func TestWatchShowsPossiblyPrinted(t *testing.T) {
	fail := errors.New("watch: no account with an inbox server")
	var events func(desk.WatchEvent)
	start := make(chan struct{})
	u := newDemoUI(t, func(c *Config) {
		c.Watch = func(ctx context.Context, opts desk.WatchOptions) error {
			if opts.Printer == nil || opts.Printer.Name() != "frontdesk" {
				return fail
			}
			events = opts.Event
			close(start)
			<-ctx.Done()
			return nil
		}
	})
	w := u.settings.watch
	w.printer.SetText("frontdesk")
	test.Tap(w.on)
	<-start
	at := time.Date(2026, 11, 23, 9, 30, 0, 0, time.Local)
	fetched := expect(&u.inbox.fetchDone)
	events(desk.WatchEvent{Time: at, Kind: desk.EventPossiblyDelivered, Dest: "print", Name: "rx.pdf"})
	await(t, "the Inbox check after new mail", fetched) // not at its next poll
	events(desk.WatchEvent{Time: at, Kind: desk.EventDelivered, Dest: "print", Name: "rx2.pdf"})
	events(desk.WatchEvent{Time: at, Kind: desk.EventNotReceived, Detail: "work INBOX UID 7: fetch failed (attempt 3): \x1b[2J; ask the sender to send it again"})
	got := texts(w.activity)
	if !strings.Contains(got, "09:30 A message could not be received: work INBOX UID 7") || strings.Contains(got, "\x1b") {
		t.Errorf("a message not received is not shown, or not safely:\n%s", got)
	}
	if !strings.Contains(got, "09:30 Possibly printed: rx.pdf.") || !strings.Contains(got, "not delivered again") || !strings.Contains(got, "09:30 rx2.pdf printed.") {
		t.Errorf("activity:\n%s", got)
	}
	test.Tap(w.on)
	w.printer.SetText("other")
	test.Tap(w.on)
	pumpUntil(t, "the failed watch's report", time.Minute, func() bool {
		return strings.Contains(w.state.Text, "Not delivering")
	})
	if w.on.Checked || w.running() || !strings.Contains(w.state.Text, "Not delivering: Watch: no account with an inbox server") {
		t.Errorf("a watch that cannot start: checked %v, %q", w.on.Checked, w.state.Text)
	}
}
