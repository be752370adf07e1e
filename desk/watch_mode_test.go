package desk

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestWatchDropMode: dropped documents and sidecars are their owner's
// only (0600) unless DropGroupRead asks for the folder's group too
// (0640); never anyone else's, and the umask does not widen or narrow it.
func TestWatchDropMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows files take the folder's inherited ACL")
	}
	for _, tt := range []struct {
		name      string
		groupRead bool
		want      os.FileMode
	}{
		{"default", false, 0o600},
		{"group-read", true, 0o640},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, srv := watchDesk(t)
			srv.Deliver(t, testdata(t, "good_encrypted.eml"))
			drop := t.TempDir()
			var ev events
			if err := d.Watch(context.Background(), WatchOptions{Drop: drop, Once: true, IncludeExisting: true, DropGroupRead: tt.groupRead, Event: ev.add}); err != nil {
				t.Fatal(err)
			}
			names := dropped(t, drop)
			if len(names) != 2 {
				t.Fatalf("dropped %v\n%s", names, &ev)
			}
			for _, n := range names {
				fi, err := os.Stat(filepath.Join(drop, n))
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != tt.want {
					t.Errorf("%s: mode %v, want %v", n, got, tt.want)
				}
				if strings.HasPrefix(n, ".") {
					t.Errorf("a temporary file was left: %s", n)
				}
			}
		})
	}
}
