package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// maxLine is the longest line Verify and Export accept.
const maxLine = 1 << 20

// BrokenError is returned by Verify: the first entry where the log is not
// what securesend wrote.
type BrokenError struct {
	// Seq is the sequence number of the first bad or missing entry.
	Seq uint64
	// Line is the line number in the file (1-based), 0 when the problem is
	// past the end (truncation).
	Line int
	// Reason says what is wrong, in plain words.
	Reason string
}

func (e *BrokenError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("audit log broken at entry %d (line %d): %s", e.Seq, e.Line, e.Reason)
	}
	return fmt.Sprintf("audit log broken at entry %d: %s", e.Seq, e.Reason)
}

// Summary describes a log that verified.
type Summary struct {
	// Entries is the number of entries.
	Entries uint64
	// Last is the last entry (zero when the log is empty).
	Last Entry
	// Legacy is the number of entries written before the log was keyed
	// (only a hash chain); KeyedFrom is the first keyed entry (0: none).
	// Verify authenticated every keyed entry with the keychain key; the
	// legacy ones are covered only in that the first keyed entry pins
	// their chain: they have not changed since the log was keyed, but
	// nothing shows who wrote them.
	Legacy, KeyedFrom uint64
}

// chain checks entries one by one as they follow each other.
type chain struct {
	key     []byte // the log's HMAC key; nil: none in the keychain
	keyless bool   // do not check MACs (VerifyFile)
	prev    Entry
	first   uint64 // seq of the first entry seen, 0 before any
	firstE  Entry
	sum     Summary
	lineNo  int
	headSeq uint64 // the keychain head's sequence number (Verify), 0: none
	atHead  Entry  // the entry at headSeq, once seen
}

func (c *chain) broken(seq uint64, reason string, a ...any) error {
	return &BrokenError{Seq: seq, Line: c.lineNo, Reason: fmt.Sprintf(reason, a...)}
}

// next checks e, the entry after c.prev (or the first one).
func (c *chain) next(e Entry) error {
	want := c.prev.Seq + 1
	linked := true
	if c.first == 0 && c.keyless && e.Seq > 1 {
		// An export that starts later (--since): its first link cannot
		// be checked.
		want, linked = e.Seq, false
	}
	switch {
	case e.Seq != want:
		if e.Seq > want {
			return c.broken(want, "entry %d is missing (the next line is entry %d): entries were deleted", want, e.Seq)
		}
		return c.broken(e.Seq, "entry %d appears after entry %d: entries were reordered or duplicated", e.Seq, c.prev.Seq)
	case linked && e.PrevHash != c.prev.Hash:
		return c.broken(e.Seq, "does not follow entry %d: an entry before it was changed or removed", c.prev.Seq)
	case !e.Keyed() && c.sum.KeyedFrom != 0:
		return c.broken(e.Seq, "the entry has no MAC, but the log is keyed from entry %d on: it was added or rewritten outside securesend", c.sum.KeyedFrom)
	case e.Keyed() && c.sum.KeyedFrom == 0 && c.sum.Legacy > 0 && e.Kind != Keyed && e.Kind != Break:
		return c.broken(e.Seq, "the first keyed entry after unkeyed ones is not the %q marker securesend writes", Keyed)
	case e.Keyed() && !c.keyless && c.key == nil:
		return c.broken(e.Seq, "the keychain holds no key for this log, so its entries cannot be authenticated (the keychain entry was removed, or the log was copied from elsewhere)")
	case e.Keyed() && !c.keyless && !e.authentic(c.key):
		return c.broken(e.Seq, "the entry does not authenticate with the log's keychain key: it was forged, edited or rewritten outside securesend")
	case e.Kind == Break:
		why := ""
		if r := e.Fields["reason"]; r != "" {
			why = ": " + r
		}
		return c.broken(e.Seq, "securesend found the log altered before this point: the keychain head was entry %s (hash %.12s…) but the file ended at entry %s (hash %.12s…)%s",
			e.Fields["expected_seq"], e.Fields["expected_hash"], e.Fields["found_seq"], e.Fields["found_hash"], why)
	}
	if c.headSeq != 0 && e.Seq == c.headSeq {
		c.atHead = e
	}
	if c.first == 0 {
		c.first, c.firstE = e.Seq, e
	}
	if e.Keyed() {
		if c.sum.KeyedFrom == 0 {
			c.sum.KeyedFrom = e.Seq
		}
	} else {
		c.sum.Legacy++
	}
	c.prev = e
	c.sum.Entries++
	c.sum.Last = e
	return nil
}

