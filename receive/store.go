package receive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/filelock"
	"github.com/securesend/securesend/internal/sealedlog"
)

// VerifyFunc verifies one raw RFC 5322 message, handing each document to
// sink as it is parsed. securesend wires Verify with the user's keys; tests
// may use a simpler verifier.
type VerifyFunc func(ctx context.Context, raw io.Reader, sink DocumentSink) (*Report, error)

// Source says where a stored message came from.
type Source struct {
	// Account is the securesend account name.
	Account string `json:"account"`
	// Mailbox, UIDValidity and UID locate the message on the IMAP server.
	Mailbox     string `json:"mailbox,omitempty"`
	UIDValidity uint32 `json:"uidvalidity,omitempty"`
	UID         uint32 `json:"uid,omitempty"`
}

// Duplicate points at an earlier item that carried the same message or the
// same document: a prescription sent twice must not be dispensed twice.
type Duplicate struct {
	// Kind is "message-id" (same Message-ID) or "document" (a document
	// with the same SHA-256).
	Kind string `json:"kind"`
	// SHA256 is the document's hash, for Kind "document".
	SHA256 string `json:"sha256,omitempty"`
	// Of is the ID of the earliest item it duplicates.
	Of string `json:"of"`
}

// StoredDocument is the index entry of one document of an item.
type StoredDocument struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// File is the encrypted file in the item's directory.
	File string `json:"file"`
}

// Item is the index entry of one received message. It holds no patient
// content (no subject, note or document names): those are in the
// encrypted report, see Store.Report.
type Item struct {
	// ID is the item's number in this store, "1", "2", ...
	ID       string    `json:"id"`
	Received time.Time `json:"received"`
	Source   Source    `json:"source"`
	// MessageID is the message's Message-ID without angle brackets.
	MessageID         string           `json:"message_id,omitempty"`
	Verdict           Verdict          `json:"verdict"`
	From              string           `json:"from"`
	SignerFingerprint string           `json:"signer_fingerprint,omitempty"`
	Documents         []StoredDocument `json:"documents"`
	// RawSHA256 is the hash of the message as fetched; the same bytes
	// fetched again (after a UIDVALIDITY change) are not stored twice.
	RawSHA256 string `json:"raw_sha256"`
	// Duplicates is non-empty when this message or one of its documents
	// arrived before.
	Duplicates []Duplicate `json:"duplicates,omitempty"`
	// Archived is the server mailbox the message was moved to at the
	// user's request (see Inbox.Archive); "" while it is where it arrived.
	Archived string `json:"archived,omitempty"`
	// Superseded, set when read, says that the sender cancelled or
	// replaced this message (supersede.go): show it in red, and open its
	// documents only after asking.
	Superseded *Supersession `json:"superseded,omitempty"`
	// Supersedes, set when read, is what this message did as a
	// cancellation or replacement of another; Refused is shown in red.
	Supersedes *SupersedeClaim `json:"supersedes,omitempty"`
}

// Store is the local store of received messages below a directory (the
// inbox directory of the securesend home). Messages, reports and documents
// are encrypted at rest with a key from the keychain (read once by the
// caller, for the life of the Store). So is the index (index.log): an
// append-only log of sealed records (internal/sealedlog) holding the items,
// the fetch positions and the failure records; a commit appends one record,
// so its cost does not grow with the size of the store.
//
// Each Store keeps the index in memory, built from the log once and then
// brought up to date with what other processes appended (one stat per
// call when nothing changed). Duplicates are found through maps by hash
// and Message-ID.
//
// Writers in one process and in several (the GUI and a CLI command) take
// turns: each append holds the store's lock file. Readers need no lock: the
// log is only appended to, or replaced whole by a rename when it is
// compacted.
//
// A store written before the log (index.json and state.json) is migrated
// when it is opened.
type Store struct {
	dir    string
	key    []byte
	now    func() time.Time
	writer *filelock.Mutex // the lock file "lock"
	log    *sealedlog.Log

	anchor *anchor // nil: the log is not anchored (OpenStore)

	mu       sync.Mutex // guards the fields below
	idx      *memIndex
	cursor   sealedlog.Cursor
	loaded   bool      // idx and cursor were read from the start and checked against the anchor
	lastSync time.Time // of the log, by this Store
	cleaned  bool      // whether items/ was searched for stale staging directories
}

