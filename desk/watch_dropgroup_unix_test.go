//go:build unix

package desk

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWatchDropGroupReadNeedsFolderGroup: --drop-group-read into a
// folder whose group new files do not take (no setgid bit on Linux)
// drops nothing and says why; with the setgid bit the files take the
// folder's group and are 0640. Before, the files were made 0640 with the
// watch's user's primary group, readable by whoever shares it ("users"
// on many systems), not by the folder's group the documentation
// promises. Needs root (to give the folder a group the process is not
// in) and Linux's group rule (BSD and macOS always give the folder's).
func TestWatchDropGroupReadNeedsFolderGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the drop folder another group")
	}
	const gid = 54321 // no process of the test has it
	drop := filepath.Join(t.TempDir(), "drop")
	if err := os.Mkdir(drop, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(drop, -1, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(drop, 0o750); err != nil {
		t.Fatal(err)
	}
	probe, err := os.CreateTemp(drop, "probe")
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := probe.Stat()
	probe.Close()
	os.Remove(probe.Name())
	if fi.Sys().(*syscall.Stat_t).Gid == gid {
		t.Skip("new files take the folder's group here (BSD rule)")
	}
	d, srv := watchDesk(t)
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	var ev events
	opts := WatchOptions{Drop: drop, Once: true, IncludeExisting: true, DropGroupRead: true, Event: ev.add}
	if err := d.Watch(context.Background(), opts); err != nil {
		t.Logf("watch: %v", err)
	}
	if names := dropped(t, drop); len(names) != 0 {
		t.Fatalf("dropped %v into a folder whose group new files do not take\n%s", names, &ev)
	}
	if ev.count(EventFailed) == 0 || !strings.Contains(ev.String(), "give the folder the setgid bit") {
		t.Fatalf("no failure saying why:\n%s", &ev)
	}
	// The setgid bit: dropped, 0640, the folder's group.
	if err := os.Chmod(drop, 0o750|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	ev = events{}
	if err := d.Watch(context.Background(), opts); err != nil {
		t.Fatalf("watch: %v\n%s", err, &ev)
	}
	names := dropped(t, drop)
	if len(names) != 2 {
		t.Fatalf("with the setgid bit: dropped %v\n%s", names, &ev)
	}
	for _, n := range names {
		fi, err := os.Stat(filepath.Join(drop, n))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o640 || fi.Sys().(*syscall.Stat_t).Gid != gid {
			t.Errorf("%s: mode %v group %d, want 0640 and %d", n, fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Gid, gid)
		}
	}
}
