//go:build unix

package hotfolder

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPrivateCopyRefusesSwaps: a file checked as regular and then replaced
// (anyone who can write to a shared scan folder could try) is not read:
// not through a link to another of the user's files, not a FIFO (which
// must not block), not another regular file. Nothing is left in TempDir.
func TestPrivateCopyRefusesSwaps(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "private.png")
	if err := os.WriteFile(secret, pngBytes(t, 2), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		swap func(p string) error
	}{
		{"link to another file", func(p string) error { return os.Symlink(secret, p) }},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
		// written beside and renamed in, so it is another inode
		{"another regular file", func(p string) error { return os.Rename(p+".new", p) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, tmp := t.TempDir(), t.TempDir()
			p := writeFile(t, dir, "scan.png", pngBytes(t, 1), time.Hour)
			os.WriteFile(p+".new", pngBytes(t, 1), 0o600)
			w, c, f := settled(t, dir, "scan.png", Config{TempDir: tmp})
			os.Remove(p)
			if err := tt.swap(p); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(p, c.fi.ModTime(), c.fi.ModTime())
			done := make(chan error, 1)
			go func() {
				priv, _, err := w.privateCopy(f, c)
				if err == nil {
					os.RemoveAll(filepath.Dir(priv))
				}
				done <- err
			}()
			select {
			case err := <-done:
				var big *tooLargeError
				if err == nil || errors.As(err, &big) {
					t.Fatalf("the swapped-in file was read: %v", err)
				}
			case <-time.After(5 * time.Second):
				unblockFIFO(p)
				t.Fatal("privateCopy blocked on what was swapped in")
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("left in TempDir: %v", ents)
			}
		})
	}
}

// unblockFIFO opens the FIFO at p for writing, so a reader blocked on it
// (the bug under test) is released.
func unblockFIFO(p string) {
	if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		f.Close()
	}
}

// TestFIFOSwappedInDoesNotHangTheRound: a scan replaced by a FIFO after
// the listing (a real mkfifo) is skipped at once; the round ends, releases
// the folder lock, and the next round (another Watcher, as another process
// would) runs.
func TestFIFOSwappedInDoesNotHangTheRound(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "scan.png", pngBytes(t, 1), time.Hour)
	r := &recorder{}
	w := newWatcher(t, dir, r, 0, nil)
	w.beforeOpen = func(string) {
		os.Remove(p)
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Error(err)
		}
	}
	done := make(chan error, 1)
	go func() { _, err := w.Scan(context.Background()); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		unblockFIFO(p)
		t.Fatal("the round hung on a FIFO swapped in after the listing")
	}
	w2 := newWatcher(t, dir, r, 0, nil)
	go func() { _, err := w2.Scan(context.Background()); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the next round did not get the folder lock")
	}
	if len(r.names()) != 0 {
		t.Errorf("handled %v", r.names())
	}
	if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was touched: %v, %v", fi, err)
	}
}

// TestPlantedSubfolderLinks: a sent/ or failed/ that is a link (or a
// file) stops the round before anything moves, with a clear error; the
// scan stays where it is and nothing lands where the link points.
func TestPlantedSubfolderLinks(t *testing.T) {
	for _, tt := range []struct {
		name, sub, file string
		data            []byte
		asFile          bool
	}{
		{"failed link, bad scan", FailedDir, "bad.pdf", nil, false},
		{"failed link, good scan", FailedDir, "scan.png", nil, false},
		{"sent link, good scan", SentDir, "scan.png", nil, false},
		{"sent is a file", SentDir, "scan.png", nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, elsewhere := t.TempDir(), t.TempDir()
			data := tt.data
			if tt.file == "scan.png" {
				data = pngBytes(t, 1)
			}
			p := writeFile(t, dir, tt.file, data, time.Hour)
			if tt.asFile {
				os.WriteFile(filepath.Join(dir, tt.sub), nil, 0o600)
			} else if err := os.Symlink(elsewhere, filepath.Join(dir, tt.sub)); err != nil {
				t.Fatal(err)
			}
			r := &recorder{}
			_, err := newWatcher(t, dir, r, 0, nil).Scan(context.Background())
			var se *SubfolderError
			if !errors.As(err, &se) || se.Path != filepath.Join(dir, tt.sub) || !strings.Contains(err.Error(), "is a link or a file, not a real folder") {
				t.Fatalf("Scan: %v, want a SubfolderError for %s", err, tt.sub)
			}
			if !exists(p) {
				t.Error("the scan moved")
			}
			if len(r.names()) != 0 {
				t.Errorf("handled %v before the folders were checked", r.names())
			}
			if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
				t.Errorf("landed where the link points: %v", ents)
			}
		})
	}
}

