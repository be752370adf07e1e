package receive_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/receive"
)

// testKeyV1 is the TEST ONLY at-rest key of testdata/store-v1.
func testKeyV1() []byte {
	k := make([]byte, atrest.KeySize)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

func newStore(t *testing.T) (*receive.Store, string, []byte) {
	t.Helper()
	key := make([]byte, atrest.KeySize)
	rand.Read(key)
	dir := filepath.Join(t.TempDir(), "inbox")
	st, err := receive.OpenStore(dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st, dir, key
}

func commitMessage(t *testing.T, st *receive.Store, raw []byte, src receive.Source, verify receive.VerifyFunc) (*receive.Item, bool, error) {
	t.Helper()
	staged, err := st.Stage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return st.Commit(context.Background(), staged, src, verify)
}

// TestMigrateStoreV1 opens a store written by the code before the index
// log (index.json and state.json, see testdata/store-v1/README.md): every
// item, its source after a renumbering, its archive mailbox, duplicate
// warnings, reports, documents and the fetch position survive; the
// plaintext index is gone; later commits see the migrated items.
func TestMigrateStoreV1(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "inbox")
	if out, err := exec.Command("cp", "-a", filepath.Join("testdata", "store-v1", "inbox"), dir).CombinedOutput(); err != nil {
		t.Fatalf("%s %v", out, err)
	}
	st, err := receive.OpenStore(dir, testKeyV1(), nil)
	if err != nil {
		t.Fatal(err)
	}
	items, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, fmt.Sprintf("%s %s %s uv%d/%d %q dups%d", it.ID, it.MessageID, it.Verdict, it.Source.UIDValidity, it.Source.UID, it.Archived, len(it.Duplicates)))
	}
	want := []string{
		`1 a@clinic.test not-signed uv3/1 "" dups0`, // re-listed after the restore
		`2 b@clinic.test not-signed uv1/2 "" dups1`, // same document as 1
		`3 fixture-alice@clinic.test verified uv1/3 "" dups0`,
		`4 c@clinic.test not-signed uv1/4 "Archive" dups0`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("migrated items:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if uv, next, err := st.FetchPosition("pharmacy", "INBOX"); err != nil || uv != 3 || next != 2 {
		t.Errorf("fetch position %d/%d, %v; want 3/2", uv, next, err)
	}
	if rep, err := st.Report("3"); err != nil || rep.Verdict != receive.Verified {
		t.Errorf("report of item 3: %+v, %v", rep, err)
	}
	r, err := st.OpenDocument("1", 0)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(doc) != "%PDF-1.4 prescription: amoxicillin 500mg" {
		t.Errorf("document of item 1: %q, %v", doc, err)
	}
	for _, f := range []string{"index.json", "state.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there after the migration: %v", f, err)
		}
	}
	logData, err := os.ReadFile(filepath.Join(dir, "index.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"alice@clinic.test", "a@clinic.test", items[0].RawSHA256} {
		if bytes.Contains(logData, []byte(s)) {
			t.Errorf("index.log holds %q in plaintext", s)
		}
	}
	// A new message with item 1's document: flagged, numbered after the
	// migrated items. A second Store (another process) sees it.
	it, added, err := commitMessage(t, st, plainMessage("d@clinic.test", "D", "again", []byte("%PDF-1.4 prescription: amoxicillin 500mg")), receive.Source{Account: "pharmacy"}, inboxVerifier(t))
	if err != nil || !added || it.ID != "5" || !hasDup(it.Duplicates, receive.Duplicate{Kind: "document", SHA256: items[0].Documents[0].SHA256, Of: "1"}) {
		t.Fatalf("commit after migration: %+v, %v, %v", it, added, err)
	}
	st2, err := receive.OpenStore(dir, testKeyV1(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := st2.List(); err != nil || len(list) != 5 {
		t.Errorf("reopened store: %d items, %v", len(list), err)
	}
}

// TestCommitAppendsOnly: the cost of a commit does not grow with the
// store. The index is appended to, never rewritten: each commit adds one
// record of about the same size, and the bytes before it are unchanged.
// (The old index.json was rewritten whole, growing by an item each time.)
func TestCommitAppendsOnly(t *testing.T) {
	st, dir, _ := newStore(t)
	verify := inboxVerifier(t)
	logPath := filepath.Join(dir, "index.log")
	var prev []byte
	var growth []int
	for i := range 40 {
		msg := plainMessage(fmt.Sprintf("n%d@clinic.test", i), "subject", "note", fmt.Appendf(nil, "%%PDF-1.4 doc %d", i))
		if _, added, err := commitMessage(t, st, msg, receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 7, UID: uint32(i + 1)}, verify); err != nil || !added {
			t.Fatalf("commit %d: %v %v", i, added, err)
		}
		cur, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(cur, prev) {
			t.Fatalf("commit %d rewrote the index", i)
		}
		growth = append(growth, len(cur)-len(prev))
		prev = cur
	}
	for i, g := range growth[1:] {
		if g > 1024 || g > growth[1]+32 {
			t.Errorf("commit %d appended %d bytes (commit 1: %d)", i+1, g, growth[1])
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("index.json written: %v", err)
	}
}

// TestIndexTornTail: a writer killed in the middle of appending a record
// leaves part of it; the store opens with the items before it, and the
// next commit cuts it off and goes on.
func TestIndexTornTail(t *testing.T) {
	st, dir, key := newStore(t)
	verify := inboxVerifier(t)
	for i := range 3 {
		msg := plainMessage(fmt.Sprintf("t%d@clinic.test", i), "subject", "note", fmt.Appendf(nil, "%%PDF-1.4 doc %d", i))
		if _, _, err := commitMessage(t, st, msg, receive.Source{Account: "pharmacy"}, verify); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(dir, "index.log")
	data, _ := os.ReadFile(logPath)
	os.WriteFile(logPath, data[:len(data)-20], 0o600) // the third record, cut short
	st2, err := receive.OpenStore(dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if items, err := st2.List(); err != nil || len(items) != 2 {
		t.Fatalf("after a torn append: %d items, %v; want 2", len(items), err)
	}
	it, added, err := commitMessage(t, st2, plainMessage("t9@clinic.test", "s", "n", []byte("%PDF-1.4 doc 9")), receive.Source{Account: "pharmacy"}, verify)
	if err != nil || !added || it.ID != "4" { // 3 is the orphan directory
		t.Fatalf("commit after a torn append: %+v %v %v", it, added, err)
	}
	if items, _ := st2.List(); len(items) != 3 {
		t.Errorf("%d items, want 3", len(items))
	}
	if m, _ := filepath.Glob(logPath + ".damaged-*"); len(m) != 0 {
		t.Errorf("an incomplete record was kept as damage: %v", m)
	}
}

// TestFailureRecords: attempts are counted up to MaxFetchAttempts, the
// record is shared between processes, and ClearFailure removes it.
func TestFailureRecords(t *testing.T) {
	key := make([]byte, atrest.KeySize)
	rand.Read(key)
	dir := filepath.Join(t.TempDir(), "inbox")
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st, err := receive.OpenStore(dir, key, clock)
	if err != nil {
		t.Fatal(err)
	}
	other, err := receive.OpenStore(dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 5, UID: 2}
	first := now
	for n := 1; n <= receive.MaxFetchAttempts+1; n++ {
		f, err := st.RecordFailure(src, "fetch", fmt.Errorf("the server returned no body for message 2 (try %d)", n))
		if err != nil {
			t.Fatal(err)
		}
		if f.Attempts != n || f.GaveUp != (n >= receive.MaxFetchAttempts) || !f.First.Equal(first) || !f.Last.Equal(now) || f.Stage != "fetch" || f.Source != src {
			t.Fatalf("attempt %d: %+v", n, f)
		}
		now = now.Add(time.Minute)
	}
	if _, err := st.RecordFailure(receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 5, UID: 9}, "verify", errors.New(strings.Repeat("é", 5000))); err != nil {
		t.Fatal(err)
	}
	fs, err := other.Failures()
	if err != nil || len(fs) != 2 {
		t.Fatalf("Failures from another Store: %+v, %v", fs, err)
	}
	if fs[0].Source != src || fs[0].Attempts != receive.MaxFetchAttempts+1 || !fs[0].GaveUp || !strings.Contains(fs[0].Error, "try 4") {
		t.Errorf("first failure: %+v", fs[0])
	}
	if e := fs[1].Error; len(e) > 4096 || !strings.HasPrefix(e, "éé") || strings.ToValidUTF8(e, "?") != e {
		t.Errorf("long error kept as %d bytes (valid UTF-8: %t)", len(e), strings.ToValidUTF8(e, "?") == e)
	}
	if err := other.ClearFailure(src); err != nil {
		t.Fatal(err)
	}
	if err := other.ClearFailure(src); err != nil {
		t.Errorf("clearing twice: %v", err)
	}
	if fs, _ := st.Failures(); len(fs) != 1 || fs[0].Source.UID != 9 {
		t.Errorf("after ClearFailure: %+v", fs)
	}
	if _, err := st.RecordFailure(src, "fetch", nil); err == nil {
		t.Error("RecordFailure without a cause succeeded")
	}
}

// TestCommitFailureQuarantined (issue 12 point 10): a message whose commit
// fails does not block later commits; its raw message is kept (encrypted)
// with its error, and when a later attempt stores it the failure record
// and the quarantined copy are removed.
func TestCommitFailureQuarantined(t *testing.T) {
	st, dir, _ := newStore(t)
	real := inboxVerifier(t)
	broken := true
	verify := func(ctx context.Context, raw io.Reader, sink receive.DocumentSink) (*receive.Report, error) {
		data, err := io.ReadAll(raw)
		if err != nil {
			return nil, err
		}
		if broken && bytes.Contains(data, []byte("poison@clinic.test")) {
			return nil, errors.New("the message cannot be parsed")
		}
		return real(ctx, bytes.NewReader(data), sink)
	}
	poison := plainMessage("poison@clinic.test", "P", "note", []byte("%PDF poison"))
	bad := receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 1, UID: 2}
	_, added, err := commitMessage(t, st, poison, bad, verify)
	var ce *receive.CommitError
	if !errors.As(err, &ce) || ce.Stage != "verify" || !ce.Quarantined || ce.Source != bad || added {
		t.Fatalf("commit of the bad message: %v (%#v)", err, ce)
	}
	if !strings.Contains(err.Error(), "cannot be parsed") {
		t.Errorf("error %q does not say why", err)
	}
	if _, err := st.RecordFailure(bad, ce.Stage, ce.Err); err != nil {
		t.Fatal(err)
	}
	// Later messages go on.
	for i := 3; i < 5; i++ {
		msg := plainMessage(fmt.Sprintf("ok%d@clinic.test", i), "S", "n", fmt.Appendf(nil, "%%PDF ok %d", i))
		if _, added, err := commitMessage(t, st, msg, receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i)}, verify); err != nil || !added {
			t.Fatalf("commit after a failed one: %v %v", added, err)
		}
	}
	r, err := st.OpenQuarantined(bad)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(kept, poison) {
		t.Fatalf("quarantined message: %d bytes, %v", len(kept), err)
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if data, _ := os.ReadFile(p); bytes.Contains(data, []byte("poison@clinic.test")) {
				t.Errorf("%s holds the quarantined message in plaintext", p)
			}
		}
		return err
	})
	if items, _ := st.List(); len(items) != 2 {
		t.Errorf("%d items; the failed message must not be listed", len(items))
	}

	// The next attempt succeeds.
	broken = false
	if _, added, err := commitMessage(t, st, poison, bad, verify); err != nil || !added {
		t.Fatalf("retry: %v %v", added, err)
	}
	if fs, _ := st.Failures(); len(fs) != 0 {
		t.Errorf("failure kept after the message was stored: %+v", fs)
	}
	if _, err := st.OpenQuarantined(bad); !errors.Is(err, receive.ErrNoItem) {
		t.Errorf("quarantined copy kept after the message was stored: %v", err)
	}
}

