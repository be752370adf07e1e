package receive_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/internal/hostileimap"
	"github.com/securesend/securesend/internal/imapbound"
	"github.com/securesend/securesend/receive"
)

// mapSecrets holds the test account's password (the keychain is not what
// these tests are about).
type mapSecrets map[string]string

func (m mapSecrets) Get(name string) (string, error) { return m[name], nil }
func (m mapSecrets) Set(name, v string) error        { m[name] = v; return nil }
func (m mapSecrets) Delete(name string) error        { delete(m, name); return nil }

// hostile is a hostile server with an account pointing at it.
type hostile struct {
	srv  *hostileimap.Server
	acct *account.Account
}

func startHostile(t *testing.T, o hostileimap.Options) *hostile {
	t.Helper()
	pki := accounttest.NewPKI(t)
	o.TLS = pki.Config
	srv := hostileimap.Start(t, o)
	sec := account.ImplicitTLS
	if o.StartTLS {
		sec = account.StartTLS
	}
	a := &account.Account{Name: "pharmacy", Email: inboxUser, CAFile: pki.CAFile,
		IMAP: account.Server{Address: srv.Addr, Security: sec}}
	return &hostile{srv: srv, acct: a}
}

// fetchOnce dials with timeout as the account's timeout and overall as
// the fetch's deadline, and fetches.
func (h *hostile) fetchOnce(t *testing.T, in *receive.Inbox, timeout, overall time.Duration, maxMsg int64) (*receive.FetchResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), overall)
	defer cancel()
	secrets := mapSecrets{"account/pharmacy/password": inboxPassword}
	conn, err := h.acct.DialIMAP(ctx, secrets, account.IMAPOptions{Timeout: timeout, MaxMessageSize: maxMsg})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return in.Fetch(ctx, conn.Client, receive.FetchOptions{Account: "pharmacy", Cause: conn.Err})
}

// allocated runs f and returns the bytes allocated meanwhile.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// endless writes prefix then bytes without a line end until the client
// goes away.
func endless(prefix string) func(w io.Writer) error {
	return func(w io.Writer) error {
		if _, err := io.WriteString(w, prefix); err != nil {
			return err
		}
		chunk := []byte(strings.Repeat("A", 32<<10))
		for {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
		}
	}
}

func messages(n int) map[uint32][]byte {
	m := map[uint32][]byte{}
	for i := 1; i <= n; i++ {
		m[uint32(i)] = plainMessage(fmt.Sprintf("m%d@clinic.test", i), fmt.Sprintf("Script %d", i), "Note", []byte(fmt.Sprintf("document %d", i)))
	}
	return m
}

const (
	memCeiling  = 48 << 20         // bytes a bounded fetch may allocate in these tests
	hangCeiling = 20 * time.Second // a hang guard, not a performance figure
)

// TestHostileEndlessLine: a line that never ends, before TLS (STARTTLS
// greeting) and after (implicit TLS greeting, and a reply after sign-in),
// is refused at the line limit with bounded memory, well within the
// account's timeout.
func TestHostileEndlessLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    hostileimap.Options
	}{
		{"before TLS", hostileimap.Options{StartTLS: true, Greeting: endless("* OK ")}},
		{"TLS greeting", hostileimap.Options{Greeting: endless("* OK ")}},
		{"after sign-in", hostileimap.Options{StartTLS: true, Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
			if cmd != "EXAMINE" {
				return false
			}
			endless("* OK ")(s.W) //nolint:errcheck // until the client goes
			return true
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHostile(t, tc.o)
			in, _ := newInbox(t)
			var err error
			start := time.Now()
			n := allocated(func() { _, err = h.fetchOnce(t, in, 5*time.Second, time.Minute, 0) })
			if !errors.Is(err, imapbound.ErrLineTooLong) {
				t.Fatalf("err = %v, want ErrLineTooLong", err)
			}
			if d := time.Since(start); d > hangCeiling {
				t.Errorf("took %s", d)
			}
			if n > memCeiling {
				t.Errorf("allocated %d MiB, want under %d MiB", n>>20, memCeiling>>20)
			}
		})
	}
}

