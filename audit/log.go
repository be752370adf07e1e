package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/securesend/securesend/crypto/keychain"
)

// Options tune a Log. The zero value is ready to use.
type Options struct {
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Log is an open audit log. It is safe for concurrent use.
type Log struct {
	path     string
	kc       *keychain.Keychain
	headName string
	keyName  string
	now      func() time.Time
	mu       sync.Mutex

	// held counts the open Holds; while it is above zero Append may leave
	// the keychain head up to MaxUnanchored entries behind, and uses
	// cache, what a held Append of this Log last wrote and the head as
	// this Log last moved it, to skip the keychain when the file still
	// ends there. Both are guarded by mu.
	held  int
	cache *anchor
}

// MaxUnanchored bounds how many entries the file may hold past the
// keychain head: entries a Hold let Append write without moving the head,
// or the one a crash left between writing an entry and moving the head.
// Entries past the head are accepted (by Append and Verify) only when each
// is keyed, authenticates and links to the one before, back to the entry
// the head names; what the head does not cover yet is the only part of the
// log whose removal from the end would go unnoticed, so it stays small.
const MaxUnanchored = 16

// anchor is what a held Log last wrote (or found and checked) at the end
// of the file, and the keychain head as it last read or moved it.
type anchor struct {
	key  []byte
	head head   // the keychain head; keyed
	raw  []byte // the file's last line, without its newline
	size int64  // the file's size with that line
	last Entry  // the entry on that line
}

// Open opens (creating if needed, mode 0600) the audit log at path, whose
// head and HMAC key are kept in kc under names derived from the absolute
// path ("audit-head-HASH" and "audit-hmac:HASH"). The key is created by the
// first Append; it never leaves the keychain.
func Open(path string, kc *keychain.Keychain, opts Options) (*Log, error) {
	if kc == nil {
		return nil, errors.New("audit: a keychain is required to anchor the log")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: open log: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("audit: open log: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	sum := sha256.Sum256([]byte(abs))
	id := hex.EncodeToString(sum[:6])
	return &Log{
		path:     abs,
		kc:       kc,
		headName: "audit-head-" + id,
		keyName:  "audit-hmac:" + id,
		now:      now,
	}, nil
}

// Path is the log file.
func (l *Log) Path() string { return l.path }

// head is the keychain anchor: the last entry's sequence number and hash,
// and whether that entry is keyed.
type head struct {
	Seq  uint64
	Hash string
	// Keyed records that the entry is keyed (every head this securesend
	// writes). The hash does not cover the MAC, so without this a log
	// whose MACs were all removed would look like one an older securesend
	// wrote, with the same hashes, links and end.
	Keyed bool
}

// headKeyed is the third word of a keyed head. An older securesend takes
// such a head for malformed and stops, rather than appending unkeyed
// entries to a keyed log.
const headKeyed = "keyed"

func (h head) String() string {
	s := strconv.FormatUint(h.Seq, 10) + " " + h.Hash
	if h.Keyed {
		s += " " + headKeyed
	}
	return s
}

// readHead returns the keychain head; ok is false when there is none.
func (l *Log) readHead() (h head, ok bool, err error) {
	s, err := l.kc.Get(l.headName)
	if errors.Is(err, keychain.ErrNotFound) {
		return head{}, false, nil
	}
	if err != nil {
		return head{}, false, fmt.Errorf("audit: read head: %w", err)
	}
	f := strings.Split(s, " ")
	var seq uint64
	perr := errors.New("no sequence number")
	if len(f) >= 2 {
		seq, perr = strconv.ParseUint(f[0], 10, 64)
	}
	if perr != nil || len(f[1]) != 64 || len(f) > 3 || (len(f) == 3 && f[2] != headKeyed) {
		return head{}, false, fmt.Errorf("audit: the keychain head entry is malformed")
	}
	return head{Seq: seq, Hash: f[1], Keyed: len(f) == 3}, true, nil
}

// readKey returns the log's HMAC key, nil when the keychain holds none.
func (l *Log) readKey() ([]byte, error) {
	key, err := l.kc.LookupKey(l.keyName)
	if errors.Is(err, keychain.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: read the log's key: %w", err)
	}
	return key, nil
}

// lock opens the file and takes the in-process and cross-process locks.
func (l *Log) lock() (*os.File, func(), error) {
	l.mu.Lock()
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		l.mu.Unlock()
		return nil, nil, fmt.Errorf("audit: open log: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		l.mu.Unlock()
		return nil, nil, fmt.Errorf("audit: lock log: %w", err)
	}
	return f, func() {
		_ = unlockFile(f)
		f.Close()
		l.mu.Unlock()
	}, nil
}

// tail describes the end of the file.
type tail struct {
	empty  bool
	torn   bool   // the file does not end with a newline
	last   Entry  // the last line as decoded (may be unverified)
	parsed bool   // last decoded as JSON
	valid  bool   // last is in canonical form with the right hash
	raw    []byte // the last line
	size   int64  // the file's size
}

// readTail reads the last line of f, reading backwards from the end.
func readTail(f *os.File) (tail, error) {
	st, err := f.Stat()
	if err != nil {
		return tail{}, err
	}
	off := st.Size()
	if off == 0 {
		return tail{empty: true}, nil
	}
	var buf, raw []byte
	for {
		n := min(int64(4096), off)
		off -= n
		chunk := make([]byte, n)
		if _, err := f.ReadAt(chunk, off); err != nil {
			return tail{}, err
		}
		buf = append(chunk, buf...)
		body := bytes.TrimSuffix(buf, []byte("\n"))
		if i := bytes.LastIndexByte(body, '\n'); i >= 0 {
			raw = body[i+1:]
			break
		}
		if off == 0 {
			raw = body
			break
		}
		if len(buf) > maxLine {
			return tail{torn: true}, nil
		}
	}
	t := tail{raw: raw, torn: buf[len(buf)-1] != '\n', size: st.Size()}
	e, perr := parseLine(raw)
	t.last, t.parsed, t.valid = e, e.Hash != "", perr == nil
	return t, nil
}

// Hold lets Append leave the keychain head behind until release is
// called, for a batch of entries such as one round of the inbox watch:
// each entry is still written and fsynced before Append returns, but the
// head (a keychain round trip, most of an Append's cost) moves only when
// MaxUnanchored entries are past it, when the entry is an audit.break or
// audit.keyed one, or when the log has no keyed head yet, and at release.
// While held, Append reads the log's key and head from the keychain only
// when the file does not end with the entry this Log wrote last (another
// process appended, or the file was changed), and before it moves the
// head: if the head is no longer the one this Log left (another process
// appended and moved it, then its entries were cut from the file), the
// head is left alone, so the gap shows to Verify and the next Append
// records it as an audit.break; release then returns an error.
//
// What this trades: a process killed while holding leaves up to
// MaxUnanchored entries past the head, which Append and Verify accept as
// they accept the one entry a crash could always leave (each keyed,
// authentic and linked back to the head): nothing written is lost, but
// until the head moves, someone who can write the file could delete those
// last entries unnoticed. Entries the head covers are as protected as ever.
//
// Holds nest; the head is moved when the last one is released. release is
// safe to call more than once; its error is the keychain's, when moving
// the head failed (the entries stay in the file, past the head, and the
// next Append moves it).
func (l *Log) Hold() (release func() error) {
	l.mu.Lock()
	l.held++
	l.mu.Unlock()
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() { err = l.release() })
		return err
	}
}

// release ends one Hold; the last one moves the head to the entry this
// Log wrote last, if the file still ends with it. The Log keeps what it
// knows of the end (key, head, last entry) for the next Hold, whose first
// Append then needs no keychain read either when the file still ends
// there.
func (l *Log) release() error {
	l.mu.Lock()
	l.held--
	last := l.held == 0
	l.mu.Unlock()
	if !last {
		return nil
	}
	f, unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	c := l.cache
	if l.held > 0 || c == nil || c.last.Seq == c.head.Seq {
		// Held again meanwhile (that Hold moves the head), or nothing
		// past it.
		return nil
	}
	t, err := readTail(f)
	if err != nil {
		return fmt.Errorf("audit: read log: %w", err)
	}
	if !c.matches(t) {
		// Another process appended after it: the head is its to move
		// (and what it left behind is within the crash bound).
		l.cache = nil
		return nil
	}
	h := head{Seq: c.last.Seq, Hash: c.last.Hash, Keyed: true}
	if err := l.moveHead(c.head, h, true); err != nil {
		l.cache = nil
		return err
	}
	c.head = h
	return nil
}

// errHeadMoved is moveHead's error when the keychain head is not the one
// this Log last knew while the file ends with the entry it wrote last.
var errHeadMoved = errors.New("audit: the keychain head moved while this process held the log, yet the file still ends with the entry this process wrote: entries another process appended were removed from the file; the head was left where it is so the next append and Verify report the gap")

// moveHead stores to as the keychain head, with the file locked. When
// check is set, from is what this Log last knew of the head (its cache),
// not read under this lock: the keychain must still hold it, or it gives
// errHeadMoved and leaves the head alone. Another process moves the head
// only by appending, which changes the file's end and so drops the cache;
// a head that moved while the file still ends where this Log left it
// means the file was cut back over an entry the head covered, and moving
// the head over that gap would hide it.
func (l *Log) moveHead(from, to head, check bool) error {
	if check {
		cur, ok, err := l.readHead()
		if err != nil {
			return err
		}
		if !ok || cur != from {
			return errHeadMoved
		}
	}
	if err := l.kc.Set(l.headName, to.String()); err != nil {
		return fmt.Errorf("audit: store head: %w", err)
	}
	return nil
}

// matches reports whether the file (t) still ends with the entry c
// records.
func (c *anchor) matches(t tail) bool {
	return !t.empty && !t.torn && t.valid && t.size == c.size && bytes.Equal(t.raw, c.raw)
}

// Append adds ev to the log, fsyncs it and moves the keychain head to it
// (while a Hold is open, possibly later: see Hold). It returns the entry
// written.
func (l *Log) Append(ev Event) (Entry, error) {
	if err := ev.validate(); err != nil {
		return Entry{}, err
	}
	f, unlock, err := l.lock()
	if err != nil {
		return Entry{}, err
	}
	defer unlock()

	t, err := readTail(f)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: read log: %w", err)
	}
	var (
		key        []byte
		h          head
		hasHead    bool
		consistent bool
		// cached: h is what this Log last knew of the keychain head,
		// not read from the keychain under this lock.
		cached bool
	)
	if c := l.cache; l.held > 0 && c != nil && c.matches(t) {
		// Held, and the file ends with the entry this Log wrote last:
		// the key, the head and the chain between them are as it left
		// them, unless the file was cut back to that entry after
		// another process appended and moved the head, which the
		// keychain shows when the head is next moved (moveHead).
		key, h, hasHead, consistent, cached = c.key, c.head, true, true, true
	} else {
		// The key is created under the file lock, so two processes
		// appending for the first time cannot each make one.
		if key, err = l.kc.Key(l.keyName); err != nil {
			return Entry{}, fmt.Errorf("audit: the log's key: %w", err)
		}
		if h, hasHead, err = l.readHead(); err != nil {
			return Entry{}, err
		}
		// A keyed last entry counts only if it authenticates; a legacy
		// one only if it is exactly the head (written by an older
		// securesend). A head that records a keyed entry rules out an
		// unkeyed one there (its MAC was removed: the hash alone does
		// not show it).
		intact := t.valid && !t.torn && (!t.last.Keyed() || t.last.authentic(key))
		ahead := hasHead && intact && t.last.Keyed() && t.last.Seq > h.Seq && t.last.Seq-h.Seq <= MaxUnanchored
		consistent = (t.empty && !hasHead) ||
			(hasHead && intact && t.last.Seq == h.Seq && t.last.Hash == h.Hash && (t.last.Keyed() || !h.Keyed)) ||
			// A crash between writing the last entry and moving the
			// head: only an entry securesend wrote, so keyed and
			// authentic.
			(ahead && t.last.Seq == h.Seq+1 && t.last.PrevHash == h.Hash) ||
			// Entries a Hold left past a keyed head (or a crash while
			// held): each keyed, authentic and linked, back to the head.
			(ahead && t.last.Seq > h.Seq+1 && h.Keyed && linksBack(f, t, h, key)) ||
			// The same crash at the very first entry, before any head
			// existed.
			(!hasHead && intact && t.last.Keyed() && t.last.Seq == 1 && t.last.PrevHash == genesis)
	}
	prev := Entry{Seq: 0, Hash: genesis}
	if t.parsed {
		prev = t.last
	}
	var out bytes.Buffer
	if t.torn {
		out.WriteByte('\n')
	}
	size := t.size
	// add writes e, keyed, fsyncs it and moves the keychain head to it:
	// one entry at a time, so a crash never leaves more than one entry
	// past the head (the one the crash rule accepts). While held, the
	// head moves only every MaxUnanchored entries, and at once for an
	// audit.keyed or audit.break entry or when there is no keyed head to
	// stay behind.
	add := func(e Entry) (Entry, error) {
		if err := e.sealKeyed(key); err != nil {
			return Entry{}, err
		}
		b, err := e.line()
		if err != nil {
			return Entry{}, err
		}
		out.Write(b)
		if _, err := f.Write(out.Bytes()); err != nil {
			l.cache = nil
			return Entry{}, fmt.Errorf("audit: write log: %w", err)
		}
		size += int64(out.Len())
		out.Reset()
		if err := f.Sync(); err != nil {
			l.cache = nil
			return Entry{}, fmt.Errorf("audit: sync log: %w", err)
		}
		l.cache = nil
		if !(l.held > 0 && hasHead && h.Keyed && e.Kind != Break && e.Kind != Keyed && e.Seq-h.Seq < MaxUnanchored) {
			to := head{Seq: e.Seq, Hash: e.Hash, Keyed: true}
			if err := l.moveHead(h, to, cached); errors.Is(err, errHeadMoved) {
				// The entry is written; the next Append, reading the
				// keychain, records the gap as an audit.break.
				return e, nil
			} else if err != nil {
				return Entry{}, err
			}
			h, hasHead, cached = to, true, false
		}
		if l.held > 0 {
			l.cache = &anchor{key: key, head: h, raw: b[:len(b)-1], size: size, last: e}
		}
		return e, nil
	}
	if consistent && prev.Seq > 0 && !prev.Keyed() {
		// The first entry of this securesend in a log an older one wrote:
		// mark where the keyed part begins. (When the log is not intact
		// the break entry below comes first and is the mark.)
		if prev, err = add(Entry{Seq: prev.Seq + 1, Time: l.now().UTC(), Kind: Keyed, Fields: Fields{
			"reason": "entries from here on are authenticated with the log's keychain key; the ones before only by their hash chain",
		}, PrevHash: prev.Hash}); err != nil {
			return Entry{}, err
		}
	}
	if !consistent {
		bf := Fields{"found_seq": strconv.FormatUint(t.last.Seq, 10), "found_hash": t.last.Hash}
		if !t.parsed {
			bf["found_seq"], bf["found_hash"] = "0", genesis
		}
		if hasHead {
			bf["expected_seq"], bf["expected_hash"] = strconv.FormatUint(h.Seq, 10), h.Hash
		} else {
			bf["expected_seq"], bf["expected_hash"] = "none", "none"
		}
		switch {
		case t.valid && t.last.Keyed() && !t.last.authentic(key):
			bf["reason"] = "the last entry does not authenticate with the log's keychain key (made up, or the key was removed from the keychain)"
		case t.valid && hasHead && h.Keyed && !t.last.Keyed():
			bf["reason"] = "the last entry has no MAC, but the keychain head records a keyed one (MACs were removed)"
		}
		if prev, err = add(Entry{Seq: prev.Seq + 1, Time: l.now().UTC(), Kind: Break, Fields: bf, PrevHash: prev.Hash}); err != nil {
			return Entry{}, err
		}
	}
	when := ev.Time
	if when.IsZero() {
		when = l.now()
	}
	e := Entry{Seq: prev.Seq + 1, Time: when.UTC(), Kind: ev.Kind, Fields: ev.Fields, PrevHash: prev.Hash}
	if len(e.Fields) == 0 {
		e.Fields = nil
	}
	return add(e)
}

