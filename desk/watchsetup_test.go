package desk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/hotfolder"
)

// TestCUPSPrinter: a CUPS queue name becomes lp's printer; a name lp
// would take for an option or that CUPS refuses, and any name on
// Windows (no CUPS), are refused with a reason.
func TestCUPSPrinter(t *testing.T) {
	for _, tc := range []struct {
		goos, name string
		want       error // nil: accepted
		wantText   string
	}{
		{"linux", "Ward3_Laser", nil, ""},
		{"darwin", "pharmacy-front", nil, ""},
		{"linux", "-o evil", nil, "not a printer"},
		{"linux", "Ward 3", nil, "not a printer"},
		{"linux", "ward/3", nil, "not a printer"},
		{"windows", "Ward3_Laser", ErrPrintNeedsCUPS, ""},
	} {
		lp, err := cupsPrinter(tc.goos, tc.name)
		switch {
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("%s %q: %v, want %v", tc.goos, tc.name, err, tc.want)
		case tc.wantText != "" && (err == nil || !strings.Contains(err.Error(), tc.wantText)):
			t.Errorf("%s %q: %v, want %q", tc.goos, tc.name, err, tc.wantText)
		case tc.want == nil && tc.wantText == "" && (err != nil || lp.Printer != tc.name):
			t.Errorf("%s %q: %+v, %v", tc.goos, tc.name, lp, err)
		}
	}
}

// TestHotFolderService: Desk.HotFolder with Once queues each file of the
// folder through the Send journey and delivers it (an encrypted message
// at the account's server), moving it to sent/; an empty file goes to
// failed/ and nothing is sent for it. Watching, it says so, takes a file
// saved later, and returns nil when stopped.
func TestHotFolderService(t *testing.T) {
	c := newClinicHome(t)
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	scan, err := os.ReadFile(filepath.Join("..", "relay", "testdata", "good_scan.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	write("rx.pdf", string(scan))
	write("empty.pdf", "")
	m := prescription(t, "unused")
	m.Documents = nil
	var mu sync.Mutex
	var files []hotfolder.Outcome
	var deliveries []RunOutcome
	cfg := HotFolderConfig{Dir: dir, Draft: Draft{Message: m, Via: Via{Account: "clinic"}, Encrypt: send.EncryptAlways},
		MaxSize: 1 << 20, SettleLimit: time.Second, Interval: 20 * time.Millisecond, Once: true,
		Report: func(ev hotfolder.Event) {
			mu.Lock()
			files = append(files, ev.Outcome)
			mu.Unlock()
			t.Logf("%s: %s %s", ev.Name, ev.Outcome, ev.Reason)
		},
		Delivered: func(ev RunEvent) { mu.Lock(); deliveries = append(deliveries, ev.Outcome); mu.Unlock() },
		Watching:  func() { t.Error("Watching with Once") },
	}
	if err := c.d.HotFolder(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	if !slices.Equal(files, []hotfolder.Outcome{hotfolder.Failed, hotfolder.Queued}) || !slices.Equal(deliveries, []RunOutcome{RunSent}) {
		t.Errorf("files %v, deliveries %v", files, deliveries)
	}
	if msgs := c.smtp.Messages(); len(msgs) != 1 || !strings.Contains(string(msgs[0]), "application/pgp-encrypted") {
		t.Fatalf("%d messages at the server, want 1 encrypted", len(msgs))
	}
	for _, p := range []string{filepath.Join(hotfolder.SentDir, "rx.pdf"), filepath.Join(hotfolder.FailedDir, "empty.pdf")} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}

	// Watching until stopped.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watching := make(chan struct{})
	cfg.Once, cfg.Watching = false, func() { close(watching) }
	cfg.Delivered = func(ev RunEvent) {
		if ev.Outcome == RunSent {
			cancel()
		}
	}
	done := make(chan error, 1)
	go func() { done <- c.d.HotFolder(ctx, cfg) }()
	select {
	case <-watching:
	case err := <-done:
		t.Fatalf("stopped before watching: %v", err)
	}
	write("later.pdf", string(scan)+"\n")
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("stopped: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the file saved later was not sent")
	}
	if n := len(c.smtp.Messages()); n != 2 {
		t.Errorf("%d messages at the server, want 2", n)
	}
}