// TestHostileSilentGreeting: a server that never greets is given up after
// the account's timeout, not go-imap's 30 s.
func TestHostileSilentGreeting(t *testing.T) {
	for _, starttls := range []bool{false, true} {
		h := startHostile(t, hostileimap.Options{StartTLS: starttls, Greeting: func(w io.Writer) error {
			time.Sleep(3 * time.Second)
			return errors.New("done")
		}})
		in, _ := newInbox(t)
		start := time.Now()
		_, err := h.fetchOnce(t, in, 500*time.Millisecond, time.Minute, 0)
		if !errors.Is(err, imapbound.ErrSilent) {
			t.Fatalf("starttls %v: err = %v, want ErrSilent", starttls, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("starttls %v: took %s with a 500ms timeout", starttls, d)
		}
	}
}

// hugeBody answers the body fetch of uid with a literal of size that then
// streams bytes until the client goes away.
func hugeBody(uid uint32, size int64) func(s *hostileimap.Session, tag, cmd, args string) bool {
	return func(s *hostileimap.Session, tag, cmd, args string) bool {
		if cmd != "UID FETCH" || !strings.HasPrefix(args, fmt.Sprint(uid)+" ") || !strings.Contains(args, "BODY") {
			return false
		}
		s.Printf("* %d FETCH (UID %d BODY[] {%d}\r\n", uid, uid, size) //nolint:errcheck // see below
		endless("")(s.W)                                               //nolint:errcheck // until the client goes
		return true
	}
}

// TestHostileHugeLiteral: a message larger than the size limit is refused
// when announced, recorded as a failure, and does not stop the message
// after it from arriving at the next fetch.
func TestHostileHugeLiteral(t *testing.T) {
	h := startHostile(t, hostileimap.Options{Messages: messages(3), Hook: hugeBody(2, 999999999)})
	in, _ := newInbox(t)
	var err error
	var res *receive.FetchResult
	n := allocated(func() { res, err = h.fetchOnce(t, in, 5*time.Second, time.Minute, 1<<20) })
	if !errors.Is(err, imapbound.ErrLiteralTooLarge) {
		t.Fatalf("err = %v, want ErrLiteralTooLarge", err)
	}
	if n > memCeiling {
		t.Errorf("allocated %d MiB", n>>20)
	}
	if len(res.New) != 1 || len(res.Failed) != 1 || res.Failed[0].Source.UID != 2 || res.Failed[0].Stage != "fetch" {
		t.Fatalf("first fetch: %d new, failed %+v", len(res.New), res.Failed)
	}
	res, err = h.fetchOnce(t, in, 5*time.Second, time.Minute, 1<<20)
	if err == nil || len(res.New) != 1 || res.New[0].Source.UID != 3 {
		t.Fatalf("second fetch: err %v, new %+v: UID 3 must arrive before UID 2 is tried again", err, res.New)
	}
}

// TestHostileUnrequestedLiteral: a message body the client did not ask
// for, in the reply to the UID listing, is refused without being read.
func TestHostileUnrequestedLiteral(t *testing.T) {
	h := startHostile(t, hostileimap.Options{Messages: messages(2), Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
		if cmd != "UID FETCH" || strings.Contains(args, "BODY") {
			return false
		}
		s.Printf("* 1 FETCH (UID 1 BODY[] {50000000}\r\n") //nolint:errcheck // see below
		endless("")(s.W)                                   //nolint:errcheck // until the client goes
		return true
	}})
	in, _ := newInbox(t)
	var err error
	n := allocated(func() { _, err = h.fetchOnce(t, in, 5*time.Second, time.Minute, 64<<20) })
	if !errors.Is(err, receive.ErrUnrequested) {
		t.Fatalf("err = %v, want ErrUnrequested", err)
	}
	if n > memCeiling {
		t.Errorf("allocated %d MiB", n>>20)
	}
}

// TestHostileGhostMessage: UID 2 answered OK with no data is recorded,
// UID 3 still arrives, and UID 2 is tried again on the next fetches until
// it is given up.
func TestHostileGhostMessage(t *testing.T) {
	h := startHostile(t, hostileimap.Options{Messages: messages(3), Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
		if cmd == "UID FETCH" && strings.HasPrefix(args, "2 ") {
			s.Printf("%s OK nothing for you\r\n", tag) //nolint:errcheck // the client sees
			return true
		}
		return false
	}})
	in, _ := newInbox(t)
	res, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.New) != 2 || res.New[1].Source.UID != 3 || len(res.Failed) != 1 || res.Failed[0].Source.UID != 2 {
		t.Fatalf("new %d, failed %+v", len(res.New), res.Failed)
	}
	for attempt := 2; attempt <= receive.MaxFetchAttempts+1; attempt++ {
		res, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		if attempt > receive.MaxFetchAttempts {
			if len(res.Failed) != 0 {
				t.Fatalf("a message given up was tried again: %+v", res.Failed)
			}
			break
		}
		if len(res.Failed) != 1 || res.Failed[0].Attempts != attempt || res.Failed[0].GaveUp != (attempt == receive.MaxFetchAttempts) {
			t.Fatalf("attempt %d: failed %+v", attempt, res.Failed)
		}
	}
	fs, err := in.Store.Failures()
	if err != nil || len(fs) != 1 || !fs[0].GaveUp || !strings.Contains(fs[0].Error, "no body") {
		t.Fatalf("failures %+v, %v", fs, err)
	}
}

