package receive_test

import (
	"crypto/rand"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/internal/hostileimap"
	"github.com/securesend/securesend/receive"
)

// TestAttackFlappingWithFailure: UIDVALIDITY changes at every SELECT and
// one old message always fails. A change with a failure outstanding lists
// the whole mailbox again; before the fix it did so at every fetch,
// forever (the whole mailbox downloaded each round, and one more failure
// record each round). Now it does so at most once a day, and the records
// under older numberings are cleared when it does.
func TestAttackFlappingWithFailure(t *testing.T) {
	var validity atomic.Uint32
	var bodies atomic.Int32
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	old := time.Now().AddDate(0, 0, -30)
	const n = 10
	arrived := map[uint32]time.Time{}
	for i := uint32(1); i < n; i++ {
		arrived[i] = old
	}
	h := startHostile(t, hostileimap.Options{
		Messages:    messages(n),
		Arrived:     arrived,
		UIDValidity: func() uint32 { return validity.Add(1) },
		Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
			if cmd != "UID FETCH" || !strings.Contains(args, "BODY") {
				return false
			}
			bodies.Add(1)
			if strings.HasPrefix(args, "1 ") {
				s.Printf("%s OK nothing for you\r\n", tag) //nolint:errcheck // the client sees
				return true
			}
			return false
		},
	})
	key := make([]byte, atrest.KeySize)
	rand.Read(key)
	st, err := receive.OpenStore(filepath.Join(t.TempDir(), "inbox"), key, clock)
	if err != nil {
		t.Fatal(err)
	}
	in := &receive.Inbox{Store: st, Verify: inboxVerifier(t)}
	if _, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		advance    time.Duration
		wantBodies int32
	}{
		{0, n}, // the first change: the whole mailbox
		{time.Minute, 1},
		{time.Minute, 1},
		{time.Minute, 1},
		{25 * time.Hour, n}, // a day later: the whole mailbox again
		{time.Minute, 1},
	} {
		offset.Add(int64(tc.advance))
		bodies.Store(0)
		res, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		fs, _ := in.Store.Failures()
		t.Logf("fetch %d: %d bodies downloaded, %d new, %d known, %d failed, %d failure records", i, bodies.Load(), len(res.New), res.Known, len(res.Failed), len(fs))
		if bodies.Load() != tc.wantBodies {
			t.Errorf("fetch %d: %d bodies downloaded, want %d", i, bodies.Load(), tc.wantBodies)
		}
		if len(fs) != 1 || fs[0].Source.UID != 1 {
			t.Errorf("fetch %d: failure records %+v, want only UID 1's latest", i, fs)
		}
	}
}
