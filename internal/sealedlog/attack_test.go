package sealedlog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recordOffsets returns the offset of each record of the log file.
func recordOffsets(t *testing.T, data []byte) []int64 {
	t.Helper()
	var offs []int64
	for off := int64(headerSize); off < int64(len(data)); {
		offs = append(offs, off)
		off += 4 + int64(binary.BigEndian.Uint32(data[off:]))
	}
	return offs
}

// fiveRecords writes records r0..r4 (of equal length) and returns the
// log, the writer's cursor and the file's bytes.
func fiveRecords(t *testing.T) (*Log, Cursor, []byte) {
	t.Helper()
	l, _ := newLog(t)
	c := appendRecs(t, l, Cursor{}, "r0", "r1", "r2", "r3", "r4")
	data, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	return l, c, data
}

// TestAttackEditRecords: a local attacker without the key flips a byte in,
// swaps, duplicates or removes a record in the middle of the log. Readers
// stop at the first record that does not authenticate as the next one (the
// additional data holds its number), so they see a prefix of what was
// written, never a changed or reordered record; the writer keeps the
// rest in a .damaged file instead of destroying it.
func TestAttackEditRecords(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(data []byte, offs []int64) []byte
		want string // the records readers see
	}{
		{"flip a bit in r2", func(d []byte, o []int64) []byte { d[o[2]+20] ^= 1; return d }, "r0,r1"},
		{"swap r1 and r2", func(d []byte, o []int64) []byte {
			out := append([]byte{}, d[:o[1]]...)
			out = append(out, d[o[2]:o[3]]...)
			out = append(out, d[o[1]:o[2]]...)
			return append(out, d[o[3]:]...)
		}, "r0"},
		{"duplicate r1", func(d []byte, o []int64) []byte {
			out := append([]byte{}, d[:o[2]]...)
			out = append(out, d[o[1]:o[2]]...)
			return append(out, d[o[2]:]...)
		}, "r0,r1"},
		{"remove r3", func(d []byte, o []int64) []byte {
			return append(append([]byte{}, d[:o[3]]...), d[o[4]:]...)
		}, "r0,r1,r2"},
		{"length field of r1 enlarged", func(d []byte, o []int64) []byte {
			binary.BigEndian.PutUint32(d[o[1]:], binary.BigEndian.Uint32(d[o[1]:])+1)
			return d
		}, "r0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, _, data := fiveRecords(t)
			edited := tc.edit(bytes.Clone(data), recordOffsets(t, data))
			if err := os.WriteFile(l.Path(), edited, 0o600); err != nil {
				t.Fatal(err)
			}
			got, c := readAll(t, l)
			if strings.Join(got, ",") != tc.want {
				t.Fatalf("readers see %v, want %s", got, tc.want)
			}
			if !c.Damaged {
				t.Errorf("the tail is not reported as damaged: %+v", c)
			}
			// The writer (under its lock) appends after the good prefix
			// and keeps what it cut off.
			appendRecs(t, l, c, "next")
			got, _ = readAll(t, l)
			if strings.Join(got, ",") != tc.want+",next" {
				t.Fatalf("after the append readers see %v", got)
			}
			kept, _ := filepath.Glob(l.Path() + ".damaged-*")
			if len(kept) != 1 {
				t.Fatalf("damaged tail files: %v", kept)
			}
			tail, _ := os.ReadFile(kept[0])
			if !bytes.Equal(tail, edited[c.Off:]) {
				t.Errorf("the damaged file holds %d bytes, want the %d cut off", len(tail), len(edited)-int(c.Off))
			}
		})
	}
}