// ErrNoItem is returned for an unknown item ID.
var ErrNoItem = errors.New("no such inbox item")

// logLabel names the index log's use of the at-rest key.
const logLabel = "securesend inbox index"

// OpenStore opens (creating) the store in dir with the at-rest key (see
// keychain.Key), migrating a store of the earlier format. now is the
// clock; time.Now when nil. The index log is not anchored: an older copy
// of it put back goes unnoticed. securesend uses OpenAnchoredStore.
func OpenStore(dir string, key []byte, now func() time.Time) (*Store, error) {
	return OpenAnchoredStore(dir, key, nil, now)
}

// OpenAnchoredStore is OpenStore with the head of the index log (its
// file's salt and record count after each durable write) kept in heads,
// the keychain that holds key, under "inbox-head-HASH" (HASH from the
// store's absolute path). Every reading of the log from its start must
// reach that head, so an older copy of index.log put back, the log cut
// short by whole records, or removed, is refused with ErrIndexRolledBack
// instead of read (which would forget items, failure records and fetch
// positions, and fetch again what was stored). A store anchored for the
// first time is trusted as it is. heads may be nil (OpenStore).
func OpenAnchoredStore(dir string, key []byte, heads HeadKeeper, now func() time.Time) (*Store, error) {
	if len(key) != atrest.KeySize {
		return nil, atrest.ErrKeySize
	}
	for _, sub := range []string{"items", "staging"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
	}
	if now == nil {
		now = time.Now
	}
	log, err := sealedlog.Open(filepath.Join(dir, "index.log"), key, logLabel)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	s := &Store{dir: dir, key: key, now: now, writer: &filelock.Mutex{Path: filepath.Join(dir, "lock")}, log: log, idx: newMemIndex()}
	if heads != nil {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("inbox: %w", err)
		}
		s.anchor = newAnchor(heads, abs)
	}
	if err := s.migrate(); err != nil {
		return nil, err
	}
	return s, nil
}

// lock takes the store's write lock, for this process and the others.
func (s *Store) lock() (unlock func(), err error) {
	unlock, err = s.writer.Lock()
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return unlock, nil
}

