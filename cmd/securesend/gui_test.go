package main

import (
	"context"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/app"
	"github.com/securesend/securesend/app/apptest"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/privtemp"
)

// openGUI makes the app's configuration for e, as runGUI does at start
// (app.OpenDesk over e's desk). The session is closed after the test.
func openGUI(t *testing.T, e *env) app.Config {
	t.Helper()
	d, err := openDesk(e)
	if err != nil {
		t.Fatal(err)
	}
	cfg, s, err := app.OpenDesk(context.Background(), d, desk.SessionOptions{Temp: guiTestTemp(t)}, guiOptions(e))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return cfg
}

// guiEnv is the environment runGUI gets when u starts the app.
func guiEnv(u *user) *env {
	return u.env(strings.NewReader(""), new(strings.Builder), new(strings.Builder))
}

// installDirectoryProfile installs for u, as installLockedProfile does, a signed
// organisation profile whose directory has the pharmacy with its key, but
// that leaves the mail accounts to the user.
func installDirectoryProfile(t *testing.T, u *user, pharmacyKey string) {
	t.Helper()
	installEditedProfile(t, u, pharmacyKey, func(t *testing.T, data string) string {
		const locked = `locked = ["policy.min_tls", "policy.encryption", "accounts"]`
		if !strings.Contains(data, locked) {
			t.Fatalf("the example profile changed: no %s", locked)
		}
		return strings.Replace(data, locked, `locked = ["policy.min_tls", "policy.encryption"]`, 1)
	})
}

// walk calls fn for o and everything shown below it (containers, tabs,
// splits, scrolls, forms).
func walk(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	if o == nil {
		return
	}
	fn(o)
	switch v := o.(type) {
	case *fyne.Container:
		for _, c := range v.Objects {
			walk(c, fn)
		}
	case *container.AppTabs:
		for _, it := range v.Items {
			walk(it.Content, fn)
		}
	case *container.Split:
		walk(v.Leading, fn)
		walk(v.Trailing, fn)
	case *container.Scroll:
		walk(v.Content, fn)
	case *widget.Form:
		for _, it := range v.Items {
			walk(it.Widget, fn)
		}
	}
}

// shownBanner is a verdict banner: its bold title and its border colour.
type shownBanner struct {
	title  string
	colour color.Color
}

// checkInbox checks the inbox, or waits for the check under way, running
// the tests' main loop (apptest) meanwhile: the fetch's changes to the
// widgets happen on the test's goroutine, never while the test reads them.
func checkInbox(t *testing.T, u *app.UI) {
	t.Helper()
	done := make(chan struct{})
	u.CheckInbox(func() { close(done) })
	apptest.Await(t, "the inbox check", time.Minute, done)
}

// inboxVerdicts selects each message in the Inbox tab in turn, as the
// pharmacist does, and returns the verdict banner shown for it. Opening
// the tab may start a check; it waits for it first.
func inboxVerdicts(t *testing.T, u *app.UI) []shownBanner {
	t.Helper()
	var list *widget.List
	var detail fyne.CanvasObject
	walk(u.Window().Content(), func(o fyne.CanvasObject) {
		if tabs, ok := o.(*container.AppTabs); ok {
			for _, it := range tabs.Items {
				if it.Text == "Inbox" {
					// The tab's content holds the list beside the detail
					// (a Split) under whatever wraps it for the window's
					// size: the first Split below the tab.
					tabs.Select(it)
					var split *container.Split
					walk(it.Content, func(o fyne.CanvasObject) {
						if sp, ok := o.(*container.Split); ok && split == nil {
							split = sp
						}
					})
					if split == nil {
						t.Fatal("the Inbox tab shows no list beside a detail")
					}
					detail = split.Trailing
					walk(split.Leading, func(o fyne.CanvasObject) {
						if l, ok := o.(*widget.List); ok {
							list = l
						}
					})
				}
			}
		}
	})
	if list == nil || detail == nil {
		t.Fatal("no Inbox tab with a message list")
	}
	checkInbox(t, u)
	var out []shownBanner
	for i := 0; i < list.Length(); i++ {
		list.Select(i)
		var found []shownBanner
		walk(detail, func(o fyne.CanvasObject) {
			c, ok := o.(*fyne.Container)
			if !ok || len(c.Objects) != 3 {
				return
			}
			border, ok := c.Objects[1].(*canvas.Rectangle)
			if !ok || border.StrokeWidth == 0 {
				return
			}
			b := shownBanner{colour: border.StrokeColor}
			walk(c.Objects[2], func(o fyne.CanvasObject) {
				if l, ok := o.(*widget.Label); ok && l.TextStyle.Bold && b.title == "" {
					b.title = l.Text
				}
			})
			found = append(found, b)
		})
		if len(found) == 0 {
			t.Fatalf("message %d: no verdict banner", i)
		}
		out = append(out, found[0])
	}
	return out
}

