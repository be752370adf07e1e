package audit_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/keychain"
)

// Attacks on the keyed log by a local user who can edit the file (and, in
// some, delete keychain entries) but cannot read the log's key.

// stripMAC removes a line's MAC. The hash does not cover the MAC, so the
// line stays a well-formed legacy entry with the same hash, and the next
// line still links to it.
func stripMAC(t *testing.T, line string) string {
	t.Helper()
	var e audit.Entry
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		t.Fatal(err)
	}
	e.MAC = ""
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// TestAttackDowngradeToLegacy: stripping the MACs turns a keyed log into
// what looks like a log an older securesend wrote (same hashes, same
// links, same end as the keychain head). It must not verify: the keychain
// head records that the log is keyed.
func TestAttackDowngradeToLegacy(t *testing.T) {
	tests := []struct {
		name    string
		strip   func(i int) bool // strip line i (0-based) of 6
		delKey  bool             // also delete the log's key from the keychain
		wantSeq uint64
		// Append sees only the end of the file: it records a break when
		// the last entry was stripped; damage further up is Verify's to
		// report.
		wantBreak bool
	}{
		{"strip every MAC", func(int) bool { return true }, false, 6, true},
		{"strip every MAC and delete the key", func(int) bool { return true }, true, 6, true},
		{"strip the MACs of the first three", func(i int) bool { return i < 3 }, false, 4, false},
		{"strip the last MAC only", func(i int) bool { return i == 5 }, false, 6, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc, path, l := newLog(t)
			fill(t, l, 6)
			ls := readLines(t, path)
			for i := range 6 {
				if tt.strip(i) {
					ls[i] = stripMAC(t, ls[i])
				}
			}
			writeLines(t, path, ls)
			if tt.delKey {
				if err := kc.Delete(audit.KeyNameForTest(l)); err != nil {
					t.Fatal(err)
				}
			}
			var be *audit.BrokenError
			s, err := l.Verify()
			if !errors.As(err, &be) || be.Seq != tt.wantSeq {
				t.Fatalf("Verify = %+v, %v; want broken at entry %d", s, err, tt.wantSeq)
			}
			// The next real append does not adopt the stripped log (a
			// new key is made when the old one was deleted): the log stays
			// broken at the same entry.
			fill(t, l, 1)
			if _, err := l.Verify(); !errors.As(err, &be) || be.Seq > 7 {
				t.Fatalf("after an append: Verify = %v, want still broken (at the latest at the break, entry 7)", err)
			}
			last := decode(t, readLines(t, path)[6])
			if isBreak := last["kind"] == string(audit.Break); isBreak != tt.wantBreak {
				t.Fatalf("entry 7 = %v, want a break: %v", last, tt.wantBreak)
			}
		})
	}
}

// TestAttackFakeKeyedMarker: in a legacy log (no key yet), appending a
// made-up audit.keyed marker, with or without a MAC, and entries after it
// does not pass, and the first real append records a break.
func TestAttackFakeKeyedMarker(t *testing.T) {
	for _, withMACs := range []bool{false, true} {
		name := "no MAC"
		if withMACs {
			name = "made-up MACs"
		}
		t.Run(name, func(t *testing.T) {
			kc, path, l := newLog(t)
			ls := writeLegacy(t, kc, l, path, 3)
			marker := decode(t, ls[2])
			marker["seq"], marker["kind"], marker["fields"] = 4, string(audit.Keyed), map[string]any{"reason": "x"}
			m := sealLine(t, marker, marker["hash"].(string))
			next := forgeNext(t, m)
			if withMACs {
				m, next = withMAC(t, m, strings.Repeat("5a", 32)), withMAC(t, next, strings.Repeat("5b", 32))
			}
			writeLines(t, path, append(ls, m, next, ""))
			var be *audit.BrokenError
			if _, err := l.Verify(); !errors.As(err, &be) || be.Seq != 4 {
				t.Fatalf("Verify = %v, want broken at entry 4", err)
			}
			// The next real append records the break after the made-up
			// entries (as legacy-looking entries past the head they
			// cannot be told from made-up ones), and the log stays broken.
			fill(t, l, 1)
			if _, err := l.Verify(); !errors.As(err, &be) || be.Seq > 6 {
				t.Fatalf("after an append: Verify = %v, want broken at entry 4 to 6", err)
			}
		})
	}
}

// writeLegacy writes n entries of an older securesend (legacyLog) to
// path as l's whole file, makes their head l's keychain head, and returns
// the lines.
func writeLegacy(t *testing.T, kc *keychain.Keychain, l *audit.Log, path string, n int) []string {
	t.Helper()
	ls, head := legacyLog(t, n)
	writeLines(t, path, append(ls, ""))
	if err := kc.Set(audit.HeadNameForTest(l), head); err != nil {
		t.Fatal(err)
	}
	return ls
}

// legacyLog returns n entries as an older securesend wrote them (no MAC)
// and the keychain head it kept.
func legacyLog(t *testing.T, n int) (lines []string, head string) {
	t.Helper()
	prev := strings.Repeat("0", 64)
	for i := 1; i <= n; i++ {
		line := sealLine(t, map[string]any{"seq": i, "time": "2025-06-01T09:00:00Z", "kind": "send.sent", "fields": map[string]any{"to": "pharmacy@example.org"}}, prev)
		lines = append(lines, line)
		prev = decode(t, line)["hash"].(string)
	}
	return lines, itoa(n) + " " + prev
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestAttackCrashDuringUpgrade: the first append to a legacy log writes
// the audit.keyed marker and then the event. Each is written, fsynced and
// made the keychain head on its own, so a process killed in between
// leaves the file at most one (authentic) entry past the head, which the
// crash rule accepts. (Before, both went in one write and one head move:
// a crash left two entries past the head, reported as "added outside
// securesend", and the next append recorded a break for good.)
func TestAttackCrashDuringUpgrade(t *testing.T) {
	kc, path, l := newLog(t)
	writeLegacy(t, kc, l, path, 3)
	fill(t, l, 1)
	marker := decode(t, readLines(t, path)[3])
	if marker["kind"] != string(audit.Keyed) {
		t.Fatalf("entry 4 = %v, want the marker", marker)
	}
	// the head as a crash after the marker, before the event's head move, left it
	if err := kc.Set(audit.HeadNameForTest(l), "4 "+marker["hash"].(string)+" keyed"); err != nil {
		t.Fatal(err)
	}
	if s, err := l.Verify(); err != nil || s.Entries != 5 || s.KeyedFrom != 4 {
		t.Fatalf("crash during the upgrade append: Verify = %+v, %v", s, err)
	}
	fill(t, l, 1)
	if s, err := l.Verify(); err != nil || s.Entries != 6 || s.KeyedFrom != 4 || s.Legacy != 3 {
		t.Fatalf("after the next append: Verify = %+v, %v", s, err)
	}
}