// lockFresh takes the write lock and s.mu and brings the index up to date
// under them; release lets go of both.
func (s *Store) lockFresh() (idx *memIndex, release func(), err error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	if idx, err = s.refresh(); err != nil {
		s.mu.Unlock()
		unlock()
		return nil, nil, err
	}
	return idx, func() { s.mu.Unlock(); unlock() }, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// refresh brings the in-memory index up to date with the log; s.mu must
// be held. The first time, and when another process compacted the log,
// the index is built from the start of the file (see load).
func (s *Store) refresh() (*memIndex, error) {
	if !s.loaded {
		return s.load()
	}
	next, reset, err := s.log.Read(s.cursor, s.idx.apply)
	if err == nil && reset {
		// The records just read were applied to the index of the old
		// file: start again from the new one.
		return s.load()
	}
	if err != nil {
		// A record that fails to apply leaves the index part-built.
		s.idx, s.cursor, s.loaded = newMemIndex(), sealedlog.Cursor{}, false
		return nil, fmt.Errorf("inbox: index: %w", err)
	}
	s.cursor = next
	return s.idx, nil
}

// load builds the index from the start of the log and checks that it
// reaches the anchor's head. The head is read before the file: it only
// ever names a write already on disk, so a log read after it reaches it
// unless the log was rolled back, or replaced by a compaction meanwhile
// (then the next attempt reads the new head and file). s.mu is held.
func (s *Store) load() (*memIndex, error) {
	s.idx, s.cursor, s.loaded = newMemIndex(), sealedlog.Cursor{}, false
	for attempt := 1; ; attempt++ {
		var heads []sealedlog.Head
		if s.anchor != nil {
			var err error
			if heads, err = s.anchor.load(); err != nil {
				return nil, err
			}
		}
		idx := newMemIndex()
		c, _, err := s.log.Read(sealedlog.Cursor{}, idx.apply)
		if err != nil {
			return nil, fmt.Errorf("inbox: index: %w", err)
		}
		if reachesAny(c, heads) {
			s.idx, s.cursor, s.loaded = idx, c, true
			return idx, nil
		}
		if attempt == 3 {
			return nil, rolledBack(c, heads)
		}
	}
}

// List returns all items, oldest first.
func (s *Store) List() ([]Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.refresh()
	if err != nil {
		return nil, err
	}
	items := slices.Clone(idx.items)
	for i := range items {
		idx.decorate(&items[i])
	}
	return items, nil
}

// ListFrom returns the items after the first n, oldest first, and the
// number of items in the store, so that a reader that keeps the count
// (the inbox watch) reads only what was added since: its cost does not
// grow with the number of items already there. Items are never removed
// or reordered, compaction included. An n beyond the store's count (the
// index was replaced by an older one and accepted, see TrustIndex) gets
// every item, from the first.
func (s *Store) ListFrom(n int) (items []Item, total int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.refresh()
	if err != nil {
		return nil, 0, err
	}
	total = len(idx.items)
	if n < 0 || n > total {
		n = 0
	}
	items = slices.Clone(idx.items[n:])
	for i := range items {
		idx.decorate(&items[i])
	}
	return items, total, nil
}

// SupersessionsFor returns, oldest first, the items among ids that
// cancel or replace a message (Item.Supersedes is set), and the items
// whose cancellation or replacement names one of msgIDs: what a fetch
// that stored the items ids, with the Message-IDs msgIDs, has to report
// about cancellations and replacements. Its cost is that of the items
// named, not of the store.
func (s *Store) SupersessionsFor(ids, msgIDs []string) ([]Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.refresh()
	if err != nil {
		return nil, err
	}
	at := map[int]bool{}
	for _, id := range ids {
		if _, ok := idx.claimBy[id]; ok {
			if i, ok := idx.byID[id]; ok {
				at[i] = true
			}
		}
	}
	for _, m := range msgIDs {
		for _, c := range idx.claims[m] {
			if i, ok := idx.byID[c.ID]; ok {
				at[i] = true
			}
		}
	}
	out := make([]Item, 0, len(at))
	for _, i := range slices.Sorted(maps.Keys(at)) {
		it := idx.items[i]
		idx.decorate(&it)
		out = append(out, it)
	}
	return out, nil
}

// MarkedCopiesFor returns, oldest first, the unverified copies that a
// cancellation or replacement marks (Item.Superseded.CopyOf is set) among
// the items ids, the items with one of msgIDs, and the items carrying a
// Message-ID that one of the items ids cancels or replaces: the other
// half of what a fetch that stored the items ids reports (SupersessionsFor
// gives the claims). Its cost is that of the items named, not of the
// store.
func (s *Store) MarkedCopiesFor(ids, msgIDs []string) ([]Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.refresh()
	if err != nil {
		return nil, err
	}
	at := map[int]bool{}
	for _, id := range ids {
		i, ok := idx.byID[id]
		if !ok {
			continue
		}
		at[i] = true
		if c, ok := idx.claimBy[id]; ok {
			for _, j := range idx.byMsgIDs[c.Target] {
				at[j] = true
			}
		}
	}
	for _, m := range msgIDs {
		for _, j := range idx.byMsgIDs[m] {
			at[j] = true
		}
	}
	var out []Item
	for _, i := range slices.Sorted(maps.Keys(at)) {
		it := idx.items[i]
		idx.decorate(&it)
		if it.Superseded != nil && it.Superseded.CopyOf != "" {
			out = append(out, it)
		}
	}
	return out, nil
}

// Get returns the item with id.
func (s *Store) Get(id string) (*Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.refresh()
	if err != nil {
		return nil, err
	}
	i, ok := idx.byID[id]
	if !ok {
		return nil, fmt.Errorf("inbox: item %q: %w", id, ErrNoItem)
	}
	it := idx.items[i]
	idx.decorate(&it)
	return &it, nil
}

// Report decrypts and returns the full verification report of item id
// (subject, note, document names). Document paths in it name the
// encrypted files; use OpenDocument to read them.
func (s *Store) Report(id string) (*Report, error) {
	it, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(s.itemDir(id), "report.json.enc"))
	if err != nil {
		return nil, fmt.Errorf("inbox: item %s: %w", id, err)
	}
	defer f.Close()
	r, err := atrest.Decrypt(f, s.key)
	if err != nil {
		return nil, fmt.Errorf("inbox: item %s: %w", id, err)
	}
	var rep Report
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		return nil, fmt.Errorf("inbox: item %s report: %w", id, err)
	}
	// Read to the end so that the integrity check runs.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return nil, fmt.Errorf("inbox: item %s: %w", id, err)
	}
	if err := reportMatches(&rep, it); err != nil {
		return nil, fmt.Errorf("inbox: item %s: %w", id, err)
	}
	return &rep, nil
}

