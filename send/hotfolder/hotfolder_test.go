package hotfolder

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// pngBytes is a small valid PNG; seed makes the content (and hash) differ.
func pngBytes(t *testing.T, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = byte(seed*31 + i)
	}
	img.Set(0, 0, color.RGBA{byte(seed), byte(seed >> 8), 1, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writeFile writes data to dir/name with the given age (mtime in the past).
func writeFile(t *testing.T, dir, name string, data []byte, age time.Duration) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	mt := time.Now().Add(-age)
	if err := os.Chtimes(p, mt, mt); err != nil {
		t.Fatal(err)
	}
	return p
}

// recorder is a Handler that records calls and answers with err(name).
type recorder struct {
	mu    sync.Mutex
	calls []Item
	err   func(name string) error
}

func (r *recorder) handle(ctx context.Context, it Item) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, it)
	if r.err != nil {
		if err := r.err(it.Name); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("job%d", len(r.calls)), nil
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		out = append(out, c.Name)
	}
	return out
}

func newWatcher(t *testing.T, dir string, r *recorder, settle time.Duration, events *[]Event) *Watcher {
	t.Helper()
	w, err := New(Config{Dir: dir, Handle: r.handle, Settle: settle, Report: func(_ context.Context, ev Event) {
		if events != nil {
			*events = append(*events, ev)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// drain runs one Drain of a new Watcher (no settle time) over dir with a
// recorder, and returns the recorder, the events and the stats.
func drain(t *testing.T, dir string) (*recorder, []Event, Stats) {
	t.Helper()
	r := &recorder{}
	var evs []Event
	st, err := newWatcher(t, dir, r, 0, &evs).Drain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r, evs, st
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

// settled returns a Watcher on dir (cfg with Dir and a Handler filled in),
// the listing's candidate for name, and the folder open.
func settled(t *testing.T, dir, name string, cfg Config) (*Watcher, candidate, *folder) {
	t.Helper()
	cfg.Dir = dir
	if cfg.Handle == nil {
		cfg.Handle = (&recorder{}).handle
	}
	if cfg.TempDir == "" {
		cfg.TempDir = t.TempDir()
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := openFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return w, candidate{name, fi}, f
}

// journalIn reads the journal of the hot folder dir.
func journalIn(dir string) (*journal, error) {
	f, err := openFolder(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return (&Watcher{cfg: Config{Dir: dir}}).readJournal(f)
}

func TestQueuesOldestFirstAndIgnoresOthers(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "b-new.PNG", pngBytes(t, 1), time.Minute)
	writeFile(t, dir, "a-old.png", pngBytes(t, 2), time.Hour)
	// ignored: hidden, temporary, other types, a subfolder
	for _, n := range []string{".hidden.png", "~lock.pdf", "scan.pdf.tmp", "scan.png.part", "notes.txt", "x.crdownload"} {
		writeFile(t, dir, n, pngBytes(t, 3), time.Hour)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.pdf"), 0o700); err != nil {
		t.Fatal(err)
	}
	r, evs, st := drain(t, dir)
	if got := strings.Join(r.names(), ","); got != "a-old.png,b-new.PNG" {
		t.Errorf("handled %q, want oldest first and nothing else", got)
	}
	if st.Queued != 2 || st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}
	for _, n := range []string{"a-old.png", "b-new.PNG"} {
		if !exists(filepath.Join(dir, SentDir, n)) || exists(filepath.Join(dir, n)) {
			t.Errorf("%s not moved to sent/", n)
		}
	}
	for _, n := range []string{".hidden.png", "~lock.pdf", "scan.pdf.tmp", "scan.png.part", "notes.txt", "x.crdownload", "sub.pdf"} {
		if !exists(filepath.Join(dir, n)) {
			t.Errorf("%s was touched", n)
		}
	}
	if len(evs) != 2 || evs[0].Outcome != Queued || evs[0].JobID != "job1" || evs[0].Dest != filepath.Join(dir, SentDir, "a-old.png") {
		t.Errorf("events %+v", evs)
	}
	if it := r.calls[0]; it.SHA256 == "" || it.Key == "" || it.Info == nil || it.Info.Kind != "PNG" {
		t.Errorf("item %+v", it)
	}
	// the journal keeps nothing once files are moved
	if j, err := journalIn(dir); err != nil || len(j.Entries) != 0 {
		t.Errorf("journal %+v, %v", j, err)
	}
}

// TestSettle: a file still growing is not taken; once it has been
// unchanged for the settle time it is, whole.
func TestSettle(t *testing.T) {
	dir := t.TempDir()
	data := pngBytes(t, 7)
	p := filepath.Join(dir, "scan.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	const settle = 400 * time.Millisecond
	w := newWatcher(t, dir, r, settle, nil)
	ctx := context.Background()
	// write it slowly, scanning between the chunks: never taken
	chunk := len(data)/5 + 1
	var lastWrite time.Time
	for off := 0; off < len(data); off += chunk {
		end := min(off+chunk, len(data))
		if _, err := f.Write(data[off:end]); err != nil {
			t.Fatal(err)
		}
		lastWrite = time.Now()
		st, err := w.Scan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Settling != 1 || len(r.names()) != 0 {
			t.Fatalf("taken while growing: %+v, %v", st, r.names())
		}
		time.Sleep(settle / 4)
	}
	f.Close()
	st, err := w.Drain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Taken only once it had been unchanged for the settle time, measured
	// from the last write (not from Drain's start: on a loaded machine the
	// sleeps above may already have used up most of the settle time).
	if since := time.Since(lastWrite); st.Queued != 1 || since < settle*3/4 {
		t.Fatalf("stats %+v, %v after the last write", st, since)
	}
	got, err := os.ReadFile(filepath.Join(dir, SentDir, "scan.png"))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("sent/scan.png is not the whole file: %v", err)
	}
}

func TestInvalidFilesGoToFailedWithReason(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "empty.pdf", nil, time.Hour)
	writeFile(t, dir, "corrupt.png", []byte("\x89PNG\r\n\x1a\nnot really"), time.Hour)
	writeFile(t, dir, "word.pdf", []byte("PK\x03\x04 a zip, not a PDF"), time.Hour)
	writeFile(t, dir, "broken.pdf", []byte("%PDF-1.7\nnothing else\n"), time.Hour)
	r, evs, st := drain(t, dir)
	if st.Failed != 4 || len(r.names()) != 0 {
		t.Fatalf("stats %+v, handled %v", st, r.names())
	}
	for name, want := range map[string]string{
		"empty.pdf":   "the file is empty",
		"corrupt.png": "damaged",
		"word.pdf":    "not supported",
		"broken.pdf":  "damaged or not a valid PDF",
	} {
		if exists(filepath.Join(dir, name)) || !exists(filepath.Join(dir, FailedDir, name)) {
			t.Errorf("%s not moved to failed/", name)
		}
		reason, err := os.ReadFile(filepath.Join(dir, FailedDir, name+".reason.txt"))
		if err != nil || !strings.Contains(string(reason), want) || !strings.HasPrefix(string(reason), name+" could not be sent: ") {
			t.Errorf("%s: reason %q (%v), want %q", name, reason, err, want)
		}
	}
	for _, ev := range evs {
		if ev.Outcome != Failed || ev.Reason == "" {
			t.Errorf("event %+v", ev)
		}
	}
}

func TestHandlerErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "later.png", pngBytes(t, 1), time.Hour)
	writeFile(t, dir, "never.png", pngBytes(t, 2), time.Minute)
	down := true
	r := &recorder{err: func(name string) error {
		if name == "never.png" {
			return fmt.Errorf("the policy refuses it: %w", ErrPermanent)
		}
		if down {
			return errors.New("the keychain is locked")
		}
		return nil
	}}
	var evs []Event
	w := newWatcher(t, dir, r, 0, &evs)
	ctx := context.Background()
	st, err := w.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Retry != 1 || st.Failed != 1 {
		t.Fatalf("stats %+v", st)
	}
	if !exists(filepath.Join(dir, "later.png")) {
		t.Error("a transient failure moved the file")
	}
	reason, err := os.ReadFile(filepath.Join(dir, FailedDir, "never.png.reason.txt"))
	if err != nil || !strings.Contains(string(reason), "the policy refuses it") {
		t.Errorf("reason %q, %v", reason, err)
	}
	if evs[0].Outcome != Retry || evs[0].Reason != "the keychain is locked" {
		t.Errorf("event %+v", evs[0])
	}
	// the next round tries again, with the same key, and succeeds
	key := r.calls[0].Key
	down = false
	if st, err = w.Scan(ctx); err != nil || st.Queued != 1 {
		t.Fatalf("stats %+v, %v", st, err)
	}
	if r.calls[2].Key != key {
		t.Error("the idempotency key changed between attempts")
	}
	if !exists(filepath.Join(dir, SentDir, "later.png")) {
		t.Error("not moved to sent/")
	}
	// Permanent also works as a wrapper
	if !errors.Is(Permanent(errors.New("x")), ErrPermanent) || Permanent(nil) != nil {
		t.Error("Permanent")
	}
}

func TestNameCollisions(t *testing.T) {
	dir := t.TempDir()
	for _, sub := range []string{SentDir, FailedDir} {
		os.Mkdir(filepath.Join(dir, sub), 0o700)
	}
	writeFile(t, filepath.Join(dir, SentDir), "scan.png", []byte("earlier"), time.Hour)
	writeFile(t, filepath.Join(dir, SentDir), "scan-1.png", []byte("earlier too"), time.Hour)
	writeFile(t, filepath.Join(dir, FailedDir), "bad.pdf", []byte("earlier"), time.Hour)
	writeFile(t, dir, "scan.png", pngBytes(t, 1), time.Hour)
	writeFile(t, dir, "bad.pdf", nil, time.Hour)
	w := newWatcher(t, dir, &recorder{}, 0, nil)
	if _, err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		filepath.Join(dir, SentDir, "scan.png"):    "earlier",
		filepath.Join(dir, SentDir, "scan-1.png"):  "earlier too",
		filepath.Join(dir, FailedDir, "bad.pdf"):   "earlier",
		filepath.Join(dir, SentDir, "scan-2.png"):  string(pngBytes(t, 1)),
		filepath.Join(dir, FailedDir, "bad-1.pdf"): "",
	} {
		got, err := os.ReadFile(p)
		if err != nil || string(got) != want {
			t.Errorf("%s: %q, %v", p, got, err)
		}
	}
	if !exists(filepath.Join(dir, FailedDir, "bad-1.pdf.reason.txt")) || exists(filepath.Join(dir, FailedDir, "bad.pdf.reason.txt")) {
		t.Error("reason file not beside bad-1.pdf")
	}
	// a second drop of a bad file whose reason name is taken skips it too
	writeFile(t, dir, "bad.pdf", nil, time.Hour)
	if _, err := w.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !exists(filepath.Join(dir, FailedDir, "bad-2.pdf.reason.txt")) {
		t.Error("no bad-2.pdf")
	}
}

// TestRestartAfterEnqueueBeforeMove: the process died after the Handler
// queued the file and the journal recorded it, before the move. The next
// Watcher moves it to sent/ and does not queue it again.
func TestRestartAfterEnqueueBeforeMove(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "scan.png", pngBytes(t, 1), time.Hour)
	// Simulate the crash: a Handler that queues, then a journal write,
	// then the process stops before the move (the move is made to fail:
	// the Handler removes the sent/ folder the round has open).
	r1 := &recorder{err: func(string) error { return os.Remove(filepath.Join(dir, SentDir)) }}
	w1 := newWatcher(t, dir, r1, 0, nil)
	if _, err := w1.Scan(context.Background()); err == nil || !strings.Contains(err.Error(), "was queued as job1") {
		t.Fatalf("want a move error, got %v", err)
	}
	if !exists(p) {
		t.Fatal("the file moved")
	}
	if j, err := journalIn(dir); err != nil || len(j.Entries) != 1 {
		t.Fatalf("journal %+v, %v", j, err)
	}

	r2, evs, st := drain(t, dir)
	if len(r2.names()) != 0 {
		t.Fatalf("queued again: %v", r2.names())
	}
	if st.AlreadyQueued != 1 || evs[0].Outcome != AlreadyQueued || evs[0].JobID != "job1" {
		t.Errorf("stats %+v, events %+v", st, evs)
	}
	if exists(p) || !exists(filepath.Join(dir, SentDir, "scan.png")) {
		t.Error("not moved to sent/")
	}
	if j, _ := journalIn(dir); len(j.Entries) != 0 {
		t.Errorf("journal not cleaned: %+v", j)
	}
}

// TestRestartBeforeJournal: the process died after the Handler queued but
// before the job id reached the journal. The Handler is called again with
// the same key, so it can find its job instead of queueing a second one.
func TestRestartBeforeJournal(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "scan.png", pngBytes(t, 1), time.Hour)
	queued := map[string]string{} // key -> job: the "outbox"
	var calls int
	handle := func(ctx context.Context, it Item) (string, error) {
		calls++
		if id, ok := queued[it.Key]; ok {
			return id, nil
		}
		queued[it.Key] = "job-" + it.Key[:6]
		if calls == 1 {
			return "", errors.New("crash") // queued, but the id never came back
		}
		return queued[it.Key], nil
	}
	for i := 0; i < 2; i++ {
		w, err := New(Config{Dir: dir, Handle: handle})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(queued) != 1 || calls != 2 || !exists(filepath.Join(dir, SentDir, "scan.png")) {
		t.Errorf("queued %v after %d calls", queued, calls)
	}
}

func TestCancel(t *testing.T) {
	dir := t.TempDir()
	w := newWatcher(t, dir, &recorder{}, 0, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	rounds := make(chan error, 10)
	go func() { done <- w.Run(ctx, func(err error) { rounds <- err }) }()
	select {
	case err := <-rounds:
		if err != nil {
			t.Errorf("first round: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no round reported")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	if _, err := New(Config{Dir: filepath.Join(dir, "missing"), Handle: (&recorder{}).handle}); err == nil {
		t.Error("New accepted a missing folder")
	}
}

// TestTwoWatchersOneFolder: two Watchers (as two processes would) scanning
// one folder at once handle every file exactly once.
func TestTwoWatchersOneFolder(t *testing.T) {
	dir := t.TempDir()
	for i := range 6 {
		writeFile(t, dir, fmt.Sprintf("scan%d.png", i), pngBytes(t, 10+i), time.Hour)
	}
	r := &recorder{}
	var wg sync.WaitGroup
	for range 2 {
		w, err := New(Config{Dir: dir, Handle: r.handle})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.Drain(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	names := r.names()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("%s handled twice", n)
		}
		seen[n] = true
	}
	if len(seen) != 6 {
		t.Errorf("handled %v", names)
	}
}

// TestPrivateCopy: a file that stays is copied whole, with its hash, into
// a private folder.
func TestPrivateCopy(t *testing.T) {
	dir := t.TempDir()
	content := pngBytes(t, 1)
	writeFile(t, dir, "scan.png", content, time.Hour)
	w, c, f := settled(t, dir, "scan.png", Config{})
	priv, sum, err := w.privateCopy(f, c)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(filepath.Dir(priv))
	got, _ := os.ReadFile(priv)
	if !bytes.Equal(got, content) || filepath.Base(priv) != "scan.png" || filepath.Dir(priv) == dir {
		t.Fatalf("copy %s: %d bytes", priv, len(got))
	}
	if want := fmt.Sprintf("%x", sha256.Sum256(content)); sum != want {
		t.Errorf("hash %s, want %s", sum, want)
	}
	if st, _ := os.Stat(filepath.Dir(priv)); st.Mode().Perm() != 0o700 {
		t.Errorf("copy folder mode %v", st.Mode().Perm())
	}
}