// TestHostileDripFeed: a server that sends one byte at a time, each within
// the account's timeout, is stopped by the overall deadline, and the
// message is recorded so that it cannot hold up the next fetch.
func TestHostileDripFeed(t *testing.T) {
	h := startHostile(t, hostileimap.Options{Messages: messages(2), Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
		if cmd != "UID FETCH" || !strings.HasPrefix(args, "1 ") {
			return false
		}
		s.Printf("* 1 FETCH (UID 1 BODY[] {100000}\r\n") //nolint:errcheck // see below
		for s.Printf("A") == nil {
			time.Sleep(100 * time.Millisecond)
		}
		return true
	}})
	in, _ := newInbox(t)
	start := time.Now()
	res, err := h.fetchOnce(t, in, time.Second, 2*time.Second, 0)
	if !errors.Is(err, imapbound.ErrDeadline) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the overall deadline", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s with a 2s overall deadline", d)
	}
	if len(res.Failed) != 1 || res.Failed[0].Source.UID != 1 {
		t.Fatalf("failed %+v", res.Failed)
	}
	res, _ = h.fetchOnce(t, in, time.Second, 2*time.Second, 0)
	if len(res.New) != 1 || res.New[0].Source.UID != 2 {
		t.Fatalf("second fetch: new %+v", res.New)
	}
}

// TestHostileUIDValidityFlapping: a UIDVALIDITY that changes at every
// SELECT is reported each time, and only the recent messages are
// downloaded again, not the whole mailbox.
func TestHostileUIDValidityFlapping(t *testing.T) {
	var validity atomic.Uint32
	var bodies atomic.Int32
	old := time.Now().AddDate(0, 0, -30)
	h := startHostile(t, hostileimap.Options{
		Messages:    messages(3),
		Arrived:     map[uint32]time.Time{1: old, 2: old},
		UIDValidity: func() uint32 { return validity.Add(1) },
		Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
			if cmd == "UID FETCH" && strings.Contains(args, "BODY") {
				bodies.Add(1)
			}
			return false
		},
	})
	in, _ := newInbox(t)
	res, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
	if err != nil || len(res.New) != 3 || res.UIDValidityChanged {
		t.Fatalf("first fetch: %v, %+v", err, res)
	}
	for i := 0; i < 3; i++ {
		bodies.Store(0)
		res, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !res.UIDValidityChanged || res.PreviousUIDValidity == 0 || res.PreviousUIDValidity == res.UIDValidity {
			t.Fatalf("fetch %d: UIDVALIDITY change not reported: %+v", i, res)
		}
		if len(res.New) != 0 || bodies.Load() != 1 {
			t.Fatalf("fetch %d: %d new, %d bodies downloaded, want 0 and 1 (only the recent one)", i, len(res.New), bodies.Load())
		}
	}
}

// TestHostileDroppedConnection: a connection dropped in the middle of a
// message ends the fetch with an error and loses nothing: the next fetch
// brings the rest and the dropped one.
func TestHostileDroppedConnection(t *testing.T) {
	var drops atomic.Int32
	h := startHostile(t, hostileimap.Options{Messages: messages(3), Hook: func(s *hostileimap.Session, tag, cmd, args string) bool {
		if cmd == "UID FETCH" && strings.HasPrefix(args, "2 ") && drops.Add(1) == 1 {
			s.Printf("* 2 FETCH (UID 2 BODY[] {5000}\r\nFrom: half") //nolint:errcheck // then drop
			s.Cn.Close()
			return true
		}
		return false
	}})
	in, _ := newInbox(t)
	res, err := h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
	if err == nil || len(res.New) != 1 {
		t.Fatalf("first fetch: err %v, %d new", err, len(res.New))
	}
	res, err = h.fetchOnce(t, in, 5*time.Second, time.Minute, 0)
	if err != nil || len(res.New) != 2 || res.Recovered != 1 {
		t.Fatalf("second fetch: err %v, %d new, %d recovered", err, len(res.New), res.Recovered)
	}
	items, _ := in.Store.List()
	fs, _ := in.Store.Failures()
	if len(items) != 3 || len(fs) != 0 {
		t.Fatalf("%d items, failures %+v", len(items), fs)
	}
}
