package audit

import (
	"bufio"
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
}

// Verify reads the whole log and checks every link of the hash chain and
// the end against the keychain head. A broken log gives a *BrokenError
// naming the first bad entry; other errors (I/O, keychain) are returned as
// they are.
func (l *Log) Verify() (Summary, error) {
	f, unlock, err := l.lock()
	if err != nil {
		return Summary{}, err
	}
	defer unlock()
	if _, err := f.Seek(0, 0); err != nil {
		return Summary{}, fmt.Errorf("audit: read log: %w", err)
	}
	prev := Entry{Hash: genesis}
	var sum Summary
	r := bufio.NewReaderSize(f, 64<<10)
	for lineNo := 1; ; lineNo++ {
		b, err := readLine(r)
		if errors.Is(err, errEOF) {
			break
		}
		want := prev.Seq + 1
		brk := func(seq uint64, reason string, a ...any) (Summary, error) {
			return Summary{}, &BrokenError{Seq: seq, Line: lineNo, Reason: fmt.Sprintf(reason, a...)}
		}
		switch {
		case errors.Is(err, errTorn):
			return brk(want, "the last line is incomplete (a crash while writing, or the file was cut)")
		case errors.Is(err, errLong):
			return brk(want, "line is too long to be an entry")
		case err != nil:
			return Summary{}, fmt.Errorf("audit: read log: %w", err)
		}
		e, perr := parseLine(b)
		if perr != nil {
			seq := want
			if e.Seq != 0 {
				seq = e.Seq
			}
			return brk(seq, "%v", perr)
		}
		switch {
		case e.Seq != want:
			if e.Seq > want {
				return brk(want, "entry %d is missing (the next line is entry %d): entries were deleted", want, e.Seq)
			}
			return brk(e.Seq, "entry %d appears after entry %d: entries were reordered or duplicated", e.Seq, prev.Seq)
		case e.PrevHash != prev.Hash:
			return brk(e.Seq, "does not follow entry %d: an entry before it was changed or removed", prev.Seq)
		case e.Kind == Break:
			return brk(e.Seq, "securesend found the log altered before this point: the keychain head was entry %s (hash %.12s…) but the file ended at entry %s (hash %.12s…)",
				e.Fields["expected_seq"], e.Fields["expected_hash"], e.Fields["found_seq"], e.Fields["found_hash"])
		}
		prev = e
		sum.Entries++
		sum.Last = e
	}
	h, ok, err := l.readHead()
	if err != nil {
		return Summary{}, err
	}
	switch {
	case !ok && sum.Entries == 0:
	case !ok:
		return Summary{}, &BrokenError{Seq: prev.Seq, Reason: "the keychain holds no head for this log, so its end cannot be checked (the keychain entry was removed, or the log was copied from elsewhere)"}
	case h.Seq > prev.Seq:
		return Summary{}, &BrokenError{Seq: prev.Seq + 1, Reason: fmt.Sprintf("entries %d to %d are missing from the end of the file (the keychain head is entry %d): the log was truncated", prev.Seq+1, h.Seq, h.Seq)}
	case h.Seq+1 == prev.Seq && prev.PrevHash == h.Hash:
		// The last entry was written but the process stopped before it
		// moved the head: accepted, as Append does.
	case h.Seq < prev.Seq:
		return Summary{}, &BrokenError{Seq: h.Seq + 1, Reason: fmt.Sprintf("entries after %d were not written by securesend's last append (the keychain head is entry %d): added outside securesend, or a crash just after writing", h.Seq, h.Seq)}
	case h.Hash != prev.Hash:
		return Summary{}, &BrokenError{Seq: prev.Seq, Reason: "the log does not end with the entry the keychain recorded: it was rewritten"}
	}
	return sum, nil
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
