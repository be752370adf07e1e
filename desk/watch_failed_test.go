package desk

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/crypto/keychain/keychaintest"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/receive"
)

// fetchCounter is an IMAP server (implicit TLS, IDLE) with one user
// that counts the message bodies it serves and refuses to serve the
// bodies of the UIDs in broken, as a server with a damaged mail file
// does ("NO [SERVERBUG]").
type fetchCounter struct {
	mu     sync.Mutex
	bodies int
	broken map[imap.UID]bool
	user   *imapmemserver.User
	Addr   string
}

func startFetchCounter(t testing.TB, pki *accounttest.PKI, user, pw string) *fetchCounter {
	t.Helper()
	mem := imapmemserver.New()
	u := imapmemserver.NewUser(user, pw)
	if err := u.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(u)
	fc := &fetchCounter{broken: map[imap.UID]bool{}, user: u}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &countingSession{Session: mem.NewSession(), fc: fc}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIdle: {}},
		InsecureAuth: true, // TLS is the listener's
		Logger:       quiet{},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(tls.NewListener(ln, pki.Config)) //nolint:errcheck // ends with Close
	t.Cleanup(func() { srv.Close() })
	fc.Addr = ln.Addr().String()
	return fc
}

// deliver appends raw to the INBOX; with broken, the server will not
// serve its body.
func (fc *fetchCounter) deliver(t testing.TB, raw []byte, broken bool) imap.UID {
	t.Helper()
	d, err := fc.user.Append("INBOX", literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if broken {
		fc.broken[d.UID] = true
	}
	return d.UID
}

func (fc *fetchCounter) served() int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.bodies
}

type countingSession struct {
	imapserver.Session
	fc *fetchCounter
}

func (s *countingSession) Fetch(w *imapserver.FetchWriter, ns imap.NumSet, o *imap.FetchOptions) error {
	if len(o.BodySection) > 0 {
		set, ok := ns.(imap.UIDSet)
		s.fc.mu.Lock()
		s.fc.bodies++
		bad := false
		if ok {
			for uid := range s.fc.broken {
				if set.Contains(uid) {
					bad = true
				}
			}
		}
		s.fc.mu.Unlock()
		if bad {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeServerBug, Text: "the mail file is damaged"}
		}
	}
	return s.Session.Fetch(w, ns, o)
}

