// Command inboxstore measures the inbox store (receive.Store) with real
// verification, for bench/inbox-store: how many small signed and
// encrypted messages per second it stores, and whether the cost per
// message stays the same as the store grows.
//
//	inboxstore gen -n 10000 -out DIR      compose the messages (alice to bob, TEST ONLY keys)
//	inboxstore commit -in DIR             Stage + Commit each one, with receive.Verify
//	inboxstore fetch -in DIR              the first Inbox.Fetch of all of them from an
//	                                      in-process IMAP server (go-imap's memory server, loopback)
//
// It prints the rate of every window of -window messages, then one summary
// line "RESULT mode=... n=... seconds=... msgs_per_s=... first_window=...
// last_window=...". -max-seconds stops a run that takes too long (the
// store before the index log slows with the square of its size) and says
// how far it got.
//
// It uses only the API that receive has had since before the index log,
// so the same source builds against the old code for a side-by-side run.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: inboxstore gen|commit|fetch [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	n := fs.Int("n", 1000, "gen: number of messages")
	out := fs.String("out", "", "gen: directory for the messages")
	in := fs.String("in", "", "commit, fetch: directory of the messages")
	keys := fs.String("keys", "receive/testdata/keys", "directory of the TEST ONLY keys")
	storeDir := fs.String("store", "", "commit, fetch: store directory (a temporary one when empty)")
	window := fs.Int("window", 1000, "messages per reported window")
	maxSeconds := fs.Float64("max-seconds", 0, "stop after this long (0: no limit)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	fs.Parse(os.Args[2:])
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "inboxstore:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(*keys, *out, *n)
	case "commit", "fetch":
		err = run(os.Args[1], *keys, *in, *storeDir, *window, time.Duration(*maxSeconds*float64(time.Second)))
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "inboxstore:", err)
		os.Exit(1)
	}
}

func readKey(dir, name string) (*pgp.Key, error) {
	data, err := os.ReadFile(filepath.Join(dir, "test_only_"+name+".sec.asc"))
	if err != nil {
		return nil, err
	}
	return pgp.ReadSecretKey(bytes.NewReader(data), nil)
}

// gen writes n small messages signed by alice and encrypted to bob, each
// with its own Message-ID and a 2 KB document of its own.
func gen(keys, out string, n int) error {
	alice, err := readKey(keys, "alice")
	if err != nil {
		return err
	}
	bob, err := readKey(keys, "bob")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "inboxstore-gen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for i := range n {
		doc := filepath.Join(tmp, "script.pdf")
		content := make([]byte, 2048)
		rand.Read(content)
		copy(content, "%PDF-1.4\n")
		if err := os.WriteFile(doc, content, 0o600); err != nil {
			return err
		}
		m := &send.Message{
			From: mail.Address{Name: "Dr Alice Test", Address: "alice@clinic.test"}, To: []mail.Address{{Address: "bob@pharmacy.test"}},
			Subject: fmt.Sprintf("Prescription %d", i), Note: "Please dispense as written.",
			Documents: []send.Document{{Path: doc}}, MessageID: fmt.Sprintf("bench-%06d@clinic.test", i),
			Date: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		}
		var b bytes.Buffer
		p := send.Protection{Signer: alice, Recipients: []*pgp.PublicKey{bob.Public()}, Encrypt: true}
		if _, err := send.ComposeProtected(&b, m, p); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, fmt.Sprintf("%06d.eml", i)), b.Bytes(), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// verifier is receive.Verify with bob's secret key and alice pinned, the
// keys read once (as a fetch keeps them unlocked).
func verifier(keys string) (receive.VerifyFunc, func(), error) {
	alice, err := readKey(keys, "alice")
	if err != nil {
		return nil, nil, err
	}
	bob, err := readKey(keys, "bob")
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "inboxstore-keys-")
	if err != nil {
		return nil, nil, err
	}
	ks, err := pgp.OpenStore(dir, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range []*pgp.Key{alice, bob} {
		var buf bytes.Buffer
		if err := k.Public().WriteArmored(&buf); err != nil {
			return nil, nil, err
		}
		if _, err := ks.Import(&buf, pgp.ImportOptions{Pin: true}); err != nil {
			return nil, nil, err
		}
	}
	verify := func(ctx context.Context, raw io.Reader, sink receive.DocumentSink) (*receive.Report, error) {
		return receive.Verify(ctx, raw, receive.VerifyOptions{Store: ks, Secret: []*pgp.Key{bob}, Sink: sink})
	}
	return verify, func() { os.RemoveAll(dir) }, nil
}

