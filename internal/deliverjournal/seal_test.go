package deliverjournal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/keychain"
)

var t0 = time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)

// write opens the journal at p, records es and closes it.
func write(t *testing.T, p string, kc *keychain.Keychain, es ...Entry) {
	t.Helper()
	j, err := Open(p, kc)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for _, e := range es {
		if err := j.Record(e); err != nil {
			t.Fatal(err)
		}
	}
}

func lines(t *testing.T, p string) []string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	ls := strings.SplitAfter(string(b), "\n")
	return ls[:len(ls)-1] // after the last newline: ""
}

func setLines(t *testing.T, p string, ls []string) {
	t.Helper()
	s := strings.Join(ls, "")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// wantSeal opens p and wants a *SealError at line (0: the journal as a
// whole) whose reason contains why; the file is left as it was.
func wantSeal(t *testing.T, p string, kc *keychain.Keychain, line int, why string) {
	t.Helper()
	before, _ := os.ReadFile(p)
	j, err := Open(p, kc)
	if err == nil {
		j.Close()
		t.Fatal("Open trusted a journal that does not verify")
	}
	var se *SealError
	if !errors.As(err, &se) || !errors.Is(err, ErrSealBroken) {
		t.Fatalf("Open: %v, want a *SealError", err)
	}
	if se.Line != line || !strings.Contains(se.Reason, why) {
		t.Errorf("Open: %v, want line %d and %q", err, line, why)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Error("a journal that does not verify was changed")
	}
}

// TestSealAttacks: what someone who can write the home but not the
// keychain does to a journal is found, at the line where it is, and
// nothing of that journal is trusted (a forged "done" never counts).
func TestSealAttacks(t *testing.T) {
	intentA := Entry{Key: "fpr/a", State: Intent, Item: "1", Time: t0, Detail: "frontdesk"}
	doneB := Entry{Key: "fpr/b", State: Done, Item: "2", Time: t0, Detail: "job-2"}
	intentC := Entry{Key: "fpr/c", State: Intent, Item: "3", Time: t0}
	for _, tc := range []struct {
		name string
		edit func(t *testing.T, p string, ls []string)
		line int
		why  string
	}{
		{"forged plain done", func(t *testing.T, p string, ls []string) {
			setLines(t, p, append(ls, `{"key":"fpr/a","state":"done","item":"1","doc":0,"time":"2026-12-08T09:00:00Z"}`+"\n"))
		}, 4, "has no MAC"},
		{"forged sealed done", func(t *testing.T, p string, ls []string) {
			setLines(t, p, append(ls, `{"seq":4,"key":"fpr/a","state":"done","item":"1","doc":0,"time":"2026-12-08T09:00:00Z","mac":"`+strings.Repeat("ab", 32)+`"}`+"\n"))
		}, 4, "MAC does not verify"},
		{"edited state", func(t *testing.T, p string, ls []string) {
			ls[0] = strings.Replace(ls[0], `"state":"intent"`, `"state":"resolved"`, 1)
			setLines(t, p, ls)
		}, 1, "MAC does not verify"},
		{"reordered", func(t *testing.T, p string, ls []string) {
			ls[1], ls[2] = ls[2], ls[1]
			setLines(t, p, ls)
		}, 2, "number 3 where 2"},
		{"middle removed", func(t *testing.T, p string, ls []string) {
			setLines(t, p, []string{ls[0], ls[2]})
		}, 2, "number 3 where 2"},
		{"line replayed", func(t *testing.T, p string, ls []string) {
			setLines(t, p, append(ls, ls[1]))
		}, 4, "number 2 where 4"},
		{"last line cut off", func(t *testing.T, p string, ls []string) {
			setLines(t, p, ls[:2])
		}, 0, "cut off its end"},
		{"emptied", func(t *testing.T, p string, ls []string) {
			os.WriteFile(p, nil, 0o600)
		}, 0, "cut off its end"},
		{"deleted", func(t *testing.T, p string, ls []string) {
			os.Remove(p)
		}, 0, "cut off its end"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kc := testKC(t, "print-x.journal")
			p := filepath.Join(t.TempDir(), "print-x.journal")
			write(t, p, kc, intentA, doneB, intentC)
			tc.edit(t, p, lines(t, p))
			if tc.name == "deleted" {
				// Open would create it: the error is what matters.
				j, err := Open(p, kc)
				if !errors.Is(err, ErrSealBroken) {
					if err == nil {
						j.Close()
					}
					t.Fatalf("a deleted journal: %v, want ErrSealBroken", err)
				}
				return
			}
			wantSeal(t, p, kc, tc.line, tc.why)
		})
	}
}

