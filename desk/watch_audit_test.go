package desk

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/securesend/securesend/crypto/keychain"
)

// auditEnds returns the sequence number of the last entry of the
// home's audit log and the one its keychain head names (the head's
// keychain name is audit's: "audit-head-" and the first 6 bytes of the
// SHA-256 of the log's absolute path, in hex).
func auditEnds(t *testing.T, d *Desk) (file, head uint64) {
	t.Helper()
	l, err := d.Audit()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct{ Seq uint64 }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		file = e.Seq
	}
	sum := sha256.Sum256([]byte(l.Path()))
	h, err := d.Keychain().Get("audit-head-" + hex.EncodeToString(sum[:6]))
	if errors.Is(err, keychain.ErrNotFound) {
		return file, 0
	}
	if err != nil {
		t.Fatal(err)
	}
	if head, err = strconv.ParseUint(strings.Fields(h)[0], 10, 64); err != nil {
		t.Fatal(err)
	}
	return file, head
}

// TestWatchRoundHoldsAudit: during a watch round the audit entries of
// its messages are written at once but the keychain head (a D-Bus round
// trip each) stays behind until the round ends; then the head is at the
// end and the log verifies, with every message's entry in it. Before,
// every entry moved the head.
func TestWatchRoundHoldsAudit(t *testing.T) {
	d, srv := watchDesk(t)
	msgs := []string{"good_encrypted.eml", "unknown_signer.eml", "not_signed.eml", "bad_signature_body_altered.eml"}
	for _, n := range msgs {
		srv.Deliver(t, testdata(t, n))
	}
	file0, _ := auditEnds(t, d)
	var midFile, midHead uint64
	ev := func(e WatchEvent) {
		if e.Kind == EventFetched {
			midFile, midHead = auditEnds(t, d)
		}
	}
	if err := d.Watch(context.Background(), WatchOptions{Drop: t.TempDir(), Once: true, Event: ev}); err != nil {
		t.Fatal(err)
	}
	if midFile < file0+uint64(len(msgs)) {
		t.Fatalf("after the fetch the log ends at entry %d, want at least %d more than %d", midFile, len(msgs), file0)
	}
	if midHead >= midFile {
		t.Fatalf("during the round the keychain head moved with every entry (head %d, file %d)", midHead, midFile)
	}
	end, head := auditEnds(t, d)
	if head != end || end < midFile {
		t.Fatalf("after the round: head %d, file ends at %d (mid-round %d)", head, end, midFile)
	}
	l, _ := d.Audit()
	s, err := l.Verify()
	if err != nil || s.Entries != end {
		t.Fatalf("Verify = %+v, %v", s, err)
	}
}