// TestSubfoldersMadePrivate: existing sent/ and failed/ that others could
// read are narrowed to 0700 before anything moves into them; a folder of
// another user is refused.
func TestSubfoldersMadePrivate(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{SentDir, FailedDir} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, sub), 0o755) // whatever the umask
	}
	writeFile(t, dir, "scan.png", pngBytes(t, 1), time.Hour)
	writeFile(t, dir, "bad.pdf", nil, time.Hour)
	if _, _, st := drain(t, dir); st.Queued != 1 || st.Failed != 1 {
		t.Fatalf("stats %+v", st)
	}
	for _, sub := range []string{SentDir, FailedDir} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, %v", sub, fi.Mode(), err)
		}
	}
	if os.Getuid() != 0 {
		return // only root can give a folder to another user
	}
	dir = t.TempDir()
	os.Mkdir(filepath.Join(dir, FailedDir), 0o700)
	if err := os.Chown(filepath.Join(dir, FailedDir), 65534, 65534); err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, dir, "bad.pdf", nil, time.Hour)
	_, err := newWatcher(t, dir, &recorder{}, 0, nil).Scan(context.Background())
	var se *SubfolderError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "belongs to another user") || !exists(p) {
		t.Errorf("Scan: %v", err)
	}
}

// TestReasonFileNeverThroughLink: a reason file is created new, never
// through a link planted under its name.
func TestReasonFileNeverThroughLink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte("keep"), 0o600)
	if err := os.Symlink(target, filepath.Join(dir, "bad.pdf"+reasonExt)); err != nil {
		t.Fatal(err)
	}
	f, err := openFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := writeReason(f, "bad.pdf"+reasonExt, "bad.pdf could not be sent: x.\n"); err == nil {
		t.Error("the reason was written through a link")
	}
	if got, _ := os.ReadFile(target); string(got) != "keep" {
		t.Errorf("the link's target now holds %q", got)
	}
}

// TestTooLarge: a file over MaxSize goes to failed/ with its size in the
// reason, without being copied: a sparse 1 GiB file is refused at once
// under the default limit, and a small one under a small limit.
func TestTooLarge(t *testing.T) {
	for _, tt := range []struct {
		name   string
		size   int64
		limit  int64
		reason string
	}{
		{"default limit", 1 << 30, 0, "it is 1024.0 MB, larger than the hot folder takes (50.0 MB)"},
		{"set limit", 5000, 4000, "it is 4.9 KB, larger than the hot folder takes (3.9 KB)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, tmp := t.TempDir(), t.TempDir()
			p := filepath.Join(dir, "huge.pdf")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(tt.size); err != nil {
				t.Fatal(err)
			}
			f.Close()
			r := &recorder{}
			w, err := New(Config{Dir: dir, Handle: r.handle, MaxSize: tt.limit, TempDir: tmp})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			st, err := w.Drain(context.Background())
			if err != nil || st.Failed != 1 || len(r.names()) != 0 {
				t.Fatalf("stats %+v, %v, handled %v", st, err, r.names())
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v: copied first?", time.Since(start))
			}
			reason, err := os.ReadFile(filepath.Join(dir, FailedDir, "huge.pdf"+reasonExt))
			if err != nil || !strings.Contains(string(reason), tt.reason) {
				t.Errorf("reason %q, %v; want %q", reason, err, tt.reason)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("copies left: %v", ents)
			}
		})
	}
}

