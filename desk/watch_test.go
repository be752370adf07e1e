package desk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securesend/securesend/account/accounttest"
	"github.com/securesend/securesend/internal/deliverjournal"
)

// watchDesk is a Desk of Bob's with an account on an in-process IMAP
// server (STARTTLS, IDLE), nothing fetched yet.
func watchDesk(t *testing.T) (*Desk, *accounttest.IMAPServer) {
	t.Helper()
	d, _, srv := bobsIMAPDesk(t)
	return d, srv
}

// events collects WatchEvents, safe for the watch's goroutine.
type events struct {
	mu  sync.Mutex
	all []WatchEvent
}

func (e *events) add(ev WatchEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) count(k WatchEventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.all {
		b.WriteString(string(ev.Kind) + " #" + ev.Item + " " + ev.Dest + " " + ev.Detail)
		if ev.Err != nil {
			b.WriteString(" err=" + ev.Err.Error())
		}
		b.WriteString("\n")
	}
	return b.String()
}

// dropped lists the drop folder, names sorted.
func dropped(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// verifiedDoc is the prescription in good_encrypted.eml, as Bob's
// inbox verified it: its name and SHA-256.
func verifiedDoc(t *testing.T, d *Desk) (name, sum string) {
	t.Helper()
	all, err := d.ReceivedAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if Trusted(r.Report) {
			return r.Report.Documents[0].Name, r.Report.Documents[0].SHA256
		}
	}
	t.Fatal("no verified item")
	return "", ""
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestWatchOnceDropsOnlyVerified: of a verified message delivered twice
// (the store keeps it once), an unknown signer, an unsigned message, a tampered body and a
// tampered ciphertext, exactly one document and its sidecar reach the
// drop folder, byte-identical to what was verified; a second run drops
// nothing more.
func TestWatchOnceDropsOnlyVerified(t *testing.T) {
	d, srv := watchDesk(t)
	for _, n := range []string{"good_encrypted.eml", "good_encrypted.eml", "unknown_signer.eml", "not_signed.eml",
		"bad_signature_body_altered.eml", "cannot_decrypt_tampered_ciphertext.eml", "unknown_signer_encrypted.eml"} {
		srv.Deliver(t, testdata(t, n))
	}
	drop := t.TempDir()
	var ev events
	if err := d.Watch(context.Background(), WatchOptions{Drop: drop, Once: true, Event: ev.add}); err != nil {
		t.Fatal(err)
	}
	name, sum := verifiedDoc(t, d)
	files := dropped(t, drop)
	if len(files) != 2 || !strings.HasSuffix(files[0], "-1-"+name) || files[1] != files[0]+".json" {
		t.Fatalf("drop folder %v, want the one verified document and its sidecar\n%s", files, &ev)
	}
	got, err := os.ReadFile(filepath.Join(drop, files[0]))
	if err != nil || sha(got) != sum {
		t.Errorf("dropped document SHA-256 %s, verified %s (%v)", sha(got), sum, err)
	}
	var side sidecar
	b, _ := os.ReadFile(filepath.Join(drop, files[1]))
	if err := json.Unmarshal(b, &side); err != nil || side.Report == nil || !Trusted(side.Report) || side.SHA256 != sum || side.File != files[0] {
		t.Errorf("sidecar %s (%v)", b, err)
	}
	if ev.count(EventDelivered) != 1 || ev.count(EventNotDelivered) != 5 {
		t.Errorf("events:\n%s", &ev)
	}
	// Again: nothing new.
	var again events
	if err := d.Watch(context.Background(), WatchOptions{Drop: drop, Once: true, Event: again.add}); err != nil {
		t.Fatal(err)
	}
	if f := dropped(t, drop); len(f) != 2 || again.count(EventDelivered) != 0 {
		t.Errorf("second run: %v\n%s", f, &again)
	}
}

// TestWatchSkipsExistingInbox: a destination watched for the first time
// does not get the inbox's history unless asked.
func TestWatchSkipsExistingInbox(t *testing.T) {
	d, srv := watchDesk(t)
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	if _, err := d.Fetch(context.Background(), FetchOptions{}); err != nil {
		t.Fatal(err)
	}
	skip, all := t.TempDir(), t.TempDir()
	if err := d.Watch(context.Background(), WatchOptions{Drop: skip, Once: true}); err != nil {
		t.Fatal(err)
	}
	if f := dropped(t, skip); len(f) != 0 {
		t.Errorf("history dropped: %v", f)
	}
	if err := d.Watch(context.Background(), WatchOptions{Drop: all, Once: true, IncludeExisting: true}); err != nil {
		t.Fatal(err)
	}
	if f := dropped(t, all); len(f) != 2 {
		t.Errorf("with IncludeExisting: %v", f)
	}
}

// TestWatchIdleDropsWithin5s: a message delivered while the watch idles
// is dropped within 5 seconds.
func TestWatchIdleDropsWithin5s(t *testing.T) {
	d, srv := watchDesk(t)
	drop := t.TempDir()
	var ev events
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Watch(ctx, WatchOptions{Drop: drop, Event: ev.add}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	}()
	waitFor(t, 10*time.Second, func() bool { return ev.count(EventFetched) > 0 }, &ev)
	time.Sleep(300 * time.Millisecond) // in IDLE
	start := time.Now()
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	waitFor(t, 5*time.Second, func() bool { return len(dropped(t, drop)) == 2 }, &ev)
	t.Logf("dropped %v after delivery", time.Since(start).Round(time.Millisecond))
}

// waitFor polls cond until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, cond func() bool, ev *events) {
	t.Helper()
	end := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("not within %v; events:\n%s", limit, ev)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWatchNeedsADestination: nowhere to deliver is refused.
func TestWatchNeedsADestination(t *testing.T) {
	d, _ := testDesk(t)
	if err := d.Watch(context.Background(), WatchOptions{Once: true}); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("Watch with no destination: %v", err)
	}
}

