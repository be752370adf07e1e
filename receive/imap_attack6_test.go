package receive_test

// Round-6 attacks, as a hostile IMAP server, on the fetch's handling of a
// cut-off message body, of earlier failures and of a UIDVALIDITY change.

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securesend/securesend/internal/hostileimap"
	"github.com/securesend/securesend/receive"
)

// TestAttackLyingLiteralSize: the body of UID 2 is announced with a size
// that is not what follows (bigger then the connection ends, smaller with
// the rest as junk, zero). Nothing of UID 2 is stored (before the fix, an
// empty body {0} was stored as a not-signed item and UID 2's real message
// was never fetched), UID 2 is recorded
// as failed, and UIDs 1 and 3 arrive (3 at the latest on the next fetch).
func TestAttackLyingLiteralSize(t *testing.T) {
	msgs := messages(3)
	m := string(msgs[2])
	for _, tc := range []struct {
		name  string
		reply func(tag string) string
		drop  bool
	}{
		{"bigger, then EOF", func(string) string { return fmt.Sprintf("* 2 FETCH (UID 2 BODY[] {%d}\r\n%s", len(m)+100, m) }, true},
		{"smaller", func(tag string) string {
			return fmt.Sprintf("* 2 FETCH (UID 2 BODY[] {%d}\r\n%s)\r\n%s OK done\r\n", len(m)/2, m, tag)
		}, false},
		{"zero", func(tag string) string { return fmt.Sprintf("* 2 FETCH (UID 2 BODY[] {0}\r\n)\r\n%s OK done\r\n", tag) }, false},
		{"huge, then EOF", func(string) string { return fmt.Sprintf("* 2 FETCH (UID 2 BODY[] {%d}\r\n%s", int64(1)<<40, m) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lies atomic.Int32
			h := startHostile(t, hostileimap.Options{Messages: msgs, Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
				if cmd != "UID FETCH" || !strings.HasPrefix(args, "2 ") || lies.Add(1) > 1 {
					return false
				}
				s.Printf("%s", tc.reply(tag)) //nolint:errcheck // the client sees
				if tc.drop {
					s.Cn.Close()
				}
				return true
			}})
			in, _ := newInbox(t)
			res, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
			t.Logf("first fetch: err %v", err)
			if res == nil {
				t.Fatalf("no result: %v", err)
			}
			for _, it := range res.New {
				if it.Source.UID == 2 {
					t.Fatalf("the cut-off UID 2 was stored: %+v", it)
				}
			}
			if len(res.Failed) != 1 || res.Failed[0].Source.UID != 2 {
				t.Fatalf("failed %+v, want UID 2", res.Failed)
			}
			if tc.name == "zero" && (err != nil || len(res.New) != 2 || !strings.Contains(res.Failed[0].Error, receive.ErrEmptyBody.Error())) {
				t.Fatalf("an empty body: err %v, %d new, failed %+v; want UID 2 failed as empty and UID 3 in the same fetch", err, len(res.New), res.Failed)
			}
			res, err = h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
			if err != nil || res.Recovered != 1 {
				t.Fatalf("second fetch: err %v, %d recovered, want UID 2 recovered", err, res.Recovered)
			}
			items, _ := in.Store.List()
			fs, _ := in.Store.Failures()
			for _, it := range items {
				if want := fmt.Sprintf("m%d@clinic.test", it.Source.UID); it.MessageID != want {
					t.Errorf("UID %d stored with %q", it.Source.UID, it.MessageID)
				}
			}
			if len(items) != 3 || len(fs) != 0 {
				t.Fatalf("after the second fetch: %d items, failures %+v", len(items), fs)
			}
		})
	}
}

// TestAttackStallMidLiteral: the server announces a body, sends half and
// then nothing. The account's timeout ends the fetch (it does not hang),
// UID 2 is recorded, and the next fetch brings it.
func TestAttackStallMidLiteral(t *testing.T) {
	msgs := messages(3)
	m := string(msgs[2])
	var stalls atomic.Int32
	h := startHostile(t, hostileimap.Options{Messages: msgs, Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
		if cmd != "UID FETCH" || !strings.HasPrefix(args, "2 ") || stalls.Add(1) > 1 {
			return false
		}
		s.Printf("* 2 FETCH (UID 2 BODY[] {%d}\r\n%s", len(m), m[:len(m)/2]) //nolint:errcheck // then stall
		time.Sleep(4 * time.Second)
		return true
	}})
	in, _ := newInbox(t)
	start := time.Now()
	res, err := h.fetchOnce(t, in, time.Second, time.Minute, 0)
	if err == nil {
		t.Fatal("a stalled body ended without an error")
	}
	if d := time.Since(start); d > 3500*time.Millisecond {
		t.Errorf("took %s with a 1s timeout", d)
	}
	if len(res.Failed) != 1 || res.Failed[0].Source.UID != 2 || len(res.New) != 1 {
		t.Fatalf("new %d, failed %+v", len(res.New), res.Failed)
	}
	time.Sleep(3 * time.Second)
	res, err = h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
	if err != nil || len(res.New) != 2 || res.Recovered != 1 {
		t.Fatalf("second fetch: err %v, %d new, %d recovered", err, len(res.New), res.Recovered)
	}
}

// TestAttackDuplicateUIDs: the listing names each UID twice and the body
// reply comes twice; each message is fetched once and stored once.
func TestAttackDuplicateUIDs(t *testing.T) {
	msgs := messages(3)
	var bodies atomic.Int32
	h := startHostile(t, hostileimap.Options{Messages: msgs, Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
		if cmd != "UID FETCH" {
			return false
		}
		if !strings.Contains(args, "BODY") {
			for i := 1; i <= 3; i++ {
				s.Printf("* %d FETCH (UID %d)\r\n* %d FETCH (UID %d)\r\n", i, i, i, i) //nolint:errcheck // the client sees
			}
			s.Printf("%s OK done\r\n", tag) //nolint:errcheck // the client sees
			return true
		}
		bodies.Add(1)
		var uid int
		fmt.Sscanf(args, "%d", &uid) //nolint:errcheck // the test's own command
		m := msgs[uint32(uid)]
		other := msgs[uint32(uid%3+1)]
		s.Printf("* %d FETCH (UID %d BODY[] {%d}\r\n%s)\r\n* %d FETCH (UID %d BODY[] {%d}\r\n%s)\r\n%s OK done\r\n", uid, uid, len(m), m, uid, uid, len(other), other, tag) //nolint:errcheck // the client sees
		return true
	}})
	in, _ := newInbox(t)
	res, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if bodies.Load() != 3 || len(res.New) != 3 {
		t.Fatalf("%d bodies fetched, %d new", bodies.Load(), len(res.New))
	}
	items, _ := in.Store.List()
	for _, it := range items {
		if want := fmt.Sprintf("m%d@clinic.test", it.Source.UID); it.MessageID != want {
			t.Errorf("UID %d stored with %q", it.Source.UID, it.MessageID)
		}
	}
}