// TestGUIInboxDirectoryKeyVerified: in the app's Inbox, as on the command
// line, mail signed with a key from the organisation's signed directory is
// Verified (the directory pins it) without the user importing anything,
// while mail signed with a key nobody pinned gets the amber "unknown
// key" verdict.
func TestGUIInboxDirectoryKeyVerified(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	creds := accounttest.Credentials{User: "reception", Password: "pw"}
	smtpSrv := accounttest.StartSMTP(t, pki, creds, accounttest.Options{})
	imapSrv := accounttest.StartIMAP(t, pki, creds, accounttest.Options{})

	pharmacy, stranger, reception := newUser(t, "pharmacy"), newUser(t, "stranger"), newUser(t, "reception")
	pharmacy.must(t, 0, "", "keys", "generate", "--name", "Main St Pharmacy TEST ONLY", "--email", "pharmacy@example.org")
	stranger.must(t, 0, "", "keys", "generate", "--name", "Stranger TEST ONLY", "--email", "stranger@example.org")
	pharmacyKey := filepath.Join(t.TempDir(), "pharmacy.asc")
	os.WriteFile(pharmacyKey, []byte(pharmacy.must(t, 0, "", "keys", "export")), 0o600)
	installDirectoryProfile(t, reception, pharmacyKey)
	reception.must(t, 0, "pw\n", "account", "add", "--name", "desk", "--email", "reception@example.org", "--user", "reception",
		"--smtp", smtpSrv.Addr, "--smtp-security", "tls", "--imap", imapSrv.Addr, "--imap-security", "tls",
		"--ca-file", pki.CAFile, "--auth", "password", "--password-stdin")
	t.Cleanup(func() { reception.run(t, "", "account", "remove", "desk") })
	doc := writeDoc(t)
	// from sends a signed (not encrypted) message to the reception's
	// mailbox.
	deliver := func(from *user, addr string) {
		t.Helper()
		from.must(t, 0, "pw\n", "send", "--server", smtpSrv.Addr, "--ca-file", pki.CAFile, "--user", "reception", "--password-stdin",
			"--from", addr, "--to", "reception@example.org", "--encrypt", "never", "--subject", "Dispensed", doc)
		msgs := smtpSrv.Messages()
		imapSrv.Deliver(t, msgs[len(msgs)-1])
	}

	e := guiEnv(reception)
	h, err := home.Resolve(e.getenv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := openGUI(t, e)
	if cfg.Demo || cfg.Account != "desk" || cfg.Home != h {
		t.Fatalf("not the reception's account: demo %v, %q", cfg.Demo, cfg.Account)
	}
	u := app.New(apptest.NewApp(t), cfg)
	u.Window().Resize(fyne.NewSize(1024, 720))
	// Runs before the session is closed: no fetch is left writing into it.
	t.Cleanup(func() { checkInbox(t, u) })
	green, amber := theme.Color(theme.ColorNameSuccess), theme.Color(theme.ColorNameWarning)

	deliver(pharmacy, "pharmacy@example.org")
	checkInbox(t, u)
	got := inboxVerdicts(t, u)
	if len(got) != 1 || !strings.HasPrefix(got[0].title, "Verified — signed by Main St Pharmacy TEST ONLY <pharmacy@example.org>") || got[0].colour != green {
		t.Fatalf("mail signed with the directory's key: %+v", got)
	}

	deliver(stranger, "stranger@example.org")
	checkInbox(t, u)
	got = inboxVerdicts(t, u)
	var verified, unknown int
	for _, b := range got {
		switch {
		case strings.HasPrefix(b.title, "Verified — signed by Main St Pharmacy") && b.colour == green:
			verified++
		case strings.HasPrefix(b.title, "Signed by an unknown key") && b.colour == amber:
			unknown++
		}
	}
	if len(got) != 2 || verified != 1 || unknown != 1 {
		t.Errorf("inbox verdicts: %+v", got)
	}
}

// guiTestTemp is a private temp folder for the test, removed after it.
func guiTestTemp(t *testing.T) *privtemp.Dir {
	t.Helper()
	tmp, err := privtemp.New(t.TempDir())
	if tmp == nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tmp.Close() })
	return tmp
}

// TestGUISettingsFollowPolicy: the Settings tab adds accounts through the
// desk, so a signed profile that locks the mail accounts refuses an own
// account there as 'securesend account add' does (before, the app stored
// it).
func TestGUISettingsFollowPolicy(t *testing.T) {
	requireKeychain(t)
	pki := accounttest.NewPKI(t)
	clinic, pharmacy := newUser(t, "clinic"), newUser(t, "pharmacy")
	installLockedProfile(t, clinic, keyPair(t, clinic, pharmacy), pki)
	cfg := openGUI(t, clinic.env(strings.NewReader(""), io.Discard, io.Discard))
	err := cfg.Accounts.Store.Add(account.Account{Name: "own", Email: "clinic@example.org", Auth: account.AuthPassword,
		SMTP: account.Server{Address: "smtp.elsewhere.test:465", Security: account.ImplicitTLS}}, account.Credentials{Password: "pw"})
	if err == nil || !strings.Contains(err.Error(), "locks the mail accounts") {
		t.Errorf("own account under a profile that locks accounts: %v", err)
	}
	if accts, err := cfg.Accounts.Store.List(); err != nil || len(accts) != 0 {
		t.Errorf("accounts stored: %+v, %v", accts, err)
	}
}
