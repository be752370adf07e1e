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
	t := tail{raw: raw, torn: buf[len(buf)-1] != '\n'}
	e, perr := parseLine(raw)
	t.last, t.parsed, t.valid = e, e.Hash != "", perr == nil
	return t, nil
}

// Append adds ev to the log, fsyncs it and moves the keychain head to it.
// It returns the entry written.
func (l *Log) Append(ev Event) (Entry, error) {
	if err := ev.validate(); err != nil {
		return Entry{}, err
	}
	f, unlock, err := l.lock()
	if err != nil {
		return Entry{}, err
	}
	defer unlock()

	// The key is created under the file lock, so two processes appending
	// for the first time cannot each make one.
	key, err := l.kc.Key(l.keyName)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: the log's key: %w", err)
	}
	t, err := readTail(f)
	if err != nil {
		return Entry{}, fmt.Errorf("audit: read log: %w", err)
	}
	h, hasHead, err := l.readHead()
	if err != nil {
		return Entry{}, err
	}
	prev := Entry{Seq: 0, Hash: genesis}
	if t.parsed {
		prev = t.last
	}
	// A keyed last entry counts only if it authenticates; a legacy one only
	// if it is exactly the head (written by an older securesend).
	// A head that records a keyed entry rules out an unkeyed one there
	// (its MAC was removed: the hash alone does not show it).
	intact := t.valid && !t.torn && (!t.last.Keyed() || t.last.authentic(key))
	consistent := (t.empty && !hasHead) ||
		(hasHead && intact && t.last.Seq == h.Seq && t.last.Hash == h.Hash && (t.last.Keyed() || !h.Keyed)) ||
		// A crash between writing the last entry and moving the head:
		// only an entry securesend wrote, so keyed and authentic.
		(hasHead && intact && t.last.Keyed() && t.last.Seq == h.Seq+1 && t.last.PrevHash == h.Hash) ||
		// The same crash at the very first entry, before any head existed.
		(!hasHead && intact && t.last.Keyed() && t.last.Seq == 1 && t.last.PrevHash == genesis)
	var out bytes.Buffer
	if t.torn {
		out.WriteByte('\n')
	}
	// add writes e, keyed, fsyncs it and moves the keychain head to it:
	// one entry at a time, so a crash never leaves more than one entry
	// past the head (the one the crash rule accepts).
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
			return Entry{}, fmt.Errorf("audit: write log: %w", err)
		}
		out.Reset()
		if err := f.Sync(); err != nil {
			return Entry{}, fmt.Errorf("audit: sync log: %w", err)
		}
		if err := l.kc.Set(l.headName, head{Seq: e.Seq, Hash: e.Hash, Keyed: true}.String()); err != nil {
			return Entry{}, fmt.Errorf("audit: store head: %w", err)
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
