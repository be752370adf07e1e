package app

import (
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/send"
)

// TestOpenFilesShowsMessageVerdict: "securesend FILE.eml" (a double-clicked
// message) opens the app with the message's verdict in the Inbox.
func TestOpenFilesShowsMessageVerdict(t *testing.T) {
	u := newDemoUI(t, nil)
	m := &send.Message{
		From:      u.cfg.From,
		To:        []mail.Address{{Address: demomail.Pharmacy}},
		Subject:   "Referral",
		Documents: []send.Document{{Path: u.samples[0]}},
	}
	got := sendThroughOutbox(t, u, m)
	if len(got) != 1 {
		t.Fatalf("the pharmacy has %d messages", len(got))
	}
	path := filepath.Join(t.TempDir(), "Referral from the practice.EML")
	if err := os.WriteFile(path, got[0].Raw, 0o600); err != nil {
		t.Fatal(err)
	}
	in := u.inbox
	done := expect(&in.fetchDone)
	u.OpenFiles([]string{path})
	await(t, "opening the file", done)
	if u.tabs.Selected() != in.item {
		t.Error("opening an .eml did not show the Inbox")
	}
	if d := texts(in.detail); !strings.Contains(d, "Verified — signed by") {
		t.Errorf("opened .eml:\n%s", d)
	}
}