// line reads and checks the next line of r; done is true at the end.
func (c *chain) line(r *bufio.Reader) (done bool, err error) {
	c.lineNo++
	b, err := readLine(r)
	want := c.prev.Seq + 1
	switch {
	case errors.Is(err, errEOF):
		return true, nil
	case errors.Is(err, errTorn):
		return false, c.broken(want, "the last line is incomplete (a crash while writing, or the file was cut)")
	case errors.Is(err, errLong):
		return false, c.broken(want, "line is too long to be an entry")
	case err != nil:
		return false, fmt.Errorf("audit: read log: %w", err)
	}
	return false, c.entry(b)
}

// entry parses one entry's bytes and checks it.
func (c *chain) entry(b []byte) error {
	e, perr := parseLine(b)
	if perr != nil {
		seq := c.prev.Seq + 1
		if e.Seq != 0 {
			seq = e.Seq
		}
		return c.broken(seq, "%v", perr)
	}
	return c.next(e)
}

// Verify reads the whole log and checks every link of the hash chain, the
// MAC of every keyed entry under the log's keychain key, and the end
// against the keychain head. A broken log gives a *BrokenError naming the
// first bad entry; other errors (I/O, keychain) are returned as they are.
//
// An entry one past the keychain head (a crash between writing it and
// moving the head) is accepted only when it is keyed and authenticates;
// so are up to MaxUnanchored entries past a keyed head (left by a Hold),
// each keyed, authenticated and linked back to the entry the head names.
func (l *Log) Verify() (Summary, error) {
	f, unlock, err := l.lock()
	if err != nil {
		return Summary{}, err
	}
	defer unlock()
	if _, err := f.Seek(0, 0); err != nil {
		return Summary{}, fmt.Errorf("audit: read log: %w", err)
	}
	key, err := l.readKey()
	if err != nil {
		return Summary{}, err
	}
	h, ok, err := l.readHead()
	if err != nil {
		return Summary{}, err
	}
	c := chain{key: key, prev: Entry{Hash: genesis}, headSeq: h.Seq}
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		done, err := c.line(r)
		if err != nil {
			return Summary{}, err
		}
		if done {
			break
		}
	}
	sum, prev := c.sum, c.prev
	switch {
	case !ok && sum.Entries == 0:
	case !ok && sum.Entries == 1 && prev.Seq == 1 && prev.Keyed() && prev.PrevHash == genesis:
		// The first entry was written (and authenticated above) but the
		// process stopped before it created the head: accepted, as Append
		// does.
	case !ok:
		return Summary{}, &BrokenError{Seq: prev.Seq, Reason: "the keychain holds no head for this log, so its end cannot be checked (the keychain entry was removed, or the log was copied from elsewhere)"}
	case h.Seq > prev.Seq:
		return Summary{}, &BrokenError{Seq: prev.Seq + 1, Reason: fmt.Sprintf("entries %d to %d are missing from the end of the file (the keychain head is entry %d): the log was truncated", prev.Seq+1, h.Seq, h.Seq)}
	case h.Seq+1 == prev.Seq && prev.PrevHash == h.Hash && prev.Keyed():
		// The last entry was written (and authenticated above) but the
		// process stopped before it moved the head: accepted, as Append
		// does.
	case h.Seq+1 < prev.Seq && prev.Seq-h.Seq <= MaxUnanchored && h.Keyed && c.atHead.Seq == h.Seq && c.atHead.Hash == h.Hash &&
		c.atHead.Keyed() && c.sum.KeyedFrom != 0 && c.sum.KeyedFrom <= h.Seq:
		// Entries a Hold wrote without moving the head yet (or a crash
		// while holding left), all keyed and authenticated above and
		// linked back to the head: accepted, as Append does.
	case h.Seq < prev.Seq:
		return Summary{}, &BrokenError{Seq: h.Seq + 1, Reason: fmt.Sprintf("entries after %d were not written by securesend's last append (the keychain head is entry %d): added outside securesend, or more than %d past the head", h.Seq, h.Seq, MaxUnanchored)}
	case h.Hash != prev.Hash:
		return Summary{}, &BrokenError{Seq: prev.Seq, Reason: "the log does not end with the entry the keychain recorded: it was rewritten"}
	}
	if ok && h.Keyed && c.atHead.Seq == h.Seq && !c.atHead.Keyed() {
		// Same hash, same links, but no MAC: the hash does not cover the
		// MAC, so removing every MAC made the log look like a legacy one.
		return Summary{}, &BrokenError{Seq: h.Seq, Reason: "the entry has no MAC, but the keychain head records a keyed entry here: the MACs were removed to pass the log off as one written before keying"}
	}
	return sum, nil
}