// TestReplayFromAnotherJournal: a line, or the whole file, of one
// destination's journal copied into another's does not verify there.
func TestReplayFromAnotherJournal(t *testing.T) {
	kc := testKC(t, "drop-x.journal", "drop-y.journal")
	dir := t.TempDir()
	x, y := filepath.Join(dir, "drop-x.journal"), filepath.Join(dir, "drop-y.journal")
	write(t, x, kc, Entry{Key: "fpr/a", State: Intent, Item: "1", Time: t0}, Entry{Key: "fpr/a", State: Done, Item: "1", Time: t0})
	write(t, y, kc, Entry{Key: "fpr/a", State: Intent, Item: "1", Time: t0})
	xs, ys := lines(t, x), lines(t, y)

	setLines(t, y, append(ys, xs[1])) // x's "done", at its own place
	wantSeal(t, y, kc, 2, "MAC does not verify")

	setLines(t, y, xs[:1]) // x's file, as long as y's
	wantSeal(t, y, kc, 1, "MAC does not verify")

	setLines(t, y, ys)
	j, err := Open(y, kc)
	if err != nil {
		t.Fatalf("y put back as it was: %v", err)
	}
	defer j.Close()
	if e, _ := j.Lookup("fpr/a"); e.State != Intent {
		t.Errorf("y: %+v", e)
	}
}

// TestRolledBack: an older copy of the journal put back (the document
// recorded done since then would be delivered again) is found by the
// head in the keychain.
func TestRolledBack(t *testing.T) {
	kc := testKC(t, "print-x.journal")
	p := filepath.Join(t.TempDir(), "print-x.journal")
	write(t, p, kc, Entry{Key: "fpr/a", State: Intent, Time: t0})
	old := lines(t, p)
	write(t, p, kc, Entry{Key: "fpr/a", State: Done, Time: t0})
	setLines(t, p, old)
	wantSeal(t, p, kc, 0, "cut off its end")
}

// TestKeyMissing: with the key gone from the keychain nothing of the
// journal is trusted, and no new key is made up to seal it again.
func TestKeyMissing(t *testing.T) {
	kc := testKC(t, "print-x.journal")
	p := filepath.Join(t.TempDir(), "print-x.journal")
	write(t, p, kc, Entry{Key: "fpr/a", State: Done, Time: t0})
	if err := kc.Delete(KeyName); err != nil {
		t.Fatal(err)
	}
	wantSeal(t, p, kc, 0, "missing from the OS keychain")
	if _, err := kc.LookupKey(KeyName); !errors.Is(err, keychain.ErrNotFound) {
		t.Errorf("a new key was made: %v", err)
	}
}

// TestHeadOneBehind: a crash after a line was flushed and before the
// keychain head moved leaves the file one line ahead: accepted (the line
// authenticates and links to the head); two lines ahead is not.
func TestHeadOneBehind(t *testing.T) {
	kc := testKC(t, "print-x.journal")
	p := filepath.Join(t.TempDir(), "print-x.journal")
	write(t, p, kc, Entry{Key: "fpr/a", State: Intent, Time: t0})
	h1, err := kc.Get(headPrefix + "print-x.journal")
	if err != nil {
		t.Fatal(err)
	}
	write(t, p, kc, Entry{Key: "fpr/a", State: Done, Time: t0})
	kc.Set(headPrefix+"print-x.journal", h1)
	j, err := Open(p, kc)
	if err != nil {
		t.Fatalf("one line past the head: %v", err)
	}
	if e, _ := j.Lookup("fpr/a"); e.State != Done {
		t.Errorf("%+v", e)
	}
	if err := j.Record(Entry{Key: "fpr/b", State: Intent, Time: t0}); err != nil {
		t.Fatal(err)
	}
	if err := j.Record(Entry{Key: "fpr/b", State: Done, Time: t0}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	kc.Set(headPrefix+"print-x.journal", h1)
	wantSeal(t, p, kc, 0, "does not end where the keychain records")
}

// TestDetailRoundTrip: what a Detail holds (quotes, a made-up MAC
// suffix, newlines, non-ASCII) cannot break the seal or be taken for it.
func TestDetailRoundTrip(t *testing.T) {
	kc := testKC(t, "drop-x.journal")
	p := filepath.Join(t.TempDir(), "drop-x.journal")
	detail := `C:\drop\x",` + `"mac":"` + strings.Repeat("0", 64) + `"}` + "\nāé\u2028"
	write(t, p, kc, Entry{Key: "fpr/a", State: Failed, Time: t0.In(time.FixedZone("NZDT", 13*3600)), Detail: detail})
	j, err := Open(p, kc)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if e, _ := j.Lookup("fpr/a"); e.Detail != detail || !e.Time.Equal(t0) {
		t.Errorf("%+v", e)
	}
}

// TestMigrateLegacy: the first Open in a home seals every journal an
// older securesend left (trusted as it was: nothing recorded there is
// delivered again; a torn last line dropped); afterwards an unsealed
// journal is refused.
func TestMigrateLegacy(t *testing.T) {
	kc := testKC(t, "drop-a.journal", "print-b.journal", "drop-c.journal")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "drop-a.journal"), filepath.Join(dir, "print-b.journal")
	os.WriteFile(a, []byte(`{"key":"fpr/1","state":"intent","item":"1","doc":0,"time":"2026-12-07T09:00:00Z","detail":"{\"temp\":\"t\",\"final\":\"f\"}"}`+"\n"+
		`{"key":"fpr/1","state":"done","item":"1","doc":0,"time":"2026-12-07T09:00:01Z","detail":"f"}`+"\n"), 0o600)
	os.WriteFile(b, []byte(`{"key":"fpr/2","state":"intent","item":"2","doc":0,"time":"2026-12-07T09:00:00Z","detail":"frontdesk"}`+"\n"+
		`{"key":"fpr/3","sta`), 0o600)

	ja, err := Open(a, kc)
	if err != nil {
		t.Fatal(err)
	}
	if ja.Created() {
		t.Error("a migrated journal is Created")
	}
	if e, _ := ja.Lookup("fpr/1"); e.State != Done || e.Detail != "f" {
		t.Errorf("a: %+v", e)
	}
	ja.Close()
	for _, p := range []string{a, b} {
		for _, l := range lines(t, p) {
			if _, _, ok := splitMAC([]byte(strings.TrimSpace(l))); !ok {
				t.Errorf("%s not sealed: %q", filepath.Base(p), l)
			}
		}
	}
	jb, err := Open(b, kc)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := jb.Lookup("fpr/2"); e.State != Intent {
		t.Errorf("b: %+v", e)
	}
	if _, ok := jb.Lookup("fpr/3"); ok {
		t.Error("b's torn line was migrated")
	}
	jb.Close()

	// Sealed: an unsealed journal planted now is not trusted.
	c := filepath.Join(dir, "drop-c.journal")
	os.WriteFile(c, []byte(`{"key":"fpr/9","state":"done","item":"9","doc":0,"time":"2026-12-07T09:00:00Z"}`+"\n"), 0o600)
	wantSeal(t, c, kc, 1, "has no MAC")
}