// TestPrivateCopiesRemovedOnEveryExit: whatever the Handler does (queue,
// fail, fail for good, panic) and whatever doccheck says, no private copy
// stays in TempDir; a copy a crash left behind for this folder is removed
// by the next round, and other folders' copies and other files are not.
func TestPrivateCopiesRemovedOnEveryExit(t *testing.T) {
	for _, tt := range []struct {
		name   string
		data   func(t *testing.T) []byte
		handle Handler
	}{
		{"queued", func(t *testing.T) []byte { return pngBytes(t, 1) }, nil},
		{"transient error", func(t *testing.T) []byte { return pngBytes(t, 1) },
			func(context.Context, Item) (string, error) { return "", errors.New("keychain locked") }},
		{"permanent error", func(t *testing.T) []byte { return pngBytes(t, 1) },
			func(context.Context, Item) (string, error) { return "", Permanent(errors.New("refused")) }},
		{"panic", func(t *testing.T) []byte { return pngBytes(t, 1) },
			func(context.Context, Item) (string, error) { panic("handler bug") }},
		{"invalid file", func(*testing.T) []byte { return []byte("%PDF-1.7\nnothing else\n") }, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, tmp := t.TempDir(), t.TempDir()
			writeFile(t, dir, "scan.png", tt.data(t), time.Hour)
			h := tt.handle
			var sawCopy bool
			if h == nil {
				h = (&recorder{}).handle
			}
			w, err := New(Config{Dir: dir, TempDir: tmp, Handle: func(ctx context.Context, it Item) (string, error) {
				sawCopy = exists(it.Path)
				return h(ctx, it)
			}})
			if err != nil {
				t.Fatal(err)
			}
			func() {
				defer func() { recover() }()
				w.Scan(context.Background())
			}()
			if tt.name != "invalid file" && !sawCopy {
				t.Error("the Handler got no copy")
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("left in TempDir: %v", ents)
			}
		})
	}

	dir, tmp := t.TempDir(), t.TempDir()
	w, err := New(Config{Dir: dir, TempDir: tmp, Handle: (&recorder{}).handle})
	if err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(tmp, w.copyPrefix+"123456")
	other := filepath.Join(tmp, "securesend-hotfolder-0011223344556677-1")
	unrelated := filepath.Join(tmp, "something-else")
	for _, d := range []string{leftover, other, unrelated} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "scan.png"), pngBytes(t, 1), 0o600)
	}
	if _, err := w.Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if exists(leftover) {
		t.Error("a crash's private copy of this folder survived the next round")
	}
	if !exists(other) || !exists(unrelated) {
		t.Error("removed what was not this folder's")
	}
}

// TestDrainGivesUpOnFileThatNeverSettles (issue 20 point 3): Drain (the
// CLI's --once) does not wait forever for a file something keeps writing
// to: after SettleLimit it goes to failed/ with a reason. Scan (Run) keeps
// waiting.
func TestDrainGivesUpOnFileThatNeverSettles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "scan.pdf")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				f.Write([]byte("more data\n"))
			}
		}
	}()
	defer func() { close(stop); <-writerDone }()

	r := &recorder{}
	var evs []Event
	w, err := New(Config{Dir: dir, Handle: r.handle, Settle: 100 * time.Millisecond, SettleLimit: 500 * time.Millisecond,
		Report: func(_ context.Context, ev Event) { evs = append(evs, ev) }})
	if err != nil {
		t.Fatal(err)
	}
	// Run's rounds keep waiting, past the limit.
	for end := time.Now().Add(700 * time.Millisecond); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if st, err := w.Scan(context.Background()); err != nil || st.Settling != 1 {
			t.Fatalf("Scan: %+v, %v", st, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := w.Drain(ctx)
	if err != nil {
		t.Fatalf("Drain: %v (stats %+v)", err, st)
	}
	if st.Failed != 1 || st.Settling != 0 || len(r.names()) != 0 {
		t.Fatalf("stats %+v, handled %v", st, r.names())
	}
	if exists(p) || !exists(filepath.Join(dir, FailedDir, "scan.pdf")) {
		t.Error("not moved to failed/")
	}
	reason, err := os.ReadFile(filepath.Join(dir, FailedDir, "scan.pdf"+reasonExt))
	if err != nil || !strings.Contains(string(reason), "it was still changing 500ms after it was first seen") {
		t.Errorf("reason %q, %v", reason, err)
	}
	if len(evs) != 1 || evs[0].Outcome != Failed {
		t.Errorf("events %+v", evs)
	}

	// A file that settles within the limit is sent as before.
	writeFile(t, dir, "ok.png", pngBytes(t, 1), 0)
	if st, err := w.Drain(ctx); err != nil || st.Queued != 1 {
		t.Errorf("stats %+v, %v", st, err)
	}
}