// failedDesk is a Desk of Bob's (his key, Alice's pinned) whose
// account is on a fetchCounter holding n messages whose bodies the
// server will not serve, each after an unsigned message it serves
// (stored, not verified). It takes a testing.TB, for the benchmark too.
func failedDesk(t testing.TB, n int) (*Desk, *fetchCounter) {
	t.Helper()
	keychaintest.Require(t)
	const user, pw = "bob@pharmacy.test", "imap-pass-for-failed"
	pki := accounttest.NewPKI(t)
	fc := startFetchCounter(t, pki, user, pw)
	dir := t.TempDir()
	d, err := Open(Options{Getenv: func(k string) string {
		if k == home.EnvVar {
			return dir
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	ks, err := d.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.AddSecret(readTestKey(t, "bob")); err != nil {
		t.Fatal(err)
	}
	pinTestKey(t, d, "alice")
	a := account.Account{Name: "pharmacy", Email: user, Auth: account.AuthPassword, CAFile: pki.CAFile,
		SMTP: account.Server{Address: "127.0.0.1:1", Security: account.StartTLS},
		IMAP: account.Server{Address: fc.Addr, Security: account.ImplicitTLS}}
	if err := d.Accounts().Add(a, account.Credentials{Password: pw}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Accounts().Remove("pharmacy") })
	for i := range n {
		fc.deliver(t, fmt.Appendf(nil, "From: clinic@example.test\r\nTo: bob@pharmacy.test\r\nSubject: %d\r\n\r\nnot signed %d\r\n", i, i), false)
		fc.deliver(t, receiveTestdata(t, "not_signed.eml"), true)
	}
	return d, fc
}

// receiveTestdata reads a file of receive/testdata.
func receiveTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "receive", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// readTestKey reads the TEST ONLY secret key of name.
func readTestKey(t testing.TB, name string) *pgp.Key {
	t.Helper()
	k, err := pgp.ReadSecretKey(bytes.NewReader(receiveTestdata(t, filepath.Join("keys", "test_only_"+name+".sec.asc"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// pinTestKey imports and pins the public key of name in d's key store.
func pinTestKey(t testing.TB, d *Desk, name string) {
	t.Helper()
	ks, err := d.Keys()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := readTestKey(t, name).Public().WriteArmored(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Import(&buf, pgp.ImportOptions{Pin: true}); err != nil {
		t.Fatal(err)
	}
}

// TestWatchDoesNotRefetchFailed: a watch over a mailbox with messages
// that could not be fetched (and messages stored as not verified) does
// not fetch them again on every round (issue 20): only after the keys
// changed, with RetryFailed, or once its wait passed while not given up;
// each time once. The old code fetched every failure again on the next
// rounds.
func TestWatchDoesNotRefetchFailed(t *testing.T) {
	const n = 15 // fewer than receive.MaxFailuresInRow
	d, fc := failedDesk(t, n)
	drop := t.TempDir()
	// round runs a watch of one round (its state carries over, as after
	// a restart) and returns how many bodies the server served.
	round := func(name string, opts WatchOptions) int {
		t.Helper()
		before := fc.served()
		opts.Drop, opts.Once = drop, true
		if opts.RetryWait == 0 {
			opts.RetryWait = time.Hour
		}
		if err := d.Watch(context.Background(), opts); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := fc.served() - before
		t.Logf("%s: %d bodies fetched", name, got)
		return got
	}
	attempts := func() (total int) {
		t.Helper()
		fs, err := d.Failures()
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != n {
			t.Fatalf("%d failures recorded, want %d", len(fs), n)
		}
		for _, f := range fs {
			total += f.Attempts
		}
		return total
	}
	if got := round("first round", WatchOptions{}); got != 2*n {
		t.Fatalf("first round fetched %d bodies, want %d", got, 2*n)
	}
	for i := range 3 {
		if got := round(fmt.Sprintf("round %d, nothing changed", i+2), WatchOptions{}); got != 0 {
			t.Fatalf("round %d fetched %d bodies again, want 0", i+2, got)
		}
	}
	if a := attempts(); a != n {
		t.Fatalf("%d attempts, want %d", a, n)
	}
	// A key pinned since: each failure is tried once more.
	pinTestKey(t, d, "carol")
	if got := round("after a key was pinned", WatchOptions{}); got != n {
		t.Fatalf("after a key was pinned: %d bodies, want %d", got, n)
	}
	if got := round("and the round after", WatchOptions{}); got != 0 {
		t.Fatalf("the round after: %d bodies, want 0", got)
	}
	// Their wait passed: tried again, and given up (the third attempt).
	if got := round("wait passed", WatchOptions{RetryWait: time.Nanosecond}); got != n {
		t.Fatalf("wait passed: %d bodies, want %d", got, n)
	}
	if a := attempts(); a != 3*n {
		t.Fatalf("%d attempts, want %d (each given up)", a, 3*n)
	}
	if got := round("given up, within its wait", WatchOptions{}); got != 0 {
		t.Fatalf("given up, within its wait: %d bodies, want 0", got)
	}
	// Given up, its (longer) wait passed: tried again all the same, so
	// that a server that failed for a few minutes does not keep a
	// message out for good.
	if got := round("given up, wait passed", WatchOptions{RetryWait: time.Nanosecond}); got != n {
		t.Fatalf("given up, wait passed: %d bodies, want %d", got, n)
	}
	// Given up, asked for: once each.
	if got := round("--retry-failed", WatchOptions{RetryFailed: true}); got != n {
		t.Fatalf("--retry-failed: %d bodies, want %d", got, n)
	}
	if got := round("after --retry-failed", WatchOptions{}); got != 0 {
		t.Fatalf("after --retry-failed: %d bodies, want 0", got)
	}
	// A damaged record is started again (a warning): nothing is fetched
	// again for it, and the watch goes on.
	rec, err := filepath.Glob(filepath.Join(d.home.Path("watch"), "failed-*.json"))
	if err != nil || len(rec) != 1 {
		t.Fatalf("record %v %v", rec, err)
	}
	if err := os.WriteFile(rec[0], []byte(`{"tried":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := round("damaged record", WatchOptions{}); got != 0 {
		t.Fatalf("damaged record: %d bodies, want 0", got)
	}
	if b, err := os.ReadFile(rec[0]); err != nil || !json.Valid(b) {
		t.Fatalf("the record was not written again: %q %v", b, err)
	}
	// The message the server serves again is stored and delivered no
	// more than any other: it is not signed, so nothing is dropped.
	fc.mu.Lock()
	clear(fc.broken)
	fc.mu.Unlock()
	if got := round("the server mended, --retry-failed", WatchOptions{RetryFailed: true}); got != n {
		t.Fatalf("mended: %d bodies, want %d", got, n)
	}
	if fs, err := d.Failures(); err != nil || len(fs) != 0 {
		t.Fatalf("failures left after the server mended: %v %v", fs, err)
	}
	if len(dropped(t, drop)) != 0 {
		t.Fatalf("dropped: %v", dropped(t, drop))
	}
}

// TestWatchGoesOnAfterManyFailures: more messages in a row than
// receive.MaxFailuresInRow that the server will not serve do not stop a
// watch (--once returned "too many messages in a row could not be
// fetched"; a running watch took it for a lost connection and backed
// off): the verified message behind them is dropped, and the next
// rounds do not fetch the failures again.
func TestWatchGoesOnAfterManyFailures(t *testing.T) {
	d, fc := failedDesk(t, 0)
	const n = 45
	for range n {
		fc.deliver(t, testdata(t, "not_signed.eml"), true)
	}
	fc.deliver(t, testdata(t, "good_encrypted.eml"), false)
	drop := t.TempDir()
	var ev events
	opts := WatchOptions{Drop: drop, Once: true, IncludeExisting: true, Event: ev.add}
	if err := d.Watch(context.Background(), opts); err != nil {
		t.Fatalf("watch: %v\n%s", err, &ev)
	}
	if got := len(dropped(t, drop)); got != 2 {
		t.Fatalf("dropped %v, want the verified document and its sidecar\n%s", dropped(t, drop), &ev)
	}
	if ev.count(EventDisconnected) != 0 {
		t.Errorf("the watch reported a lost connection:\n%s", &ev)
	}
	fs, err := d.Failures()
	if err != nil || len(fs) != n {
		t.Fatalf("%d failures recorded (%v), want %d", len(fs), err, n)
	}
	if got := ev.count(EventNotReceived); got != n {
		t.Errorf("%d not-received events, want %d:\n%s", got, n, &ev)
	}
	before := fc.served()
	var again events
	opts.Event = again.add
	if err := d.Watch(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	// A watch started again tells of them, but not one line each: at
	// most maxToldFailures, then a count of the rest.
	if got := again.count(EventNotReceived); got != maxToldFailures+1 || !strings.Contains(again.String(), fmt.Sprintf("and %d more messages that could not be received: see securesend inbox list", n-maxToldFailures)) {
		t.Errorf("restarted: %d not-received events:\n%s", got, &again)
	}
	if got := fc.served() - before; got != 0 {
		t.Errorf("the next watch fetched %d bodies again", got)
	}
}

// BenchmarkWatchRoundFailed: the rounds of a watch over a mailbox holding
// 200 messages the server will not serve (and 200 stored, unverified),
// after its first round; nothing new arrives. Reports the bodies fetched
// and the time per round. -benchtime 10x.
func BenchmarkWatchRoundFailed(b *testing.B) {
	const n = 200
	d, fc := failedDesk(b, n)
	drop := b.TempDir()
	opts := WatchOptions{Drop: drop, Once: true}
	if err := d.Watch(context.Background(), opts); err != nil {
		b.Fatal(err)
	}
	before := fc.served()
	b.ResetTimer()
	for range b.N {
		if err := d.Watch(context.Background(), opts); err != nil && !errors.Is(err, receive.ErrTooManyFailures) {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(fc.served()-before)/float64(b.N), "bodies/round")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/round")
}

// TestWatchReportsNotReceived: a message the server will not serve is
// told to the pharmacist by the watch (EventNotReceived) at each failed
// attempt, with when it is tried again, and, given up, with what to do;
// a watch started again tells of it at its first round, though it does
// not fetch it. Before, the watch said only "0 new, 1 failed" once per
// attempt, and a given-up message was then in 'securesend inbox list'
// only: a scheduled --once run or a watch restarted every morning never
// mentioned it again.
func TestWatchReportsNotReceived(t *testing.T) {
	d, fc := failedDesk(t, 1)
	drop := t.TempDir()
	run := func(name string, wait time.Duration) *events {
		t.Helper()
		var ev events
		before := fc.served()
		if err := d.Watch(context.Background(), WatchOptions{Drop: drop, Once: true, RetryWait: wait, Event: ev.add}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %d bodies\n%s", name, fc.served()-before, &ev)
		return &ev
	}
	detail := func(ev *events) string {
		t.Helper()
		ev.mu.Lock()
		defer ev.mu.Unlock()
		var got []string
		for _, e := range ev.all {
			if e.Kind == EventNotReceived {
				got = append(got, e.Detail)
			}
		}
		if len(got) != 1 {
			t.Fatalf("%d not-received events, want 1:\n%v", len(got), got)
		}
		if line := WatchEventLine(WatchEvent{Kind: EventNotReceived, Detail: got[0]}); !strings.Contains(line, "NOT RECEIVED: pharmacy INBOX UID 2 ") {
			t.Errorf("line %q", line)
		}
		return got[0]
	}
	for i, want := range []string{"failed (attempt 1): ", "failed (attempt 2): ", "failed (attempt 3): "} {
		ev := run(fmt.Sprintf("attempt %d", i+1), time.Nanosecond)
		got := detail(ev)
		if !strings.Contains(got, want) || !strings.Contains(got, "the mail file is damaged") {
			t.Errorf("attempt %d: %q, want %q and the server's reason", i+1, got, want)
		}
		if i < 2 && !strings.Contains(got, "; tried again after ") {
			t.Errorf("attempt %d: %q does not say when it is tried again", i+1, got)
		}
	}
	// Given up, and the watch started again: not fetched, but told.
	ev := run("restarted", time.Hour)
	got := detail(ev)
	for _, want := range []string{"failed (attempt 3)", "given up: ask the sender to send it again", "--retry-failed"} {
		if !strings.Contains(got, want) {
			t.Errorf("restarted: %q, want %q", got, want)
		}
	}
	l, err := d.Listing()
	if err != nil || len(l.Failures) != 1 || !strings.Contains(FailureLine(l.Failures[0]), "ask the sender to send it again") {
		t.Fatalf("inbox list: %+v %v", l, err)
	}
}

// TestWatchFetchesFailedAfterRenumbering: a verified prescription the
// server would not serve, then renumbered (the mailbox repaired or
// restored: a new UIDVALIDITY) and served, is fetched and dropped. Before,
// a failure is retried by its UID under the old UIDVALIDITY only, and the
// fetch after a renumbering lists only the messages since a day before
// the last fetch: a message that arrived earlier and failed was never
// fetched again, not even with --retry-failed, though the repair that
// renumbers a mailbox is just what makes it servable.
func TestWatchFetchesFailedAfterRenumbering(t *testing.T) {
	d, fc := failedDesk(t, 0)
	raw := testdata(t, "good_encrypted.eml")
	arrived := time.Now().AddDate(0, 0, -3)
	if _, err := fc.user.Append("INBOX", literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Time: arrived}); err != nil {
		t.Fatal(err)
	}
	fc.mu.Lock()
	fc.broken[1] = true
	fc.mu.Unlock()
	drop := t.TempDir()
	var ev events
	opts := WatchOptions{Drop: drop, Once: true, IncludeExisting: true, Event: ev.add}
	if err := d.Watch(context.Background(), opts); err != nil {
		t.Fatalf("watch: %v\n%s", err, &ev)
	}
	if fs, err := d.Failures(); err != nil || len(fs) != 1 || len(dropped(t, drop)) != 0 {
		t.Fatalf("before the repair: failures %v %v, dropped %v", fs, err, dropped(t, drop))
	}
	// The repair: the mailbox is recreated (UIDVALIDITY changes) with the
	// message, which the server now serves.
	if err := fc.user.Delete("INBOX"); err != nil {
		t.Fatal(err)
	}
	if err := fc.user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	fc.mu.Lock()
	clear(fc.broken)
	fc.mu.Unlock()
	if _, err := fc.user.Append("INBOX", literal{bytes.NewReader(raw), int64(len(raw))}, &imap.AppendOptions{Time: arrived}); err != nil {
		t.Fatal(err)
	}
	fc.deliver(t, []byte("From: clinic@example.test\r\nTo: bob@pharmacy.test\r\nSubject: today\r\n\r\nnot signed\r\n"), false)
	for _, retry := range []bool{false, true} {
		opts.RetryFailed = retry
		if err := d.Watch(context.Background(), opts); err != nil {
			t.Fatalf("watch: %v\n%s", err, &ev)
		}
	}
	// The whole listing under the new numbering fetched the message: the
	// failure under the old one is settled, not told again (the line for
	// an old failure still outstanding: TestWatchFailureDetail's table).
	if fs, err := d.Failures(); err != nil || len(fs) != 0 {
		t.Errorf("after the repair: failures %v %v, want none\n%s", fs, err, &ev)
	}
	if got := len(dropped(t, drop)); got != 2 {
		t.Fatalf("after the repair: dropped %v, want the document and its sidecar\n%s", dropped(t, drop), &ev)
	}
}