// TestCommitCancelledNotQuarantined: a commit stopped by its context is
// not the message's fault: nothing is quarantined.
func TestCommitCancelledNotQuarantined(t *testing.T) {
	st, _, _ := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	staged, err := st.Stage(bytes.NewReader(plainMessage("x@clinic.test", "S", "n", []byte("%PDF x"))))
	if err != nil {
		t.Fatal(err)
	}
	src := receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 1, UID: 1}
	_, _, err = st.Commit(ctx, staged, src, func(ctx context.Context, _ io.Reader, _ receive.DocumentSink) (*receive.Report, error) {
		return nil, ctx.Err()
	})
	var ce *receive.CommitError
	if err == nil || errors.As(err, &ce) {
		t.Fatalf("cancelled commit: %v", err)
	}
	if _, err := st.OpenQuarantined(src); !errors.Is(err, receive.ErrNoItem) {
		t.Errorf("cancelled message quarantined: %v", err)
	}
}

// TestListDuringCommit: reading the store (the GUI's list) does not wait
// for a commit whose verification is under way.
func TestListDuringCommit(t *testing.T) {
	st, _, _ := newStore(t)
	real := inboxVerifier(t)
	if _, _, err := commitMessage(t, st, plainMessage("first@clinic.test", "S", "n", []byte("%PDF first")), receive.Source{Account: "pharmacy"}, real); err != nil {
		t.Fatal(err)
	}
	inVerify, release := make(chan struct{}), make(chan struct{})
	slow := func(ctx context.Context, raw io.Reader, sink receive.DocumentSink) (*receive.Report, error) {
		close(inVerify)
		<-release
		return real(ctx, raw, sink)
	}
	done := make(chan error, 1)
	staged, err := st.Stage(bytes.NewReader(plainMessage("second@clinic.test", "S", "n", []byte("%PDF second"))))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _, err := st.Commit(context.Background(), staged, receive.Source{Account: "pharmacy"}, slow)
		done <- err
	}()
	<-inVerify
	listed := make(chan int, 1)
	go func() {
		items, _ := st.List()
		listed <- len(items)
	}()
	select {
	case n := <-listed:
		if n != 1 {
			t.Errorf("List during the commit: %d items, want 1", n)
		}
	case <-time.After(10 * time.Second):
		t.Error("List waited for the verification of another message")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if items, _ := st.List(); len(items) != 2 {
		t.Errorf("%d items after the commit", len(items))
	}
}