// meter prints the rate of each window of messages.
type meter struct {
	window      int
	start, last time.Time
	rates       []float64
}

func (m *meter) done(i int) {
	if i%m.window != 0 {
		return
	}
	now := time.Now()
	r := float64(m.window) / now.Sub(m.last).Seconds()
	m.rates = append(m.rates, r)
	fmt.Printf("  %6d messages  %7.1f s  window %7.1f msgs/s\n", i, now.Sub(m.start).Seconds(), r)
	m.last = now
}

func run(mode, keys, in, storeDir string, window int, limit time.Duration) error {
	files, err := filepath.Glob(filepath.Join(in, "*.eml"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no messages in %s", in)
	}
	sort.Strings(files)
	verify, cleanup, err := verifier(keys)
	if err != nil {
		return err
	}
	defer cleanup()
	if storeDir == "" {
		tmp, err := os.MkdirTemp("", "inboxstore-store-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		storeDir = filepath.Join(tmp, "inbox")
	}
	key := make([]byte, atrest.KeySize)
	rand.Read(key)
	st, err := receive.OpenStore(storeDir, key, nil)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	m := &meter{window: window, start: time.Now()}
	m.last = m.start
	done := 0
	switch mode {
	case "commit":
		for _, f := range files {
			if ctx.Err() != nil {
				break
			}
			if err := commitFile(ctx, st, f, verify); err != nil {
				if ctx.Err() != nil {
					break // -max-seconds reached during this message
				}
				return err
			}
			done++
			m.done(done)
		}
	case "fetch":
		c, stop, err := memServer(files)
		if err != nil {
			return err
		}
		defer stop()
		m.start = time.Now() // the server is filled: time only the fetch
		m.last = m.start
		in := &receive.Inbox{Store: st, Verify: verify}
		_, err = in.Fetch(ctx, c, receive.FetchOptions{Account: "bench", Progress: func(d, _ int) { done = d; m.done(d) }})
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
	secs := time.Since(m.start).Seconds()
	items, err := st.List()
	if err != nil {
		return err
	}
	if len(items) != done {
		return fmt.Errorf("%d messages done but %d items stored", done, len(items))
	}
	for _, it := range items {
		if it.Verdict != receive.Verified {
			return fmt.Errorf("item %s: verdict %s, want verified", it.ID, it.Verdict)
		}
	}
	first, last := 0.0, 0.0
	if len(m.rates) > 0 {
		first, last = m.rates[0], m.rates[len(m.rates)-1]
	}
	status := "complete"
	if done < len(files) {
		status = fmt.Sprintf("stopped-after-%.0fs", limit.Seconds())
	}
	fmt.Printf("RESULT mode=%s n=%d of=%d status=%s seconds=%.1f msgs_per_s=%.1f first_window=%.1f last_window=%.1f\n",
		mode, done, len(files), status, secs, float64(done)/secs, first, last)
	return nil
}

func commitFile(ctx context.Context, st *receive.Store, path string, verify receive.VerifyFunc) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	staged, err := st.Stage(f)
	if err != nil {
		return err
	}
	defer staged.Discard()
	_, added, err := st.Commit(ctx, staged, receive.Source{Account: "bench"}, verify)
	if err != nil {
		return err
	}
	if !added {
		return fmt.Errorf("%s: not added", path)
	}
	return nil
}

// memServer starts go-imap's in-memory IMAP server on loopback with the
// messages in INBOX and returns a logged-in client.
func memServer(files []string) (*imapclient.Client, func(), error) {
	mem := imapmemserver.New()
	u := imapmemserver.NewUser("bench", "bench-password")
	if err := u.Create("INBOX", nil); err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		if _, err := u.Append("INBOX", literal{bytes.NewReader(data), int64(len(data))}, &imap.AppendOptions{}); err != nil {
			return nil, nil, err
		}
	}
	mem.AddUser(u)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	c, err := imapclient.DialInsecure(ln.Addr().String(), nil)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	if err := c.Login("bench", "bench-password").Wait(); err != nil {
		c.Close()
		srv.Close()
		return nil, nil, err
	}
	return c, func() { c.Close(); srv.Close() }, nil
}

type literal struct {
	*bytes.Reader
	size int64
}

func (l literal) Size() int64 { return l.size }