// TestWatchDropRecovery: a crash between the intent and its record is
// settled on the next start: a temporary file still there means the
// document never appeared (dropped again), a final file there means it
// did (not again).
func TestWatchDropRecovery(t *testing.T) {
	d, srv := watchDesk(t)
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	drop := t.TempDir()
	if err := d.Watch(context.Background(), WatchOptions{Drop: drop, Once: true}); err != nil {
		t.Fatal(err)
	}
	files := dropped(t, drop)
	if len(files) != 2 {
		t.Fatalf("drop %v", files)
	}
	jpath := filepath.Join(d.Home().Path("watch"), "drop-"+shortHash(drop)+".journal")
	j, err := deliverjournal.Open(jpath, d.Keychain())
	if err != nil {
		t.Fatal(err)
	}
	done := j.Entries()[0]
	// Crash after the temporary file was made and the intent recorded.
	tmp := filepath.Join(drop, ".securesend-crash.part")
	os.WriteFile(tmp, []byte("half"), 0o600)
	os.Remove(filepath.Join(drop, files[0]))
	intent := done
	intent.State = deliverjournal.Intent
	in, _ := json.Marshal(dropIntent{Temp: tmp, Final: filepath.Join(drop, files[0])})
	intent.Detail = string(in)
	if err := j.Record(intent); err != nil {
		t.Fatal(err)
	}
	j.Close()
	var ev events
	if err := d.Watch(context.Background(), WatchOptions{Drop: drop, Once: true, Event: ev.add}); err != nil {
		t.Fatal(err)
	}
	if f := dropped(t, drop); !slices.Equal(f, files) || ev.count(EventDelivered) != 1 {
		t.Errorf("after a crash before the rename: %v, events\n%s", f, &ev)
	}
	// Crash after the rename: the file is there, the record says intent.
	j, err = deliverjournal.Open(jpath, d.Keychain())
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Record(intent); err != nil {
		t.Fatal(err)
	}
	j.Close()
	var ev2 events
	if err := d.Watch(context.Background(), WatchOptions{Drop: drop, Once: true, Event: ev2.add}); err != nil {
		t.Fatal(err)
	}
	if f := dropped(t, drop); !slices.Equal(f, files) || ev2.count(EventDelivered) != 0 {
		t.Errorf("after a crash after the rename: %v, events\n%s", f, &ev2)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file left: %v", err)
	}
}

// TestWatchIdleRenewed: IDLE is ended and started again every IdleCycle
// (the connection's silence limit counts IDLE as a response awaited);
// many renewals later, the connection is still up and new mail is still
// noticed.
func TestWatchIdleRenewed(t *testing.T) {
	d, srv := watchDesk(t)
	drop := t.TempDir()
	var ev events
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- d.Watch(ctx, WatchOptions{Drop: drop, Event: ev.add, IdleCycle: 200 * time.Millisecond})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	}()
	waitFor(t, 10*time.Second, func() bool { return ev.count(EventFetched) > 0 }, &ev)
	time.Sleep(2 * time.Second) // about ten renewals
	srv.Deliver(t, testdata(t, "good_encrypted.eml"))
	waitFor(t, 5*time.Second, func() bool { return len(dropped(t, drop)) == 2 }, &ev)
	if n := ev.count(EventDisconnected) + ev.count(EventConnected) - 1; n != 0 {
		t.Errorf("the connection was renewed, not the IDLE:\n%s", &ev)
	}
}