// TestMigrateWaitsForLockedJournal: a journal held by a running older
// watch is not rewritten under it: Open says so and seals nothing.
func TestMigrateWaitsForLockedJournal(t *testing.T) {
	kc := testKC(t, "drop-a.journal", "print-b.journal")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "drop-a.journal"), filepath.Join(dir, "print-b.journal")
	plain := `{"key":"fpr/2","state":"done","item":"2","doc":0,"time":"2026-12-07T09:00:00Z"}` + "\n"
	os.WriteFile(b, []byte(plain), 0o600)
	release, err := tryLock(b + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	if j, err := Open(a, kc); !errors.Is(err, ErrLocked) {
		if err == nil {
			j.Close()
		}
		t.Fatalf("Open while another journal is held: %v, want ErrLocked", err)
	}
	if got, _ := os.ReadFile(b); string(got) != plain {
		t.Error("a held journal was rewritten")
	}
	release()
	write(t, a, kc)
	jb, err := Open(b, kc)
	if err != nil {
		t.Fatal(err)
	}
	defer jb.Close()
	if e, _ := jb.Lookup("fpr/2"); e.State != Done {
		t.Errorf("b: %+v", e)
	}
}

// TestMigrateCrash: a crash while the home's journals were being sealed
// (one rewritten sealed, its head not stored yet, another still plain,
// the home not marked) is finished by the next Open: nothing is lost and
// nothing refused.
func TestMigrateCrash(t *testing.T) {
	kc := testKC(t, "drop-a.journal", "print-b.journal")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "drop-a.journal"), filepath.Join(dir, "print-b.journal")
	os.WriteFile(a, []byte(`{"key":"fpr/1","state":"done","item":"1","doc":0,"time":"2026-12-07T09:00:00Z"}`+"\n"+
		`{"key":"fpr/4","state":"skipped","item":"4","doc":0,"time":"2026-12-07T09:00:00Z"}`+"\n"), 0o600)
	os.WriteFile(b, []byte(`{"key":"fpr/2","state":"resolved","item":"2","doc":0,"time":"2026-12-07T09:00:00Z"}`+"\n"), 0o600)
	key, err := kc.Key(KeyName)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateOne(a, false, kc, key); err != nil {
		t.Fatal(err)
	}
	kc.Delete(headPrefix + "drop-a.journal") // the crash came before it was stored

	jb, err := Open(b, kc)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := jb.Lookup("fpr/2"); e.State != Resolved {
		t.Errorf("b: %+v", e)
	}
	jb.Close()
	ja, err := Open(a, kc)
	if err != nil {
		t.Fatalf("the journal sealed before the crash: %v", err)
	}
	if e, _ := ja.Lookup("fpr/4"); e.State != Skipped {
		t.Errorf("a: %+v", e)
	}
	ja.Close()
	if _, err := kc.Get(SealedName); err != nil {
		t.Errorf("the home is not marked sealed: %v", err)
	}
	// Sealed now, a's head anchored: cutting its last line is found.
	setLines(t, a, lines(t, a)[:1])
	wantSeal(t, a, kc, 0, "cut off its end")
}