// ErrReportMismatch means an item's report does not describe the item
// the index records: the report file was swapped with another item's.
var ErrReportMismatch = errors.New("the report file belongs to another message (files were swapped); do not use it")

// reportMatches checks that rep is the report of it: every item file is
// encrypted with the same key, so a report moved from another item
// decrypts too. The index, which is authenticated, holds the message's
// Message-ID, sender, verdict and document hashes.
func reportMatches(rep *Report, it *Item) error {
	ok := strings.Trim(strings.TrimSpace(rep.MessageID), "<>") == it.MessageID &&
		rep.From == it.From && rep.Verdict == it.Verdict && len(rep.Documents) == len(it.Documents)
	for i := 0; ok && i < len(rep.Documents); i++ {
		ok = strings.EqualFold(rep.Documents[i].SHA256, it.Documents[i].SHA256)
	}
	if !ok {
		return ErrReportMismatch
	}
	return nil
}

// OpenDocument returns a reader of the plaintext of document n (0-based) of
// item id. The reader fails with atrest.ErrTampered if the file was
// altered, or is not the one the index records (its SHA-256 and size
// differ: another item's file put in its place); callers must read to
// io.EOF before trusting what they got.
func (s *Store) OpenDocument(id string, n int) (io.ReadCloser, error) {
	it, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	if n < 0 || n >= len(it.Documents) {
		return nil, fmt.Errorf("inbox: item %s has no document %d", id, n+1)
	}
	d := it.Documents[n]
	r, err := s.openEncrypted(filepath.Join(s.itemDir(id), d.File))
	if err != nil {
		return nil, err
	}
	return newHashCheck(r, d.SHA256, d.Size, d.File), nil
}

// OpenMessage returns a reader of the raw message of item id. Like
// OpenDocument's, it fails with atrest.ErrTampered at the end when the
// file is not the message the index records.
func (s *Store) OpenMessage(id string) (io.ReadCloser, error) {
	it, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	r, err := s.openEncrypted(filepath.Join(s.itemDir(id), "message.eml.enc"))
	if err != nil {
		return nil, err
	}
	return newHashCheck(r, it.RawSHA256, -1, "message.eml.enc"), nil
}

// hashCheck passes a file's plaintext through and, at its end, fails with
// atrest.ErrTampered unless it hashes to want (and has size bytes, when
// size is not negative): every item file is encrypted with the same key,
// so the file of another item put in this one's place decrypts too.
type hashCheck struct {
	rc   io.ReadCloser
	h    hash.Hash
	n    int64
	want string
	size int64
	name string
}

func newHashCheck(rc io.ReadCloser, want string, size int64, name string) *hashCheck {
	return &hashCheck{rc: rc, h: sha256.New(), want: want, size: size, name: name}
}

func (c *hashCheck) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err == io.EOF && (!strings.EqualFold(hex.EncodeToString(c.h.Sum(nil)), c.want) || (c.size >= 0 && c.n != c.size)) {
		return n, fmt.Errorf("inbox: %s is not the file the index records (another item's was put in its place): %w", c.name, atrest.ErrTampered)
	}
	return n, err
}

func (c *hashCheck) Close() error { return c.rc.Close() }