// FileSummary describes a copy of a log (or a JSON export) that VerifyFile
// found internally consistent.
type FileSummary struct {
	// Entries is the number of entries; First and Last the first and last.
	Entries     uint64
	First, Last Entry
	// Legacy and Keyed count entries without and with a MAC. The MACs
	// were NOT checked: that needs the key, which only the keychain of the
	// computer that wrote the log holds.
	Legacy, Keyed uint64
}

// VerifyFile checks a copy of an audit log, or the output of Export in
// JSON, without the keychain: every entry is in the form securesend writes
// and matches its hash, sequence numbers follow each other, each entry
// links to the one before (from the first one in the file: an export made
// with a start date begins later), no unkeyed entry follows keyed ones and
// no audit.break entry is present. A broken file gives a *BrokenError.
//
// What it cannot prove: that securesend wrote the file (anyone who knows
// the format can build a consistent chain, with made-up MACs), that no
// entries are missing from the end or before the first one, or that the
// file is the log's current state. For that, run Verify on the computer
// (it checks every MAC and the end against the keychain) and compare the
// last hash it reports with FileSummary.Last.Hash.
func VerifyFile(r io.Reader) (FileSummary, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	c := chain{keyless: true, prev: Entry{Hash: genesis}}
	first, err := firstByte(br)
	if err != nil {
		return FileSummary{}, fmt.Errorf("audit: read: %w", err)
	}
	if first == '[' {
		dec := json.NewDecoder(br)
		if _, err := dec.Token(); err != nil {
			return FileSummary{}, fmt.Errorf("audit: not a JSON export: %w", err)
		}
		for dec.More() {
			c.lineNo++
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return FileSummary{}, c.broken(c.prev.Seq+1, "not a valid entry: %v", err)
			}
			if err := c.entry(raw); err != nil {
				return FileSummary{}, err
			}
		}
		if _, err := dec.Token(); err != nil {
			return FileSummary{}, fmt.Errorf("audit: the JSON export is incomplete: %w", err)
		}
	} else {
		for {
			done, err := c.line(br)
			if err != nil {
				return FileSummary{}, err
			}
			if done {
				break
			}
		}
	}
	return FileSummary{Entries: c.sum.Entries, First: c.firstE, Last: c.sum.Last, Legacy: c.sum.Legacy, Keyed: c.sum.Entries - c.sum.Legacy}, nil
}

// firstByte peeks at the first byte that is not white space (0 when
// there is none).
func firstByte(r *bufio.Reader) (byte, error) {
	for {
		b, err := r.Peek(1)
		if isEOF(err) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			r.ReadByte()
			continue
		}
		return b[0], nil
	}
}

var (
	errEOF  = errors.New("end of log")
	errTorn = errors.New("incomplete line")
	errLong = errors.New("line too long")
)

// readLine returns the next line without its newline.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return nil, errLong
		}
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case len(line) == 0 && isEOF(err):
			return nil, errEOF
		case isEOF(err):
			return line, errTorn
		default:
			return nil, err
		}
	}
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }
