package outbox_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// Distinctive content that must never appear in clear on disk.
const (
	testSubject = "Prescription for Jane Doe NHI ZZZ0016"
	testNote    = "Please dispense amoxicillin 500mg for Jane Doe"
	testFrom    = "dr.smith@clinic.example"
	testTo      = "dispensary@pharmacy.example"
	testDocName = "JaneDoe-script.pdf"
)

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// testKeychain is a namespace of the real OS keychain private to the test.
func testKeychain(t testing.TB) *keychain.Keychain {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	kc := keychain.New("securesend-test-outbox-" + hex.EncodeToString(b))
	if _, err := kc.Get("probe"); errors.Is(err, keychain.ErrUnavailable) {
		t.Fatalf("no OS keychain: run the tests via scripts/with-keyring.sh (%v)", err)
	}
	t.Cleanup(func() { kc.Delete("outbox") })
	return kc
}

// fixture is an outbox with its keychain, audit log, clock and server.
type fixture struct {
	t     *testing.T
	dir   string
	kc    *keychain.Keychain
	key   []byte
	clock *clock
	log   *audit.Log
	srv   *server
	ob    *outbox.Outbox
	docs  string // directory of the documents
}

func newFixture(t *testing.T, opts outbox.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: filepath.Join(t.TempDir(), "outbox"), kc: testKeychain(t), clock: newClock(), docs: t.TempDir()}
	key, err := f.kc.Key("outbox")
	if err != nil {
		t.Fatal(err)
	}
	f.key = key
	f.log, err = audit.Open(filepath.Join(t.TempDir(), "audit.log"), f.kc, audit.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = newServer(t)
	f.ob = f.open(opts)
	return f
}

// open opens the fixture's outbox directory again (a restart).
func (f *fixture) open(opts outbox.Options) *outbox.Outbox {
	f.t.Helper()
	opts.Now = f.clock.Now
	opts.Audit = f.log
	ob, err := outbox.Open(f.dir, f.key, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return ob
}

// message returns a message with one document of size bytes of
// distinctive content, and that content.
func (f *fixture) message(size int) (*send.Message, []byte) {
	f.t.Helper()
	doc := make([]byte, size)
	copy(doc, "%PDF-1.4\n")
	rand.Read(doc[9:])
	path := filepath.Join(f.docs, testDocName)
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		f.t.Fatal(err)
	}
	id, err := send.NewMessageID("clinic.example")
	if err != nil {
		f.t.Fatal(err)
	}
	return &send.Message{
		From:      mail.Address{Name: "Dr A. Smith", Address: testFrom},
		To:        []mail.Address{{Address: testTo}},
		Subject:   testSubject,
		Note:      testNote,
		Documents: []send.Document{{Path: path, ContentType: "application/pdf"}},
		MessageID: id,
		Date:      f.clock.Now(),
	}, doc
}

// enqueue stores m in the outbox.
func (f *fixture) enqueue(m *send.Message) string {
	f.t.Helper()
	id, err := f.ob.Enqueue(f.t.Context(), jobOf(m), composer(m))
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// enqueueSpoiled stores a message with a document of size bytes and
// replaces its stored (encrypted) file with what spoil makes of it.
func (f *fixture) enqueueSpoiled(size int, spoil func(*testing.T, []byte) []byte) string {
	f.t.Helper()
	m, _ := f.message(size)
	id := f.enqueue(m)
	path := filepath.Join(f.dir, id+".msg")
	b, err := os.ReadFile(path)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, spoil(f.t, b), 0o600); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// truncate100 cuts the last 100 bytes off a stored file (see enqueueSpoiled).
func truncate100(_ *testing.T, b []byte) []byte { return b[:len(b)-100] }

func jobOf(m *send.Message) outbox.Job {
	var to []string
	for _, a := range m.To {
		to = append(to, a.Address)
	}
	return outbox.Job{Account: "clinic", Envelope: send.Envelope{From: m.From.Address, To: to}, MessageID: m.MessageID}
}

func composer(m *send.Message) outbox.ComposeFunc {
	return func(w io.Writer) ([]send.DocumentInfo, error) { return send.Compose(w, m) }
}

func (f *fixture) get(id string) *outbox.Record {
	f.t.Helper()
	rec, err := f.ob.Get(id)
	if err != nil {
		f.t.Fatal(err)
	}
	return rec
}

// runDue runs RunDue with the real submission to the test server.
func (f *fixture) runDue() []*outbox.Record {
	f.t.Helper()
	recs, err := f.ob.RunDue(f.t.Context(), f.srv.submit)
	if err != nil {
		f.t.Fatal(err)
	}
	return recs
}

// auditKinds lists the kinds in the audit log, checking it verifies.
func (f *fixture) auditKinds() []audit.Kind {
	f.t.Helper()
	if _, err := f.log.Verify(); err != nil {
		f.t.Fatalf("audit verify: %v", err)
	}
	var buf jsonEntries
	if err := f.log.Export(&buf, audit.JSON, time.Time{}); err != nil {
		f.t.Fatal(err)
	}
	var kinds []audit.Kind
	for _, e := range buf.entries(f.t) {
		kinds = append(kinds, e.Kind)
	}
	return kinds
}