func (s *Store) openEncrypted(p string) (io.ReadCloser, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	r, err := atrest.Decrypt(f, s.key)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("inbox: %s: %w", filepath.Base(p), err)
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

// Add stores one received message: Stage followed by Commit.
func (s *Store) Add(ctx context.Context, raw io.Reader, src Source, verify VerifyFunc) (item *Item, added bool, err error) {
	st, err := s.Stage(raw)
	if err != nil {
		return nil, false, err
	}
	defer st.Discard()
	return s.Commit(ctx, st, src, verify)
}

// Staged is a received message written (encrypted) to the store but not yet
// verified or listed. Commit or Discard it.
type Staged struct {
	dir     string
	rawHash string
}

// Discard removes a staged message that was not committed. It is safe to
// call after Commit.
func (st *Staged) Discard() { os.RemoveAll(st.dir) }

// Stage streams raw into an encrypted file in the store, so that the
// network connection is free again before the (slower) verification.
func (s *Store) Stage(raw io.Reader) (*Staged, error) {
	tmp, err := os.MkdirTemp(filepath.Join(s.dir, "staging"), ".new-")
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	sum, err := s.encryptTo(filepath.Join(tmp, "message.eml.enc"), raw, nil)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return &Staged{dir: tmp, rawHash: sum}, nil
}

// CommitError is the error of a Commit that failed because of the
// message (it could not be verified) or of the store (its item could not
// be written). The raw message was kept, encrypted, in the store's
// quarantine (see OpenQuarantined) unless Quarantined is false, so later
// commits go on and nothing is lost; the caller records the failure with
// RecordFailure(Source, Stage, Err).
type CommitError struct {
	Source Source
	// Stage is "verify" or "store".
	Stage       string
	Err         error
	Quarantined bool
	// RawSHA256 is the hash of the quarantined message; RecordFailure
	// keeps it, so that OpenQuarantined notices another message's file
	// put in its place.
	RawSHA256 string
}

func (e *CommitError) Error() string { return "inbox: " + e.Stage + ": " + e.Err.Error() }

func (e *CommitError) Unwrap() error { return e.Err }

// Commit verifies a staged message with verify, whose documents are
// streamed to encrypted files, stores the report (encrypted) and adds the
// item to the index with its duplicate warnings. The item's files are
// flushed to disk before its index record is written; the record is
// flushed with a later one or at most a second later (see logSyncEvery).
// If the very same bytes were stored
// before, or the message is a re-listing after a UIDVALIDITY change (see
// Inbox), nothing is added and the earlier item is returned with added ==
// false, its Source updated to src. A failure record for src is cleared
// when the message is stored. A failure that comes from the message or
// from writing its item is a *CommitError, and the message is kept in
// quarantine.
func (s *Store) Commit(ctx context.Context, st *Staged, src Source, verify VerifyFunc) (item *Item, added bool, err error) {
	unlock, err := s.lock()
	if err != nil {
		st.Discard()
		return nil, false, err
	}
	defer unlock()
	defer st.Discard() // after a successful rename or quarantine there is nothing left
	// s.mu is held only while the index is read or amended, not while the
	// message is verified, so that List and Get in this process go on;
	// the write lock keeps every other writer out meanwhile.
	s.mu.Lock()
	idx, err := s.refresh()
	if err != nil {
		s.mu.Unlock()
		return nil, false, err
	}
	s.removeStaging()
	if i, ok := idx.byRaw[st.rawHash]; ok {
		defer s.mu.Unlock()
		return s.reseen(i, src)
	}
	s.mu.Unlock()
	fail := func(stage string, err error) (*Item, bool, error) {
		if ctx.Err() != nil {
			// Stopped by the user, not the message's fault.
			return nil, false, fmt.Errorf("inbox: %s: %w", stage, err)
		}
		ce := &CommitError{Source: src, Stage: stage, Err: err}
		if ce.Quarantined = s.quarantine(st, src) == nil; ce.Quarantined {
			ce.RawSHA256 = st.rawHash
		}
		return nil, false, ce
	}

	// Verify from the encrypted copy, so the message is read from the
	// network only once and never kept in memory.
	tmp := st.dir
	msg, err := s.openEncrypted(filepath.Join(tmp, "message.eml.enc"))
	if err != nil {
		return fail("store", err)
	}
	defer msg.Close()
	docs := map[string]StoredDocument{}
	sink := func(name, contentType string, r io.Reader) (string, error) {
		file := "doc-" + strconv.Itoa(len(docs)+1) + ".enc"
		var size int64
		sum, err := s.encryptTo(filepath.Join(tmp, file), r, &size)
		if err != nil {
			return "", err
		}
		docs[file] = StoredDocument{SHA256: sum, Size: size, File: file}
		return file, nil
	}
	rep, err := verify(ctx, msg, sink)
	if err != nil {
		return fail("verify", err)
	}
	msg.Close()

	it := Item{
		Received:          s.now().UTC(),
		Source:            src,
		MessageID:         strings.Trim(strings.TrimSpace(rep.MessageID), "<>"),
		Verdict:           rep.Verdict,
		From:              rep.From,
		SignerFingerprint: rep.SignerFingerprint,
		RawSHA256:         st.rawHash,
		Documents:         []StoredDocument{},
	}
	for i := range rep.Documents {
		d := &rep.Documents[i]
		sd, ok := docs[d.Path]
		if !ok {
			return fail("verify", fmt.Errorf("the verifier reported document %q that was not stored", d.Name))
		}
		if d.SHA256 != "" && !strings.EqualFold(d.SHA256, sd.SHA256) {
			return fail("verify", fmt.Errorf("document %q: hash mismatch between verifier and store", d.Name))
		}
		d.SHA256 = sd.SHA256
		it.Documents = append(it.Documents, sd)
	}
	if err := s.writeEncryptedJSON(filepath.Join(tmp, "report.json.enc"), rep); err != nil {
		return fail("store", err)
	}
	if err := atomicfile.SyncDir(tmp); err != nil {
		return fail("store", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if i := idx.relisted(&it); i >= 0 {
		return s.reseen(i, src)
	}
	it.Duplicates = idx.duplicates(&it)
	it.ID, err = s.freeID(idx)
	if err != nil {
		return fail("store", err)
	}
	if err := os.Rename(tmp, s.itemDir(it.ID)); err != nil {
		return fail("store", err)
	}
	if err := atomicfile.SyncDir(filepath.Join(s.dir, "items")); err != nil {
		os.Rename(s.itemDir(it.ID), tmp)
		return fail("store", err)
	}
	recs := []logRecord{{Op: opItem, Item: &it}}
	if c := claimOf(&it, rep); c != nil {
		recs = append(recs, logRecord{Op: opClaim, Claim: c})
	}
	if _, ok := idx.failures[src]; ok {
		recs = append(recs, logRecord{Op: opClearFailure, Source: &src})
	}
	if err := s.append(s.syncDue(), recs...); err != nil {
		os.Rename(s.itemDir(it.ID), tmp)
		return fail("store", err)
	}
	s.removeQuarantined(src)
	s.idx.decorate(&it)
	return &it, true, nil
}

// reseen records that item i is on the server again at src (new UIDs after
// a UIDVALIDITY change), so that Archive finds it, and returns it as known.
// s.mu and the write lock are held.
func (s *Store) reseen(i int, src Source) (*Item, bool, error) {
	e := s.idx.items[i]
	var recs []logRecord
	if src.UIDValidity != 0 && e.Source.Account == src.Account && e.Source.Mailbox == src.Mailbox && e.Source != src {
		recs = append(recs, logRecord{Op: opSource, ID: e.ID, Source: &src})
	}
	if _, ok := s.idx.failures[src]; ok {
		recs = append(recs, logRecord{Op: opClearFailure, Source: &src})
	}
	if len(recs) > 0 {
		if err := s.append(true, recs...); err != nil {
			return nil, false, err
		}
		e = s.idx.items[i]
	}
	s.removeQuarantined(src)
	s.idx.decorate(&e)
	return &e, false, nil
}

// setArchived records that item id was moved to mailbox on the server.
func (s *Store) setArchived(id, mailbox string) error {
	idx, release, err := s.lockFresh()
	if err != nil {
		return err
	}
	defer release()
	if _, ok := idx.byID[id]; !ok {
		return fmt.Errorf("inbox: item %q: %w", id, ErrNoItem)
	}
	return s.append(true, logRecord{Op: opArchived, ID: id, Mailbox: mailbox})
}

// append writes recs to the index log and applies them to the in-memory
// index; with sync the log is flushed to disk first. The write lock and
// s.mu are held, and the index was refreshed under the lock. The log is
// compacted when superseded records outnumber half the live ones.
func (s *Store) append(sync bool, recs ...logRecord) error {
	data := make([][]byte, len(recs))
	for i := range recs {
		b, err := json.Marshal(&recs[i])
		if err != nil {
			return fmt.Errorf("inbox: index: %w", err)
		}
		data[i] = b
	}
	next, err := s.log.Append(s.cursor, sync, data...)
	if err != nil {
		return fmt.Errorf("inbox: index: %w", err)
	}
	if sync {
		s.lastSync = time.Now()
		// A head that fails to move stays at an earlier write, which
		// the log still reaches: the next durable write tries again.
		_ = s.anchor.save(next.Head())
	}
	s.cursor = next
	for _, b := range data {
		if err := s.idx.apply(b); err != nil {
			return fmt.Errorf("inbox: index: %w", err)
		}
	}
	if live := s.idx.live(); s.cursor.Records > uint64(live+live/2+1024) {
		// The records are written: a compaction that fails (a full
		// disk, the keychain) leaves the log as it was, and the next
		// append tries again.
		_ = s.compact()
	}
	return nil
}

// compact rewrites the log with one record per live entry. Under the
// write lock and s.mu.
func (s *Store) compact() error {
	var data [][]byte
	for _, rec := range s.idx.snapshot() {
		b, err := json.Marshal(&rec)
		if err != nil {
			return fmt.Errorf("inbox: index: %w", err)
		}
		data = append(data, b)
	}
	// The anchor accepts the old file and the new one while the new
	// one replaces the old, so that a crash on either side of the rename
	// is not taken for a rollback; then only the new one.
	old := s.cursor.Head()
	next, err := s.log.RewriteWith(func(h sealedlog.Head) error {
		return s.anchor.save(old, h)
	}, data...)
	if err != nil {
		return fmt.Errorf("inbox: compact the index: %w", err)
	}
	s.cursor = next
	s.lastSync = time.Now()
	if err := s.anchor.save(next.Head()); err != nil {
		return fmt.Errorf("inbox: compacted the index, but: %w", err)
	}
	return nil
}

// staleAfter is how old a staging directory must be before another
// writer removes it: staging runs without the lock, so a younger one may
// be a fetch under way in another process.
const staleAfter = time.Hour

// removeStaging deletes, under the write lock, the temporary file of a
// killed compaction and staging directories (staging/.new-*) that a
// killed fetch left behind more than staleAfter ago. Their content is encrypted; removing them only frees the space.
// Staging directories of the earlier layout (items/.new-*) are looked for
// once per Store, so that a commit's cost does not grow with the number of
// items.
func (s *Store) removeStaging() {
	dirs := []string{filepath.Join(s.dir, "staging")}
	if !s.cleaned {
		s.cleaned = true
		dirs = append(dirs, filepath.Join(s.dir, "items"))
	}
	// A compaction killed before its rename leaves its temporary file
	// (see sealedlog.Log.RewriteWith); compactions run under the write
	// lock, held here, so any such file is left over.
	if tmps, err := filepath.Glob(filepath.Join(s.dir, ".tmp-index.log-*")); err == nil {
		for _, p := range tmps {
			os.Remove(p)
		}
	}
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".new-") {
				continue
			}
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleAfter {
				os.RemoveAll(filepath.Join(dir, e.Name()))
			}
		}
	}
}

