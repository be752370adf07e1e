package receive_test

// Attacks on the bounded IMAP fetch of issue 19, as a hostile IMAP server
// (after TLS). Each test is an attack; those that succeeded on the merged
// code name the fix that stopped them.

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securesend/securesend/internal/hostileimap"
	"github.com/securesend/securesend/internal/imapbound"
	"github.com/securesend/securesend/receive"
)

// peakHeap runs f and returns the largest live heap seen meanwhile, above
// the heap before.
func peakHeap(f func()) uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > base && m.HeapAlloc-base > peak.Load() {
				peak.Store(m.HeapAlloc - base)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	return peak.Load()
}

// TestAttackBodyForAnotherUID: the server answers "UID FETCH 2" with the
// body of UID 3 (its UID before the body, or no UID before the body).
// Stored under UID 2, that body would later make UID 3 a "known" message
// and UID 2's real message would be lost without a failure record. go-imap
// routes a FETCH response by the UID that precedes its literals and drops
// the rest, so UID 2 is recorded as failed and UID 3 keeps its own
// message. (A regression test: this attack failed.)
func TestAttackBodyForAnotherUID(t *testing.T) {
	msgs := messages(3)
	m := msgs[3]
	for _, reply := range []string{
		fmt.Sprintf("* 3 FETCH (UID 3 BODY[] {%d}\r\n%s)\r\n", len(m), m),
		fmt.Sprintf("* 2 FETCH (BODY[] {%d}\r\n%s UID 2)\r\n", len(m), m),
		fmt.Sprintf("* 2 FETCH (UID 2)\r\n* 2 FETCH (UID 2 BODY[] {%d}\r\n%s)\r\n", len(m), m),
	} {
		t.Run(reply[:20], func(t *testing.T) {
			h := startHostile(t, hostileimap.Options{Messages: msgs, Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
				if cmd != "UID FETCH" || !strings.HasPrefix(args, "2 ") {
					return false
				}
				s.Printf("%s%s OK done\r\n", reply, tag) //nolint:errcheck // the client sees
				return true
			}})
			in, _ := newInbox(t)
			res, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
			if err != nil {
				t.Fatal(err)
			}
			items, err := in.Store.List()
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				if want := fmt.Sprintf("m%d@clinic.test", it.Source.UID); it.MessageID != want {
					t.Errorf("UID %d stored with the message of %s", it.Source.UID, it.MessageID)
				}
			}
			if len(items) != 2 || len(res.Failed) != 1 || res.Failed[0].Source.UID != 2 {
				t.Fatalf("%d items, failed %+v: UID 2 must be recorded as failed", len(items), res.Failed)
			}
		})
	}
}

// TestAttackUIDValidityZero: a server flapping between a UIDVALIDITY and
// 0 (which RFC 9051 forbids: it is a non-zero number) made every other
// fetch start again from UID 1 and download the whole mailbox, since 0
// is also the store's "never fetched". UIDVALIDITY 0 must be refused.
func TestAttackUIDValidityZero(t *testing.T) {
	var selects, bodies atomic.Int32
	h := startHostile(t, hostileimap.Options{
		Messages: messages(5),
		UIDValidity: func() uint32 {
			if selects.Add(1)%2 == 0 {
				return 0
			}
			return 7
		},
		Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
			if cmd == "UID FETCH" && strings.Contains(args, "BODY") {
				bodies.Add(1)
			}
			return false
		},
	})
	in, _ := newInbox(t)
	if res, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0); err != nil || len(res.New) != 5 {
		t.Fatalf("first fetch: %v", err)
	}
	bodies.Store(0)
	var zeroErr error
	for i := 0; i < 4; i++ {
		_, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
		if err != nil {
			zeroErr = err
		}
	}
	if n := bodies.Load(); n != 0 {
		t.Errorf("%d bodies downloaded again by 4 fetches of an unchanged mailbox", n)
	}
	if !errors.Is(zeroErr, receive.ErrUIDValidity) {
		t.Errorf("err = %v, want ErrUIDValidity for UIDVALIDITY 0", zeroErr)
	}
}

