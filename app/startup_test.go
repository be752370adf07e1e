package app

import (
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/securesend/securesend/desk"
)

// TestInboxJoinsWindowWhenShown: the Inbox's content is not in the window
// (so the window's first layout does not lay it out, measuring and
// wrapping its labels: ~40 ms of CPU at every start, bench/gui-startup)
// until its tab is first shown, and then it is there, once, with the
// status of the check that started with the app.
func TestInboxJoinsWindowWhenShown(t *testing.T) {
	cfg, _ := openDemo(t, desk.DemoOptions{})
	u := New(newTestApp(t), cfg)
	t.Cleanup(func() { waitNoFetch(t, u) })
	inWindow := func() bool {
		return slices.Contains(test.LaidOutObjects(u.win.Content()), fyne.CanvasObject(u.inbox.list))
	}
	// Laid out means resized by its container: the Inbox's split is laid
	// out when the window is, whether its tab is shown or not.
	if inWindow() || !u.inbox.list.Size().IsZero() {
		t.Fatalf("the Inbox was laid out before its tab was shown (list %v)", u.inbox.list.Size())
	}
	// The Inbox's widgets work before it is shown: the check at start-up
	// sets its status.
	u.inbox.checkNow()
	waitNoFetch(t, u)
	status := u.inbox.status.Text
	if status == "Not checked yet." {
		t.Errorf("the check did not report to the hidden Inbox: %q", status)
	}
	u.tabs.Select(u.inbox.item)
	if !inWindow() || u.inbox.list.Size().IsZero() {
		t.Fatalf("the Inbox is not laid out in the window once its tab is shown (list %v)", u.inbox.list.Size())
	}
	if !slices.Contains(test.LaidOutObjects(u.win.Content()), fyne.CanvasObject(u.inbox.status)) {
		t.Error("the Inbox's status is not in the window")
	}
	waitNoFetch(t, u)
	u.tabs.Select(u.send.item)
	u.tabs.Select(u.inbox.item)
	if n := len(u.inbox.item.Content.(*fyne.Container).Objects); n != 1 {
		t.Errorf("the Inbox's tab holds %d objects after a second showing, want 1", n)
	}
	if !inWindow() {
		t.Error("the Inbox's list left the window after a second showing")
	}
}

// TestFirstCheckAfterFirstFrame: the app's first check for mail starts
// when the window's first frame is drawn, not before (it competed with
// the first frame for the CPU), and then it does run.
func TestFirstCheckAfterFirstFrame(t *testing.T) {
	cfg, _ := openDemo(t, desk.DemoOptions{})
	u := New(newTestApp(t), cfg)
	t.Cleanup(func() { waitNoFetch(t, u) })
	// The test driver's ShowAndRun shows the window and returns.
	u.ShowAndRun()
	if u.inbox.isFetching() || u.inbox.status.Text != "Not checked yet." {
		t.Fatalf("a check started before the first frame: %q", u.inbox.status.Text)
	}
	u.win.Canvas().Capture() // draws a frame
	pumpUntil(t, "the first check", 30*time.Second, func() bool {
		return !u.inbox.lastCheck.IsZero() && !u.inbox.isFetching()
	})
	if s := u.inbox.status.Text; s == "Not checked yet." || s == "Checking for new messages…" {
		t.Errorf("the first check did not finish: %q", s)
	}
}