// freeID is the item number after every one in the index that is not
// taken in items/ either: a writer killed between renaming an item into
// place and writing its index record leaves a directory that the index
// does not know. Its message was not recorded, so the next fetch stores it
// again, under a new number, and the old directory is left alone.
func (s *Store) freeID(idx *memIndex) (string, error) {
	for n := idx.maxID + 1; ; n++ {
		id := strconv.Itoa(n)
		_, err := os.Lstat(s.itemDir(id))
		if errors.Is(err, fs.ErrNotExist) {
			return id, nil
		}
		if err != nil {
			return "", err
		}
	}
}

func (s *Store) itemDir(id string) string { return filepath.Join(s.dir, "items", id) }

// encryptTo streams r into an encrypted file at p, flushed to disk, and
// returns the hex SHA-256 of the plaintext (and its size, when size is not
// nil).
func (s *Store) encryptTo(p string, r io.Reader, size *int64) (string, error) {
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("inbox: %w", err)
	}
	defer f.Close()
	w, err := atrest.Encrypt(f, s.key)
	if err != nil {
		return "", fmt.Errorf("inbox: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), r)
	if err != nil {
		return "", fmt.Errorf("inbox: store %s: %w", filepath.Base(p), err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("inbox: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("inbox: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("inbox: %w", err)
	}
	if size != nil {
		*size = n
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (s *Store) writeEncryptedJSON(p string, v any) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(json.NewEncoder(pw).Encode(v)) }()
	_, err := s.encryptTo(p, pr, nil)
	pr.Close()
	return err
}

// readState returns the fetch positions (see Inbox).
func (s *Store) readState() (*fetchState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	idx, err := s.refresh()
	if err != nil {
		return nil, err
	}
	st := &fetchState{Version: 1, Accounts: map[string]map[string]mailboxState{}}
	for acct, mbs := range idx.state {
		st.Accounts[acct] = maps.Clone(mbs)
	}
	return st, nil
}

// logSyncEvery bounds how long a record of an item or a fetch position
// stays in the index log without being flushed to disk, so that one flush
// serves several messages. This is safe because the log is only ever read
// as a prefix (sealedlog stops at the first record that did not reach the
// disk whole, whatever the order in which the system wrote its pages back)
// and an item's files are flushed before its record is written: a crash
// can lose the last records, never reorder them, so a fetch position is
// never kept without the items before it; the messages of lost records are
// fetched and stored again.
const logSyncEvery = time.Second

// syncDue reports whether the next append should flush the log. s.mu is
// held.
func (s *Store) syncDue() bool { return time.Since(s.lastSync) >= logSyncEvery }

// writeState records the positions in st that changed: one small record
// each, flushed with a later record or at most logSyncEvery later.
func (s *Store) writeState(st *fetchState) error {
	idx, release, err := s.lockFresh()
	if err != nil {
		return err
	}
	defer release()
	var recs []logRecord
	for _, acct := range slices.Sorted(maps.Keys(st.Accounts)) {
		for _, mbox := range slices.Sorted(maps.Keys(st.Accounts[acct])) {
			pos := st.Accounts[acct][mbox]
			if old, ok := idx.state[acct][mbox]; ok && old == pos {
				continue
			}
			recs = append(recs, logRecord{Op: opPosition, Account: acct, Mailbox: mbox, Position: &pos})
		}
	}
	if len(recs) == 0 {
		return nil
	}
	return s.append(s.syncDue(), recs...)
}

// migrate turns a store of the earlier format (a plaintext index.json and
// state.json, rewritten whole on every commit) into the index log, once,
// under the write lock. The old files are removed when the log is on disk.
func (s *Store) migrate() error {
	if exists, err := s.log.Exists(); err != nil || exists {
		return err
	}
	oldIndex, oldState := filepath.Join(s.dir, "index.json"), filepath.Join(s.dir, "state.json")
	if !fileExists(oldIndex) && !fileExists(oldState) {
		return nil // a new store: the log is created by its first record
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if exists, err := s.log.Exists(); err != nil || exists {
		return err // another process migrated it meanwhile
	}
	idx := newMemIndex()
	var v1 struct {
		Items []Item `json:"items"`
	}
	if err := readJSON(oldIndex, &v1); err != nil {
		return err
	}
	for _, it := range v1.Items {
		idx.addItem(it)
	}
	var st fetchState
	if err := readJSON(oldState, &st); err != nil {
		return err
	}
	for acct, mbs := range st.Accounts {
		idx.state[acct] = maps.Clone(mbs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idx = idx
	if err := s.compact(); err != nil {
		s.idx, s.cursor = newMemIndex(), sealedlog.Cursor{}
		return err
	}
	s.loaded = true
	for _, p := range []string{oldIndex, oldState} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("inbox: migrated the index, but: %w", err)
		}
	}
	return atomicfile.SyncDir(s.dir)
}

// readJSON decodes the JSON file at p into v; a missing file leaves v
// as it is.
func readJSON(p string, v any) error {
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("inbox: %s is damaged: %w", filepath.Base(p), err)
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
