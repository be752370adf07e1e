package sealedlog

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newLog(t *testing.T) (*Log, []byte) {
	t.Helper()
	key := make([]byte, KeySize)
	rand.Read(key)
	l, err := Open(filepath.Join(t.TempDir(), "index.log"), key, "test")
	if err != nil {
		t.Fatal(err)
	}
	return l, key
}

// readAll reads the log from the start and returns its records.
func readAll(t *testing.T, l *Log) ([]string, Cursor) {
	t.Helper()
	var got []string
	c, _, err := l.Read(Cursor{}, func(rec []byte) error { got = append(got, string(rec)); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return got, c
}

func appendRecs(t *testing.T, l *Log, c Cursor, recs ...string) Cursor {
	t.Helper()
	var bs [][]byte
	for _, r := range recs {
		bs = append(bs, []byte(r))
	}
	c, err := l.Append(c, true, bs...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAppendAndReadIncrementally(t *testing.T) {
	l, _ := newLog(t)
	if got, _ := readAll(t, l); len(got) != 0 {
		t.Fatalf("missing log read %v", got)
	}
	w := appendRecs(t, l, Cursor{}, "one", "two")
	// A second reader (another process) follows along.
	var seen []string
	collect := func(rec []byte) error { seen = append(seen, string(rec)); return nil }
	r, _, err := l.Read(Cursor{}, collect)
	if err != nil {
		t.Fatal(err)
	}
	w = appendRecs(t, l, w, "three")
	r, reset, err := l.Read(r, collect)
	if err != nil || reset {
		t.Fatalf("incremental read: reset %v, %v", reset, err)
	}
	if strings.Join(seen, ",") != "one,two,three" {
		t.Fatalf("reader saw %v", seen)
	}
	if r.Off != w.Off || r.Records != 3 {
		t.Errorf("reader at %d/%d, writer at %d/%d", r.Off, r.Records, w.Off, w.Records)
	}
	// Nothing new: fn is not called.
	if _, _, err := l.Read(r, func([]byte) error { t.Error("called with nothing new"); return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestAppendWritesOnlyTheRecord: the cost of an append does not grow with
// the log: the file grows by the sealed record and nothing before it is
// rewritten.
func TestAppendWritesOnlyTheRecord(t *testing.T) {
	l, _ := newLog(t)
	c := appendRecs(t, l, Cursor{}, "first")
	for i := range 200 {
		before, _ := os.ReadFile(l.Path())
		rec := fmt.Sprintf("record %05d", i)
		c = appendRecs(t, l, c, rec)
		after, _ := os.ReadFile(l.Path())
		if want := len(before) + 4 + nonceSize + len(rec) + tagSize; len(after) != want {
			t.Fatalf("append %d: file %d bytes, want %d", i, len(after), want)
		}
		if !bytes.Equal(after[:len(before)], before) {
			t.Fatalf("append %d rewrote earlier bytes", i)
		}
	}
}

func TestEncrypted(t *testing.T) {
	l, key := newLog(t)
	appendRecs(t, l, Cursor{}, "Jane Testperson ZZZ0016")
	data, _ := os.ReadFile(l.Path())
	if bytes.Contains(data, []byte("Testperson")) {
		t.Fatal("record in plaintext")
	}
	if fi, _ := os.Stat(l.Path()); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	key[0] ^= 1
	other, _ := Open(l.Path(), key, "test")
	c, _, err := other.Read(Cursor{}, func([]byte) error { t.Error("record opened with the wrong key"); return nil })
	if err != nil || !c.Damaged || c.Records != 0 {
		t.Errorf("wrong key: %+v, %v", c, err)
	}
	relabelled, _ := Open(l.Path(), l.key, "other use")
	if c, _, _ := relabelled.Read(Cursor{}, func([]byte) error { return nil }); c.Records != 0 {
		t.Error("record opened under another label")
	}
}

// TestTornTail: a writer killed mid-append leaves part of a record; readers
// stop before it and the next Append cuts it off without keeping it.
func TestTornTail(t *testing.T) {
	l, _ := newLog(t)
	c := appendRecs(t, l, Cursor{}, "a", "b")
	full := appendRecs(t, l, c, "c")
	data, _ := os.ReadFile(l.Path())
	for cut := c.Off + 1; cut < full.Off; cut += 7 {
		os.WriteFile(l.Path(), data[:cut], 0o600)
		got, r := readAll(t, l)
		if strings.Join(got, ",") != "a,b" || r.Off != c.Off || r.Tail != cut-c.Off || r.Damaged {
			t.Fatalf("cut at %d: %v %+v", cut, got, r)
		}
		appendRecs(t, l, r, "d")
		if got, r := readAll(t, l); strings.Join(got, ",") != "a,b,d" || r.Tail != 0 {
			t.Fatalf("after append past a torn tail: %v %+v", got, r)
		}
	}
	if m, _ := filepath.Glob(l.Path() + ".damaged-*"); len(m) != 0 {
		t.Errorf("an incomplete tail was kept: %v", m)
	}
}

// TestDamage: a flipped byte, a record moved, or records dropped from the
// middle end the readable log at that point; what follows is never used,
// and the next Append keeps it in a .damaged file instead of destroying it.
func TestDamage(t *testing.T) {
	l, _ := newLog(t)
	var offs []int64
	c := Cursor{}
	for _, r := range []string{"r0", "r1", "r2", "r3"} {
		c = appendRecs(t, l, c, r)
		offs = append(offs, c.Off)
	}
	orig, _ := os.ReadFile(l.Path())
	rec := func(i int) []byte { return orig[offs[i-1]:offs[i]] }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"flipped byte", func() []byte { d := bytes.Clone(orig); d[offs[1]+20] ^= 1; return d }(), "r0,r1"},
		{"swapped records", concat(orig[:offs[0]], rec(2), rec(1), rec(3)), "r0"},
		{"record dropped", concat(orig[:offs[1]], rec(3)), "r0,r1"},
		{"bad length", func() []byte { d := bytes.Clone(orig); d[offs[0]] = 0xff; return d }(), "r0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(l.Path(), tc.data, 0o600)
			got, r := readAll(t, l)
			if strings.Join(got, ",") != tc.want || !r.Damaged {
				t.Fatalf("read %v (%+v), want %s and damaged", got, r, tc.want)
			}
			before, _ := filepath.Glob(l.Path() + ".damaged-*")
			appendRecs(t, l, r, "new")
			after, _ := filepath.Glob(l.Path() + ".damaged-*")
			if len(after) != len(before)+1 {
				t.Fatalf("damaged tail not kept: %v", after)
			}
			kept, _ := os.ReadFile(after[len(after)-1])
			if !bytes.Equal(kept, tc.data[r.Off:]) {
				t.Errorf("kept %d bytes, want the %d after the good records", len(kept), len(tc.data)-int(r.Off))
			}
			if got, _ := readAll(t, l); strings.Join(got, ",") != tc.want+",new" {
				t.Errorf("after append: %v", got)
			}
		})
	}
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestRewrite: compaction replaces the file; a reader that read the old
// one is told to start again and sees only the new records.
func TestRewrite(t *testing.T) {
	l, _ := newLog(t)
	c := appendRecs(t, l, Cursor{}, "a", "b", "c")
	_, r := readAll(t, l)
	w, err := l.Rewrite([]byte("abc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(c, true, []byte("stale")); err == nil {
		t.Error("Append with a cursor of the replaced file succeeded")
	}
	appendRecs(t, l, w, "d")
	var got []string
	r, reset, err := l.Read(r, func(rec []byte) error { got = append(got, string(rec)); return nil })
	if err != nil || !reset || strings.Join(got, ",") != "abc,d" || r.Records != 2 {
		t.Fatalf("after rewrite: reset %v, %v, %+v, %v", reset, got, r, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(l.Path()))
	if len(ents) != 1 {
		t.Errorf("files left: %v", ents)
	}
}

func TestNotALog(t *testing.T) {
	l, _ := newLog(t)
	os.WriteFile(l.Path(), []byte(`{"version":1,"items":[]}`+"\n"+strings.Repeat(" ", 64)), 0o600)
	if _, _, err := l.Read(Cursor{}, func([]byte) error { return nil }); !errors.Is(err, ErrNotLog) {
		t.Errorf("err %v, want ErrNotLog", err)
	}
	if _, err := Open(l.Path(), []byte("short"), "x"); !errors.Is(err, ErrKeySize) {
		t.Errorf("short key: %v", err)
	}
}

func TestTooLarge(t *testing.T) {
	l, _ := newLog(t)
	if _, err := l.Append(Cursor{}, true, make([]byte, MaxRecord+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("err %v", err)
	}
}