// TestAttackUIDNextLie: a server that once announces UIDNEXT 4000000000
// made the store skip every UID below it for good: mail that arrived
// later (UID 4) never came. The fetch position must only move past UIDs
// the server actually listed.
func TestAttackUIDNextLie(t *testing.T) {
	var sessions atomic.Int32
	h := startHostile(t, hostileimap.Options{Messages: messages(4), Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
		if sessions.Load() > 1 {
			return false // honest from the second session on
		}
		switch cmd {
		case "EXAMINE", "SELECT":
			s.Printf("* 3 EXISTS\r\n* OK [UIDVALIDITY 1] ok\r\n* OK [UIDNEXT 4000000000] ok\r\n%s OK [READ-ONLY] done\r\n", tag) //nolint:errcheck // the client sees
			return true
		case "UID FETCH":
			if !strings.Contains(args, "BODY") { // UID 4 has not arrived yet
				s.Printf("* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\n* 3 FETCH (UID 3)\r\n%s OK done\r\n", tag) //nolint:errcheck // the client sees
				return true
			}
		}
		return false
	}})
	in, _ := newInbox(t)
	sessions.Add(1)
	res, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
	if err != nil || len(res.New) != 3 {
		t.Fatalf("first fetch: %v, %+v", err, res)
	}
	sessions.Add(1)
	res, err = h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.New) != 1 || res.New[0].Source.UID != 4 {
		t.Fatalf("second fetch: new %+v: UID 4 never arrives after a UIDNEXT lie", res.New)
	}
}

// TestAttackMaxUID: a server listing UID 4294967295 wrapped the next UID
// to fetch round to 0, so every later fetch started again at UID 1 and
// downloaded the whole mailbox.
func TestAttackMaxUID(t *testing.T) {
	msgs := messages(3)
	msgs[math.MaxUint32] = msgs[3]
	delete(msgs, 3)
	var bodies atomic.Int32
	h := startHostile(t, hostileimap.Options{Messages: msgs, Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
		if cmd == "UID FETCH" && strings.Contains(args, "BODY") {
			bodies.Add(1)
		}
		return false
	}})
	in, _ := newInbox(t)
	if res, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0); err != nil || len(res.New) != 3 {
		t.Fatalf("first fetch: %v, %+v", err, res)
	}
	for i := 0; i < 3; i++ {
		bodies.Store(0)
		if _, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0); err != nil {
			t.Fatal(err)
		}
		if n := bodies.Load(); n > 1 {
			t.Fatalf("fetch %d downloaded %d bodies of an unchanged mailbox", i+2, n)
		}
	}
}

// floodSearch answers UID SEARCH with endless "* SEARCH" lines of
// ever larger odd numbers (go-imap gathers them all before the command ends).
func floodSearch(s *hostileimap.Session, tag, cmd, args string) bool {
	if cmd != "UID SEARCH" {
		return false
	}
	n := uint32(1)
	for {
		var b strings.Builder
		b.WriteString("* SEARCH")
		for b.Len() < 8000 {
			fmt.Fprintf(&b, " %d", n)
			n += 2
		}
		b.WriteString("\r\n")
		if s.Printf("%s", b.String()) != nil {
			return true
		}
	}
}

