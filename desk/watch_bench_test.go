package desk

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/mailserver"
	"github.com/securesend/securesend/send"
)

// watchBench is Bob's desk with an account on a real Dovecot (through
// Postfix), and Alice's key to send him messages.
type watchBench struct {
	b     *testing.B
	d     *Desk
	srv   *mailserver.Server
	alice *pgp.Key
	bob   *pgp.Key
	kb    int
	doc   string
	smtp  *smtp.Client
	sent  int
}

// newWatchBench sets up Bob's desk; documents are SECURESEND_BENCH_DOC_KB
// KiB (default 1024).
func newWatchBench(b *testing.B) *watchBench {
	kb := 1024
	if v := os.Getenv("SECURESEND_BENCH_DOC_KB"); v != "" {
		var err error
		if kb, err = strconv.Atoi(v); err != nil || kb <= 0 {
			b.Fatalf("SECURESEND_BENCH_DOC_KB=%q", v)
		}
	}
	srv := mailserver.StartT(b, mailserver.Options{Domain: "pharmacy.test", Users: []string{"bob"}})
	dir := b.TempDir()
	d, err := Open(Options{Getenv: func(k string) string {
		if k == home.EnvVar {
			return dir
		}
		return ""
	}})
	if err != nil {
		b.Fatal(err)
	}
	ks, err := d.Keys()
	if err != nil {
		b.Fatal(err)
	}
	read := func(name string) *pgp.Key {
		data, err := os.ReadFile(filepath.Join("..", "receive", "testdata", "keys", "test_only_"+name+".sec.asc"))
		if err != nil {
			b.Fatal(err)
		}
		k, err := pgp.ReadSecretKey(bytes.NewReader(data), nil)
		if err != nil {
			b.Fatal(err)
		}
		return k
	}
	alice, bob := read("alice"), read("bob")
	if _, err := ks.AddSecret(bob); err != nil {
		b.Fatal(err)
	}
	var pub bytes.Buffer
	alice.Public().WriteArmored(&pub)
	if _, err := ks.Import(&pub, pgp.ImportOptions{Pin: true}); err != nil {
		b.Fatal(err)
	}
	a := account.Account{Name: "pharmacy", Email: "bob@pharmacy.test", Auth: account.AuthPassword, CAFile: srv.CAFile,
		SMTP: account.Server{Address: mailserver.Addr(srv.SMTPS), Security: account.ImplicitTLS},
		IMAP: account.Server{Address: mailserver.Addr(srv.IMAPS), Security: account.ImplicitTLS}}
	if err := d.Accounts().Add(a, account.Credentials{Password: srv.Password}); err != nil {
		b.Fatalf("%v (run under scripts/with-keyring.sh)", err)
	}
	b.Cleanup(func() { d.Accounts().Remove("pharmacy") })
	c, err := smtp.Dial(mailserver.Addr(srv.Plain))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Quit() })
	return &watchBench{b: b, d: d, srv: srv, alice: alice, bob: bob, kb: kb, doc: filepath.Join(b.TempDir(), "script.pdf"), smtp: c}
}

