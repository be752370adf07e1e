package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securesend/securesend/audit"
)

// forgeAuditEntry returns a made-up entry following last, sealed the way
// anyone who knows the format can: the hash is a plain SHA-256 of the
// entry's JSON without it, and mac (if not empty) is set as given.
func forgeAuditEntry(t *testing.T, last []byte, mac string) []byte {
	t.Helper()
	var e audit.Entry
	if err := json.Unmarshal(last, &e); err != nil {
		t.Fatal(err)
	}
	e.Seq, e.PrevHash, e.Hash, e.MAC = e.Seq+1, e.Hash, "", ""
	e.Kind, e.Fields = audit.KeyPin, audit.Fields{"address": "pharmacy@example.org", "fingerprint": strings.Repeat("AB", 20)}
	b, _ := json.Marshal(e)
	sum := sha256.Sum256(b)
	e.Hash, e.MAC = hex.EncodeToString(sum[:]), mac
	b, _ = json.Marshal(e)
	return append(b, '\n')
}

// TestAuditForgeryCLI: an entry appended by hand, with a plain SHA-256
// hash or a made-up MAC, fails 'audit verify' (it passed before the log
// was keyed), also after the next real append; 'audit verify --export'
// checks a copy without the key and says what it cannot prove.
func TestAuditForgeryCLI(t *testing.T) {
	requireKeychain(t)
	u := newUser(t, "clinic")
	e := u.env(strings.NewReader(""), os.Stdout, os.Stderr)
	for i := range 3 {
		if err := auditRecord(e, audit.KeyPin, audit.Fields{"address": "pharmacy@example.org", "key_uid": strings.Repeat("x", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	out := u.must(t, 0, "", "audit", "verify")
	if !strings.Contains(out, "Audit log OK: 3 entries") || !strings.Contains(out, "Every entry is authenticated") {
		t.Fatalf("verify: %s", out)
	}
	logPath := filepath.Join(u.home, "audit.log")
	good, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(good, []byte(`"mac":"`)) {
		t.Fatalf("entries without a MAC:\n%s", good)
	}
	export := filepath.Join(t.TempDir(), "audit.json")
	os.WriteFile(export, []byte(u.must(t, 0, "", "audit", "export", "--json")), 0o600)
	out = u.must(t, 0, "", "audit", "verify", "--export", export)
	for _, want := range []string{"Chain OK: entries 1 to 3 (3)", "NOT proven: that securesend wrote these entries", "3 entries carry a MAC"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify --export lacks %q:\n%s", want, out)
		}
	}

	lines := bytes.SplitAfter(good, []byte("\n"))
	last := bytes.TrimSuffix(lines[2], []byte("\n"))
	for _, mac := range []string{"", strings.Repeat("5a", 32)} {
		forged := append(bytes.Clone(good), forgeAuditEntry(t, last, mac)...)
		os.WriteFile(logPath, forged, 0o600)
		out := u.must(t, 1, "", "audit", "verify")
		if !strings.Contains(out, "broken at entry 4") {
			t.Fatalf("forged entry (mac %q) not reported:\n%s", mac, out)
		}
		copyPath := filepath.Join(t.TempDir(), "audit.log")
		os.WriteFile(copyPath, forged, 0o600)
		code, stdout, stderr := u.run(t, "", "audit", "verify", "--export", copyPath)
		switch {
		case mac == "" && (code != 1 || !strings.Contains(stderr, "has no MAC")):
			t.Fatalf("keyless check of an unkeyed forgery: exit %d\n%s%s", code, stdout, stderr)
		case mac != "" && (code != 0 || !strings.Contains(stdout, "NOT proven")):
			// a made-up MAC cannot be seen without the key, and the
			// output says so
			t.Fatalf("keyless check of a made-up MAC: exit %d\n%s%s", code, stdout, stderr)
		}
	}
	// the next real append does not adopt the forged entry
	if err := auditRecord(e, audit.KeyPin, audit.Fields{"address": "pharmacy@example.org"}); err != nil {
		t.Fatal(err)
	}
	if out := u.must(t, 1, "", "audit", "verify"); !strings.Contains(out, "broken at entry 4") {
		t.Fatalf("after a real append:\n%s", out)
	}
}

// auditRecord appends one event to the audit log of e's home, as the
// desk does after a change (tests: entries to forge and to verify).
func auditRecord(e *env, kind audit.Kind, fields audit.Fields) error {
	d, err := openDesk(e)
	if err != nil {
		return err
	}
	l, err := d.Audit()
	if err != nil {
		return err
	}
	_, err = l.Append(audit.Event{Kind: kind, Fields: fields})
	return err
}