// linksBack reports whether the last t.last.Seq-h.Seq entries of f (at
// most MaxUnanchored; t is f's tail) are each keyed and authentic under
// key, numbered one after the other, and linked to each other and to the
// entry the head h names.
func linksBack(f *os.File, t tail, h head, key []byte) bool {
	n := t.last.Seq - h.Seq
	if n == 0 || n > MaxUnanchored {
		return false
	}
	lines, err := lastLines(f, t.size, int(n))
	if err != nil || len(lines) != int(n) {
		return false
	}
	prev := Entry{Seq: h.Seq, Hash: h.Hash}
	for _, b := range lines {
		e, err := parseLine(b)
		if err != nil || !e.Keyed() || !e.authentic(key) || e.Seq != prev.Seq+1 || e.PrevHash != prev.Hash {
			return false
		}
		prev = e
	}
	return prev.Hash == t.last.Hash
}

// lastLines returns the last n lines of the first size bytes of f (which
// end with a newline), without their newlines; fewer when the file has
// fewer.
func lastLines(f *os.File, size int64, n int) ([][]byte, error) {
	var buf []byte
	off := size
	for {
		body := bytes.TrimSuffix(buf, []byte("\n"))
		if c := bytes.Count(body, []byte("\n")); c >= n || off == 0 {
			lines := bytes.Split(body, []byte("\n"))
			if len(lines) > n {
				lines = lines[len(lines)-n:]
			}
			return lines, nil
		}
		if int64(len(buf)) > int64(n+1)*maxLine {
			return nil, errors.New("audit: the entries past the head are too long")
		}
		k := min(int64(16<<10), off)
		off -= k
		chunk := make([]byte, k, int64(len(buf))+k)
		if _, err := f.ReadAt(chunk, off); err != nil {
			return nil, err
		}
		buf = append(chunk, buf...)
	}
}
