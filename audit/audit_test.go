package audit_test

import (
	"bytes"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/keychain"
)

// newKeychain returns a keychain namespace private to this test (the real
// OS keychain; run under scripts/with-keyring.sh).
func newKeychain(t *testing.T) *keychain.Keychain {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	kc := keychain.New("securesend-test-audit-" + hex.EncodeToString(b))
	if _, err := kc.Get("probe"); errors.Is(err, keychain.ErrUnavailable) {
		t.Fatalf("no OS keychain: run the tests via scripts/with-keyring.sh (%v)", err)
	}
	return kc
}

// fakeClock returns successive minutes from a fixed start.
func fakeClock() func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Minute)
		return t
	}
}

func openLog(t *testing.T, kc *keychain.Keychain, path string) *audit.Log {
	t.Helper()
	l, err := audit.Open(path, kc, audit.Options{Now: fakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kc.Delete(audit.HeadNameForTest(l)) })
	return l
}

// fill appends n send events.
func fill(t *testing.T, l *audit.Log, n int) {
	t.Helper()
	kinds := []audit.Kind{audit.SendAttempt, audit.SendSent, audit.ReceiveVerified, audit.KeyPin, audit.PolicyChange}
	for i := range n {
		_, err := l.Append(audit.Event{Kind: kinds[i%len(kinds)], Fields: audit.Fields{
			"to":         "pharmacy@example.org",
			"message_id": fmt.Sprintf("m%d@clinic.example", i+1),
			"sha256":     strings.Repeat("ab", 32),
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(string(b), "\n")
}

func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAppendVerify(t *testing.T) {
	kc := newKeychain(t)
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openLog(t, kc, path)
	if s, err := l.Verify(); err != nil || s.Entries != 0 {
		t.Fatalf("empty log: %+v, %v", s, err)
	}
	fill(t, l, 5)
	s, err := l.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if s.Entries != 5 || s.Last.Seq != 5 || s.Last.Kind != audit.PolicyChange {
		t.Fatalf("summary = %+v", s)
	}
	// A second Log on the same file (another process, say) continues the chain.
	l2 := openLog(t, kc, path)
	fill(t, l2, 1)
	if s, err := l.Verify(); err != nil || s.Entries != 6 {
		t.Fatalf("after second writer: %+v, %v", s, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestRefusesContentFields(t *testing.T) {
	l := openLog(t, newKeychain(t), filepath.Join(t.TempDir(), "audit.log"))
	for _, name := range []string{"subject", "note", "document_name", "password", "body"} {
		_, err := l.Append(audit.Event{Kind: audit.SendSent, Fields: audit.Fields{name: "x"}})
		if err == nil {
			t.Errorf("field %q accepted", name)
		}
	}
	if _, err := l.Append(audit.Event{}); err == nil {
		t.Error("event without kind accepted")
	}
}

// TestTamper damages a 6-entry log in each way and checks Verify names the
// right entry.
func TestTamper(t *testing.T) {
	edit := func(line string) string { return strings.Replace(line, "pharmacy@", "attacker@", 1) }
	tests := []struct {
		name    string
		damage  func(lines []string) []string // lines keep their "\n"; the last element is ""
		wantSeq uint64
		want    string
	}{
		{"edit middle line", func(ls []string) []string { ls[2] = edit(ls[2]); return ls }, 3, "edited"},
		{"edit and rehash middle line", func(ls []string) []string { ls[2] = rehash(t, edit(ls[2])); return ls }, 4, "does not follow entry 3"},
		{"delete middle line", func(ls []string) []string { return append(ls[:2], ls[3:]...) }, 3, "entry 3 is missing"},
		{"delete first line", func(ls []string) []string { return ls[1:] }, 1, "entry 1 is missing"},
		{"truncate last line", func(ls []string) []string { return append(ls[:5], "") }, 6, "truncated"},
		{"cut last line in half", func(ls []string) []string { ls[5] = ls[5][:40]; return ls }, 6, "incomplete"},
		{"swap two lines", func(ls []string) []string { ls[2], ls[3] = ls[3], ls[2]; return ls }, 3, "missing"},
		{"duplicate a line", func(ls []string) []string { return append(ls[:3], ls[2:]...) }, 3, "reordered or duplicated"},
		{"rewrite the chain from entry 3", func(ls []string) []string { return rechain(t, ls, 2, edit) }, 6, "rewritten"},
		{"empty the file", func(ls []string) []string { return nil }, 1, "truncated"},
		{"add two lines", func(ls []string) []string {
			l7 := forgeNext(t, ls[5])
			return append(ls[:6], l7, forgeNext(t, l7), "")
		}, 7, "not written by securesend"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc := newKeychain(t)
			path := filepath.Join(t.TempDir(), "audit.log")
			l := openLog(t, kc, path)
			fill(t, l, 6)
			writeLines(t, path, tt.damage(readLines(t, path)))
			_, err := l.Verify()
			var be *audit.BrokenError
			if !errors.As(err, &be) {
				t.Fatalf("Verify = %v, want *BrokenError", err)
			}
			if be.Seq != tt.wantSeq || !strings.Contains(be.Error(), tt.want) {
				t.Fatalf("Verify = %v (seq %d), want seq %d and %q", be, be.Seq, tt.wantSeq, tt.want)
			}
		})
	}
}

// rehash recomputes a line's own hash (an attacker who knows the format).
func rehash(t *testing.T, line string) string {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		t.Fatal(err)
	}
	return sealLine(t, e, e["prev_hash"].(string))
}

// rechain applies edit to line i and recomputes every hash from there on.
func rechain(t *testing.T, lines []string, i int, edit func(string) string) []string {
	t.Helper()
	out := append([]string(nil), lines...)
	out[i] = edit(out[i])
	var prev string
	for j := i; j < len(out) && out[j] != ""; j++ {
		var e map[string]any
		if err := json.Unmarshal([]byte(out[j]), &e); err != nil {
			t.Fatal(err)
		}
		if j > i {
			e["prev_hash"] = prev
		}
		out[j] = sealLine(t, e, e["prev_hash"].(string))
		var again map[string]any
		json.Unmarshal([]byte(out[j]), &again)
		prev = again["hash"].(string)
	}
	return out
}

// forgeNext makes a well-formed entry that follows last.
func forgeNext(t *testing.T, last string) string {
	t.Helper()
	var e map[string]any
	if err := json.Unmarshal([]byte(last), &e); err != nil {
		t.Fatal(err)
	}
	e["seq"] = e["seq"].(float64) + 1
	return sealLine(t, e, e["hash"].(string))
}

// sealLine re-encodes an entry the way audit does and sets its hash.
func sealLine(t *testing.T, e map[string]any, prev string) string {
	t.Helper()
	var ent audit.Entry
	e["prev_hash"] = prev
	delete(e, "hash")
	b, _ := json.Marshal(e)
	if err := json.Unmarshal(b, &ent); err != nil {
		t.Fatal(err)
	}
	return audit.SealForTest(ent)
}

// TestCrashBeforeHead: a process killed after writing an entry but before
// moving the keychain head leaves one extra, well-linked entry; that is not
// reported, and appending continues normally.
func TestCrashBeforeHead(t *testing.T) {
	kc := newKeychain(t)
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openLog(t, kc, path)
	fill(t, l, 3)
	ls := readLines(t, path)
	writeLines(t, path, append(ls[:3], forgeNext(t, ls[2]), ""))
	if s, err := l.Verify(); err != nil || s.Entries != 4 {
		t.Fatalf("one entry ahead of the head: %+v, %v", s, err)
	}
	fill(t, l, 1)
	if s, err := l.Verify(); err != nil || s.Entries != 5 {
		t.Fatalf("after append: %+v, %v", s, err)
	}
}

// TestTruncateThenAppend: deleting the last entry and then using the log
// normally must not hide the deletion.
func TestTruncateThenAppend(t *testing.T) {
	kc := newKeychain(t)
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openLog(t, kc, path)
	fill(t, l, 4)
	ls := readLines(t, path)
	writeLines(t, path, append(ls[:3], ""))
	fill(t, l, 2)
	_, err := l.Verify()
	var be *audit.BrokenError
	if !errors.As(err, &be) || be.Seq != 4 || !strings.Contains(be.Reason, "keychain head was entry 4") {
		t.Fatalf("Verify = %v, want break at 4 naming head 4", err)
	}
}

func TestExport(t *testing.T) {
	kc := newKeychain(t)
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openLog(t, kc, path)
	fill(t, l, 4) // times 09:01 .. 09:04
	_, err := l.Append(audit.Event{Kind: audit.SendFailed, Fields: audit.Fields{"reply": "=cmd|' /C calc'!A0", "to": "a@b.example"}})
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 1, 1, 9, 3, 0, 0, time.UTC)

	var buf bytes.Buffer
	if err := l.Export(&buf, audit.CSV, since); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0][0] != "seq" || rows[1][0] != "3" || rows[3][2] != "send.failed" {
		t.Fatalf("csv rows = %q", rows)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	if got := rows[3][col["reply"]]; !strings.HasPrefix(got, "'=") {
		t.Errorf("formula not defused: %q", got)
	}
	if got := rows[1][col["to"]]; got != "pharmacy@example.org" {
		t.Errorf("to = %q", got)
	}

	buf.Reset()
	if err := l.Export(&buf, audit.JSON, time.Time{}); err != nil {
		t.Fatal(err)
	}
	var entries []audit.Entry
	if err := json.Unmarshal(buf.Bytes(), &entries); err != nil {
		t.Fatalf("json: %v\n%s", err, buf.String())
	}
	if len(entries) != 5 || entries[4].Kind != audit.SendFailed || entries[1].PrevHash != entries[0].Hash {
		t.Fatalf("json entries = %+v", entries)
	}

	buf.Reset()
	if err := l.Export(&buf, audit.JSON, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil || buf.String() != "[]\n" {
		t.Fatalf("empty json = %q, %v", buf.String(), err)
	}
	if err := l.Export(&buf, "xml", time.Time{}); err == nil {
		t.Error("xml accepted")
	}
}

const childEnv = "SECURESEND_AUDIT_TEST_CHILD"

// TestConcurrentProcesses: two child processes and two goroutines append at
// once; the chain stays whole.
func TestConcurrentProcesses(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		return
	}
	kc := newKeychain(t)
	path := filepath.Join(t.TempDir(), "audit.log")
	l := openLog(t, kc, path)
	const perWriter = 15
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 2 {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestChildAppend$")
			cmd.Env = append(os.Environ(), childEnv+"="+path, "SECURESEND_AUDIT_TEST_SERVICE="+kc.Service())
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("child: %v\n%s", err, out)
			}
		})
		wg.Go(func() {
			for range perWriter {
				if _, err := l.Append(audit.Event{Kind: audit.SendAttempt}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s, err := l.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if s.Entries != 4*perWriter {
		t.Fatalf("entries = %d, want %d", s.Entries, 4*perWriter)
	}
}

// TestChildAppend is the child side of TestConcurrentProcesses.
func TestChildAppend(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("child process only")
	}
	l, err := audit.Open(path, keychain.New(os.Getenv("SECURESEND_AUDIT_TEST_SERVICE")), audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for range 15 {
		if _, err := l.Append(audit.Event{Kind: audit.SendSent, Fields: audit.Fields{"to": "x@y.example"}}); err != nil {
			t.Fatal(err)
		}
	}
}