// TestAttackShrinkUnderReader: the file is cut back to an earlier record
// (or replaced by an older copy with the same salt) while a process that
// has read further keeps its cursor. Before the fix Read saw "nothing
// new" and Append wrote after the end of the file, leaving a hole of
// zeros: every record appended after it was lost for other readers.
func TestAttackShrinkUnderReader(t *testing.T) {
	l, c, data := fiveRecords(t)
	offs := recordOffsets(t, data)
	if err := os.WriteFile(l.Path(), data[:offs[3]], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Read(c, func([]byte) error { return nil }); !errors.Is(err, ErrShrunk) {
		t.Errorf("Read after the file shrank: err = %v, want ErrShrunk", err)
	}
	if _, err := l.Append(c, true, []byte("r5")); !errors.Is(err, ErrShrunk) {
		t.Errorf("Append after the file shrank: err = %v, want ErrShrunk", err)
	}
	after, _ := os.ReadFile(l.Path())
	if !bytes.Equal(after, data[:offs[3]]) {
		t.Fatalf("the file was written: %d bytes, was %d", len(after), offs[3])
	}
}

// TestAttackReplayOlderLog: an older copy of the whole log (fewer
// records, or from before a compaction) put back in place reads as a
// good log: sealedlog cannot see it by itself. A Head kept elsewhere (the
// keychain) can: a cursor that read the file from the start must Reach
// the last head written.
func TestAttackReplayOlderLog(t *testing.T) {
	l, c, _ := fiveRecords(t)
	older, _ := os.ReadFile(l.Path())
	olderHead := c.Head()
	c = appendRecs(t, l, c, "r5", "r6")
	head := c.Head()
	if got, rc := readAll(t, l); len(got) != 7 || !rc.Reaches(head) || !rc.Reaches(olderHead) {
		t.Fatalf("the current log (%d records) does not reach its heads", len(got))
	}
	beforeCompaction, _ := os.ReadFile(l.Path())

	if err := os.WriteFile(l.Path(), older, 0o600); err != nil {
		t.Fatal(err)
	}
	got, rc := readAll(t, l)
	if len(got) != 5 || rc.Damaged || rc.Tail != 0 {
		t.Fatalf("the replayed log reads %v (tail %d): the attack needs a clean older log", got, rc.Tail)
	}
	if rc.Reaches(head) {
		t.Error("a replayed older log (5 records) reaches the head of 7")
	}

	// Compaction: a new salt. The file from before it no longer reaches
	// the new head, even though it has more records.
	if err := os.WriteFile(l.Path(), beforeCompaction, 0o600); err != nil {
		t.Fatal(err)
	}
	c2, err := l.Rewrite([]byte("compacted"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.Path(), beforeCompaction, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, rc := readAll(t, l); rc.Reaches(c2.Head()) {
		t.Error("the log from before the compaction reaches the compacted log's head")
	}

	// A head survives its text form; bad text is refused.
	h2, err := ParseHead(c2.Head().String())
	if err != nil || h2 != c2.Head() {
		t.Fatalf("ParseHead(String()) = %v, %v", h2, err)
	}
	for _, bad := range []string{"", "x 1", strings.Repeat("0", 64) + " -1", strings.Repeat("0", 64), strings.Repeat("0", 62) + " 1"} {
		if _, err := ParseHead(bad); err == nil {
			t.Errorf("ParseHead(%q) accepted", bad)
		}
	}
}

// TestAttackCrashInRewrite: a compaction that stops before its rename (the
// process killed, or prepare failing) leaves the old log whole.
func TestAttackCrashInRewrite(t *testing.T) {
	l, c, data := fiveRecords(t)
	boom := errors.New("killed")
	var announced Head
	_, err := l.RewriteWith(func(next Head) error { announced = next; return boom }, []byte("compacted"))
	if !errors.Is(err, boom) {
		t.Fatalf("RewriteWith: err = %v", err)
	}
	if announced.Records != 1 || announced == c.Head() {
		t.Errorf("prepare was told %v", announced)
	}
	after, _ := os.ReadFile(l.Path())
	if !bytes.Equal(after, data) {
		t.Fatal("the log changed although the compaction did not complete")
	}
	if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(l.Path()), ".tmp-*")); len(tmps) != 0 {
		t.Errorf("temporary files left: %v", tmps)
	}
	if got, rc := readAll(t, l); len(got) != 5 || !rc.Reaches(c.Head()) {
		t.Errorf("after the failed compaction: %v", got)
	}
	// With prepare succeeding, the log is replaced by the announced one.
	c2, err := l.RewriteWith(func(next Head) error { announced = next; return nil }, []byte("compacted"))
	if err != nil || c2.Head() != announced {
		t.Fatalf("RewriteWith: %v, head %v, announced %v", err, c2.Head(), announced)
	}
}