// send delivers n signed and encrypted messages from Alice to Bob, one
// random document each, into Postfix (see srv.WaitQueueEmpty).
func (wb *watchBench) send(n int) {
	b := wb.b
	for range n {
		wb.sent++
		content := make([]byte, wb.kb<<10)
		rand.Read(content)
		copy(content, "%PDF-1.4\n")
		if err := os.WriteFile(wb.doc, content, 0o600); err != nil {
			b.Fatal(err)
		}
		m := &send.Message{
			From: mail.Address{Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
			Subject: "Prescription", Documents: []send.Document{{Path: wb.doc}},
			MessageID: fmt.Sprintf("watch-bench-%d-%d@clinic.test", time.Now().UnixNano(), wb.sent),
		}
		var buf bytes.Buffer
		if _, err := send.ComposeProtected(&buf, m, send.Protection{Signer: wb.alice, Recipients: []*pgp.PublicKey{wb.bob.Public()}, Encrypt: true}); err != nil {
			b.Fatal(err)
		}
		if err := wb.smtp.SendMail("alice@clinic.test", []string{"bob@pharmacy.test"}, &buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWatchDovecot delivers b.N signed and encrypted messages
// (Alice to Bob, one document of SECURESEND_BENCH_DOC_KB KiB each,
// default 1024) to a real Dovecot through Postfix, then times one
// "watch --once --drop" over them: fetch, verify, store, drop. It
// reports messages per second and the process's peak RSS during the
// watch (VmHWM, reset before it). The figure:
//
//	scripts/with-keyring.sh go test -run '^$' -bench WatchDovecot -benchtime 1000x ./desk/
func BenchmarkWatchDovecot(b *testing.B) {
	wb := newWatchBench(b)
	wb.send(b.N)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := wb.srv.WaitQueueEmpty(ctx); err != nil {
		b.Fatal(err)
	}
	d := wb.d
	drop := b.TempDir()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) //nolint:errcheck // Linux: resets VmHWM; elsewhere the peak is the process's
	stopProfile := startBenchProfile(b)
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	delivered := 0
	err := d.Watch(ctx, WatchOptions{Drop: drop, Once: true, Event: func(ev WatchEvent) {
		if ev.Kind == EventDelivered {
			delivered++
		}
	}})
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := cpuTime() - cpu0
	stopProfile()
	if err != nil {
		b.Fatal(err)
	}
	if delivered != b.N {
		b.Fatalf("%d of %d documents dropped", delivered, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
	// CPU time of this process (user + system) per message: on a shared
	// machine a steadier measure of the watch's own cost than the rate.
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/msg")
}

// startBenchProfile writes a CPU profile of the watch alone (not of the
// messages' composition and delivery before it) to the file named by
// SECURESEND_BENCH_CPUPROFILE, when set; the returned func stops it.
func startBenchProfile(b *testing.B) func() {
	p := os.Getenv("SECURESEND_BENCH_CPUPROFILE")
	if p == "" {
		return func() {}
	}
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}

// peakRSSMB is the process's peak resident set (VmHWM) in MB, or 0 where
// /proc does not say.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkWatchRound measures one round of a running watch (fetch,
// verify, store, drop) that takes in one new message, with
// SECURESEND_BENCH_INBOX messages (default 1000) already in the inbox
// and dropped: what a message costs the watch once it has run for a
// while. Each of the b.N rounds is timed alone, after its message
// reached Dovecot; it reports CPU time and wall time per round.
//
//	SECURESEND_BENCH_DOC_KB=16 scripts/with-keyring.sh go test -run '^$' -bench WatchRound -benchtime 20x ./desk/
func BenchmarkWatchRound(b *testing.B) {
	inbox := 1000
	if v := os.Getenv("SECURESEND_BENCH_INBOX"); v != "" {
		var err error
		if inbox, err = strconv.Atoi(v); err != nil || inbox < 0 {
			b.Fatalf("SECURESEND_BENCH_INBOX=%q", v)
		}
	}
	wb := newWatchBench(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	wb.send(inbox)
	if err := wb.srv.WaitQueueEmpty(ctx); err != nil {
		b.Fatal(err)
	}
	opts := WatchOptions{Drop: b.TempDir(), IncludeExisting: true}
	opts.defaults()
	dl, err := wb.d.openDeliverer(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer dl.Close()
	if err := dl.start(); err != nil {
		b.Fatal(err)
	}
	delivered := 0
	event := func(ev WatchEvent) {
		if ev.Kind == EventDelivered {
			delivered++
		}
	}
	a, err := pickAccount(wb.d.Accounts(), "")
	if err != nil {
		b.Fatal(err)
	}
	opts.Event = event
	w := &watcher{d: wb.d, opts: opts, acct: a, dl: dl}
	round := func() { // the watch's round: Fetch and deliverAll, the audit log held
		ferr, derr := w.round(ctx)
		if ferr != nil || derr != nil {
			b.Fatal(ferr, derr)
		}
	}
	round() // the inbox there before: the first round of the watch
	if delivered != inbox {
		b.Fatalf("%d of %d documents dropped", delivered, inbox)
	}
	stopProfile := startBenchProfile(b)
	var cpu, wall time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		wb.send(1)
		if err := wb.srv.WaitQueueEmpty(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0, t0 := cpuTime(), time.Now()
		round()
		cpu += cpuTime() - c0
		wall += time.Since(t0)
	}
	b.StopTimer()
	stopProfile()
	if delivered != inbox+b.N {
		b.Fatalf("%d of %d documents dropped", delivered, inbox+b.N)
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/round")
	b.ReportMetric(float64(wall.Microseconds())/1000/float64(b.N), "ms/round")
}