// TestAttackUntaggedFlood: endless small untagged responses, each under
// the line limit and arriving without pause, in reply to a command whose
// untagged data go-imap gathers (SEARCH, after a UIDVALIDITY change) or
// drops (EXISTS, OK): memory must stay bounded and the fetch must be
// stopped by the bound on untagged bytes, not by its overall deadline.
func TestAttackUntaggedFlood(t *testing.T) {
	floodLines := func(line string) func(s *hostileimap.Session, tag, cmd, args string) bool {
		return func(s *hostileimap.Session, tag, cmd, args string) bool {
			if cmd != "UID FETCH" || strings.Contains(args, "BODY") {
				return false
			}
			chunk := strings.Repeat(line, 1000)
			for s.Printf("%s", chunk) == nil {
			}
			return true
		}
	}
	for _, tc := range []struct {
		name string
		hook func(s *hostileimap.Session, tag, cmd, args string) bool
	}{
		{"search", floodSearch},
		{"exists", floodLines("* 4294967295 EXISTS\r\n")},
		{"ok", floodLines("* OK [ALERT] " + strings.Repeat("x", 500) + "\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var validity atomic.Uint32
			h := startHostile(t, hostileimap.Options{Messages: messages(2), Hook: tc.hook,
				UIDValidity: func() uint32 { return validity.Add(1) }})
			in, _ := newInbox(t)
			if tc.name == "search" {
				// A first fetch, so that the next sees UIDVALIDITY change
				// and searches.
				if _, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0); err != nil {
					t.Fatal(err)
				}
			}
			// The overall deadline is far off: the byte bound, not the
			// time, must stop the flood (ErrUntaggedFlood, not
			// ErrDeadline), however slowly a loaded machine parses it.
			var err error
			start := time.Now()
			peak := peakHeap(func() { _, err = h.fetchOnce(t, in, 5*time.Second, 2*time.Minute, 0) })
			if err == nil {
				t.Fatal("a flood of untagged responses was accepted")
			}
			if !errors.Is(err, imapbound.ErrUntaggedFlood) {
				t.Errorf("err = %v, want ErrUntaggedFlood", err)
			}
			if peak > memCeiling {
				t.Errorf("live heap grew by %d MiB", peak>>20)
			}
			t.Logf("stopped after %s", time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestAttackFailureFlood: a server that lists many messages and serves
// none makes each fetch record a failure per message. Each fetch must end
// after a bounded number of failures in a row, so that one fetch cannot
// write an unbounded number of records (or take until its deadline).
func TestAttackFailureFlood(t *testing.T) {
	const listed = 500
	h := startHostile(t, hostileimap.Options{Messages: messages(2), Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
		switch {
		case cmd == "EXAMINE" || cmd == "SELECT":
			s.Printf("* %d EXISTS\r\n* OK [UIDVALIDITY 1] ok\r\n* OK [UIDNEXT %d] ok\r\n%s OK [READ-ONLY] done\r\n", listed, listed+1, tag) //nolint:errcheck // the client sees
			return true
		case cmd == "UID FETCH" && !strings.Contains(args, "BODY"):
			var b strings.Builder
			for u := 1; u <= listed; u++ {
				fmt.Fprintf(&b, "* %d FETCH (UID %d)\r\n", u, u)
			}
			s.Printf("%s%s OK done\r\n", b.String(), tag) //nolint:errcheck // the client sees
			return true
		case cmd == "UID FETCH":
			s.Printf("%s OK no such message\r\n", tag) //nolint:errcheck // the client sees
			return true
		}
		return false
	}})
	in, _ := newInbox(t)
	res, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
	if !errors.Is(err, receive.ErrTooManyFailures) {
		t.Fatalf("err = %v, want ErrTooManyFailures", err)
	}
	if n := len(res.Failed); n != receive.MaxFailuresInRow {
		t.Errorf("%d failures recorded by one fetch, want %d", n, receive.MaxFailuresInRow)
	}
	// The next fetch goes on after them: the server cannot hold the
	// inbox at its first message either.
	res, _ = h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
	if len(res.Failed) == 0 || res.Failed[0].Source.UID != receive.MaxFailuresInRow+1 {
		t.Fatalf("second fetch: failed %+v, want it to go on from UID %d", res.Failed[:min(len(res.Failed), 3)], receive.MaxFailuresInRow+1)
	}
}
