// Package sealedlog is an append-only file of encrypted, authenticated
// records: the inbox store's index. Appending a record costs the same
// whatever the size of the file, and a reader that has read the file once
// reads only what was appended since.
//
// Format: an 8-byte magic and a 32-byte random salt, then records. Each
// record is a 4-byte big-endian length followed by a 12-byte random nonce
// and the AES-256-GCM sealing of the record's bytes. The GCM key is derived
// from the caller's 32-byte key with HKDF-SHA256 (the salt, and the
// caller's label as info), so each file, and each use of one key, has its
// own key. The additional data of record n (counted from 0) is the header
// and n, so records cannot be reordered, dropped from the middle or moved
// to another file without the reader noticing. No primitive is written
// here: HKDF, AES and GCM are the standard library's.
//
// Crashes and damage: a writer killed mid-append leaves an incomplete or
// unauthenticated record at the end. A reader stops at the first record
// that is incomplete or fails authentication and reports the bytes after
// it as the tail (Cursor.Tail); records after a bad one are never used, so
// the file always reads as a prefix of what was appended, in order. Append
// (which the caller runs under its write lock) saves a tail that holds a
// complete but unauthenticated record to a ".damaged-*" file beside the
// log before cutting it off, so that nothing is destroyed silently.
// Dropping the last records whole, or putting an older copy of the file
// back, cannot be detected from the file alone: a caller that keeps the
// Head of its last durable write elsewhere (the keychain) checks that a
// reading from the start Reaches it. A file that shrinks under a cursor
// that read further is refused (ErrShrunk) instead of being appended to.
//
// Rewrite replaces the whole file atomically (compaction); readers notice
// by the new salt and read again from the start.
package sealedlog

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/securesend/securesend/internal/atomicfile"
)

const (
	magic      = "SSLOG\x00v1"
	saltSize   = 32
	headerSize = len(magic) + saltSize
	nonceSize  = 12
	tagSize    = 16
	// MaxRecord is the largest record, in bytes of plaintext.
	MaxRecord = 16 << 20
)

// KeySize is the length in bytes of the key given to Open.
const KeySize = 32

var (
	// ErrKeySize means the key is not KeySize bytes long.
	ErrKeySize = errors.New("sealedlog: the key must be 32 bytes")
	// ErrNotLog means the file does not start with a log header.
	ErrNotLog = errors.New("sealedlog: the file is not a securesend log")
	// ErrTooLarge means a record is larger than MaxRecord.
	ErrTooLarge = errors.New("sealedlog: record too large")
	// ErrShrunk means the file is shorter than the records already read
	// from it: records were cut off, or an older copy was put in its
	// place, since the cursor read them.
	ErrShrunk = errors.New("sealedlog: the log is shorter than when it was read (records were removed, or an older copy put in its place)")
	// ErrBadHead means the text of a Head is malformed.
	ErrBadHead = errors.New("sealedlog: malformed head")
)

// Log is the log file at one path, read and written with one key. A Log
// holds no open file and no state: Cursors carry the reading position.
// Appends from several processes must be serialised by the caller (a
// lock file); reads need no lock.
type Log struct {
	path  string
	key   []byte
	label string
}

// Open returns the log at path for key. label names the use of the key
// (for example "securesend inbox index"): it is mixed into the derived
// key, so that one key can serve several purposes. The file need not
// exist.
func Open(path string, key []byte, label string) (*Log, error) {
	if len(key) != KeySize {
		return nil, ErrKeySize
	}
	return &Log{path: path, key: bytes.Clone(key), label: label}, nil
}

// Path is the log's file.
func (l *Log) Path() string { return l.path }

// Cursor is a reading position in one version of the log file: what Read
// has consumed so far. The zero Cursor is before the start of any file.
type Cursor struct {
	header []byte // magic and salt of the file read; nil before the first read
	aead   cipher.AEAD
	// Off is the byte offset after the last good record.
	Off int64
	// Records is the number of good records read.
	Records uint64
	// Tail is the number of bytes after Off that are not a good record:
	// an append under way (for a reader without the lock), a write cut
	// short by a crash, or damage.
	Tail int64
	// Damaged is true when the tail holds a complete record that failed
	// authentication (damage or tampering, or a crash's torn write),
	// not just an incomplete one.
	Damaged bool
}

// Head names a position in one version of the log file: the file's salt
// and a number of records. A caller that keeps the head of the last
// durable write outside the file (securesend: the keychain) notices an
// older copy of the log put back (Cursor.Reaches), which the file alone
// cannot show. The zero Head is reached by every cursor.
type Head struct {
	Salt    [saltSize]byte
	Records uint64
}

// String is the head as text: the salt in hex, a space, the record count.
func (h Head) String() string {
	return hex.EncodeToString(h.Salt[:]) + " " + strconv.FormatUint(h.Records, 10)
}

// ParseHead reads a head written by Head.String.
func ParseHead(s string) (Head, error) {
	var h Head
	salt, n, ok := strings.Cut(s, " ")
	if !ok || len(salt) != 2*saltSize {
		return Head{}, ErrBadHead
	}
	if _, err := hex.Decode(h.Salt[:], []byte(salt)); err != nil {
		return Head{}, ErrBadHead
	}
	recs, err := strconv.ParseUint(n, 10, 64)
	if err != nil {
		return Head{}, ErrBadHead
	}
	h.Records = recs
	return h, nil
}

// Head is the position c has read to: its file's salt and its record
// count. The zero Cursor has the zero Head.
func (c Cursor) Head() Head {
	var h Head
	if c.header != nil {
		copy(h.Salt[:], c.header[len(magic):])
		h.Records = c.Records
	}
	return h
}

// Reaches reports whether c has read at least up to h: h is the zero
// Head, or c read the file h names and at least h.Records of its records.
// A log that was cut back, or an older copy of it (fewer records, or from
// before a Rewrite), does not reach the head of a later write.
func (c Cursor) Reaches(h Head) bool {
	if h == (Head{}) {
		return true
	}
	ch := c.Head()
	return ch.Salt == h.Salt && ch.Records >= h.Records
}

// Exists reports whether the log file exists.
func (l *Log) Exists() (bool, error) {
	_, err := os.Lstat(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sealedlog: %w", err)
	}
	return true, nil
}

// Read calls fn with each record appended after c (all of them for the
// zero Cursor, or when the file was replaced by Rewrite since c was
// read: then reset is true and the caller must drop what it built from
// earlier records). It returns the new position. A missing file reads as
// empty. fn must not keep rec. An error from fn stops the reading and is
// returned; the returned Cursor then stays c.
func (l *Log) Read(c Cursor, fn func(rec []byte) error) (next Cursor, reset bool, err error) {
	f, err := os.Open(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return Cursor{}, c.header != nil, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("sealedlog: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return c, false, fmt.Errorf("sealedlog: %w", err)
	}
	size := info.Size()
	hdr := make([]byte, headerSize)
	if _, err := io.ReadFull(f, hdr); err != nil {
		if size < int64(headerSize) && c.header == nil {
			// A file cut short before its header was complete: only
			// Rewrite creates files, through a rename, so this is damage.
			return c, false, fmt.Errorf("%w (%d bytes)", ErrNotLog, size)
		}
		return c, false, fmt.Errorf("sealedlog: %w", err)
	}
	if string(hdr[:len(magic)]) != magic {
		return c, false, ErrNotLog
	}
	next = c
	if c.header == nil || !bytes.Equal(c.header, hdr) {
		reset = c.header != nil
		aead, err := l.aead(hdr)
		if err != nil {
			return c, false, err
		}
		next = Cursor{header: hdr, aead: aead, Off: int64(headerSize)}
	} else if size < c.Off {
		return c, false, fmt.Errorf("%w (%d bytes, %d read)", ErrShrunk, size, c.Off)
	} else if size == c.Off+c.Tail && c.Tail == 0 {
		return c, false, nil // nothing new: the common case
	}
	if _, err := f.Seek(next.Off, io.SeekStart); err != nil {
		return c, false, fmt.Errorf("sealedlog: %w", err)
	}
	br := bufio.NewReaderSize(io.LimitReader(f, size-next.Off), 64<<10)
	var lenBuf [4]byte
	var sealed, plain []byte
	next.Tail, next.Damaged = 0, false
	for next.Off < size {
		if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
			next.Tail = size - next.Off
			break
		}
		n := int64(binary.BigEndian.Uint32(lenBuf[:]))
		if n < nonceSize+tagSize || n > MaxRecord+nonceSize+tagSize {
			next.Tail, next.Damaged = size-next.Off, true
			break
		}
		if next.Off+4+n > size {
			next.Tail = size - next.Off
			break
		}
		if int64(cap(sealed)) < n {
			sealed = make([]byte, n)
		}
		sealed = sealed[:n]
		if _, err := io.ReadFull(br, sealed); err != nil {
			return c, false, fmt.Errorf("sealedlog: %w", err)
		}
		plain, err = next.aead.Open(plain[:0], sealed[:nonceSize], sealed[nonceSize:], ad(hdr, next.Records))
		if err != nil {
			next.Tail, next.Damaged = size-next.Off, true
			break
		}
		if err := fn(plain); err != nil {
			return c, false, err
		}
		next.Off += 4 + n
		next.Records++
	}
	return next, reset, nil
}

// Append seals recs and appends them after the records c has read, and
// returns the position after them. The caller must hold its write lock
// and must have brought c up to date with Read under that lock. A tail
// after c (see Cursor) is cut off first; one with a damaged record is
// copied to a ".damaged-*" file beside the log. With sync the file is
// flushed to disk before Append returns. A log that does not exist yet is
// created (through Rewrite).
func (l *Log) Append(c Cursor, sync bool, recs ...[]byte) (Cursor, error) {
	if c.header == nil {
		exists, err := l.Exists()
		if err != nil {
			return c, err
		}
		if exists {
			return c, errors.New("sealedlog: Append with a cursor that has not read the log")
		}
		return l.Rewrite(recs...)
	}
	f, err := os.OpenFile(l.path, os.O_RDWR, 0)
	if err != nil {
		return c, fmt.Errorf("sealedlog: %w", err)
	}
	defer f.Close()
	hdr := make([]byte, headerSize)
	if _, err := io.ReadFull(f, hdr); err != nil || !bytes.Equal(hdr, c.header) {
		return c, errors.New("sealedlog: the log was replaced since it was read")
	}
	info, err := f.Stat()
	if err != nil {
		return c, fmt.Errorf("sealedlog: %w", err)
	}
	if info.Size() < c.Off {
		// Writing at c.Off would leave a hole that ends the log for
		// every reader, losing this record and all later ones.
		return c, fmt.Errorf("%w (%d bytes, %d read)", ErrShrunk, info.Size(), c.Off)
	}
	if info.Size() > c.Off {
		if c.Damaged {
			if err := l.saveTail(f, c.Off, info.Size()); err != nil {
				return c, err
			}
		}
		if err := f.Truncate(c.Off); err != nil {
			return c, fmt.Errorf("sealedlog: %w", err)
		}
	}
	buf, next, err := l.seal(c, recs)
	if err != nil {
		return c, err
	}
	if _, err := f.WriteAt(buf, c.Off); err != nil {
		// Whatever reached the file is an incomplete tail that the next
		// Append cuts off.
		return c, fmt.Errorf("sealedlog: %w", err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			return c, fmt.Errorf("sealedlog: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return c, fmt.Errorf("sealedlog: %w", err)
	}
	return next, nil
}

// Sync flushes the log file to disk.
func (l *Log) Sync() error {
	f, err := os.OpenFile(l.path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sealedlog: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sealedlog: %w", err)
	}
	return nil
}

// Rewrite replaces the log with a new file (a new salt, so a new key)
// holding recs, atomically and durably: a temporary file is written and
// flushed, renamed over the log, and the directory flushed. Readers of the
// old file see it replaced on their next Read. It returns the position
// after recs in the new file.
func (l *Log) Rewrite(recs ...[]byte) (Cursor, error) { return l.RewriteWith(nil, recs...) }

// RewriteWith is Rewrite that calls prepare, when not nil, with the head
// of the new file once that file is on disk and before it replaces the
// log: a caller that keeps heads elsewhere records that either file is
// good, so that a crash on either side of the rename is not taken for
// tampering. When prepare fails the log is left as it was.
func (l *Log) RewriteWith(prepare func(next Head) error, recs ...[]byte) (Cursor, error) {
	hdr := make([]byte, headerSize)
	copy(hdr, magic)
	if _, err := rand.Read(hdr[len(magic):]); err != nil {
		return Cursor{}, fmt.Errorf("sealedlog: %w", err)
	}
	aead, err := l.aead(hdr)
	if err != nil {
		return Cursor{}, err
	}
	start := Cursor{header: hdr, aead: aead, Off: int64(headerSize)}
	dir := filepath.Dir(l.path)
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(l.path)+"-*")
	if err != nil {
		return Cursor{}, fmt.Errorf("sealedlog: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing left
	defer tmp.Close()
	w := bufio.NewWriterSize(tmp, 256<<10)
	w.Write(hdr)
	next := start
	// Seal in batches so that memory stays bounded for large logs.
	for len(recs) > 0 {
		n := min(len(recs), 1024)
		buf, after, err := l.seal(next, recs[:n])
		if err != nil {
			return Cursor{}, err
		}
		if _, err := w.Write(buf); err != nil {
			return Cursor{}, fmt.Errorf("sealedlog: %w", err)
		}
		next, recs = after, recs[n:]
	}
	if err := w.Flush(); err != nil {
		return Cursor{}, fmt.Errorf("sealedlog: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return Cursor{}, fmt.Errorf("sealedlog: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Cursor{}, fmt.Errorf("sealedlog: %w", err)
	}
	if prepare != nil {
		if err := prepare(next.Head()); err != nil {
			return Cursor{}, err
		}
	}
	if err := atomicfile.Rename(tmp.Name(), l.path); err != nil {
		return Cursor{}, fmt.Errorf("sealedlog: %w", err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return Cursor{}, fmt.Errorf("sealedlog: %w", err)
	}
	return next, nil
}

// seal frames and seals recs as the records after c.
func (l *Log) seal(c Cursor, recs [][]byte) ([]byte, Cursor, error) {
	size := 0
	for _, r := range recs {
		if len(r) > MaxRecord {
			return nil, c, fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(r))
		}
		size += 4 + nonceSize + len(r) + tagSize
	}
	buf := make([]byte, 0, size)
	for _, r := range recs {
		buf = binary.BigEndian.AppendUint32(buf, uint32(nonceSize+len(r)+tagSize))
		nonce := buf[len(buf) : len(buf)+nonceSize]
		if _, err := rand.Read(nonce); err != nil {
			return nil, c, fmt.Errorf("sealedlog: %w", err)
		}
		buf = buf[:len(buf)+nonceSize]
		buf = c.aead.Seal(buf, nonce, r, ad(c.header, c.Records))
		c.Off += int64(4 + nonceSize + len(r) + tagSize)
		c.Records++
	}
	c.Tail, c.Damaged = 0, false
	return buf, c, nil
}

// saveTail copies bytes [from, to) of f to a new file beside the log.
func (l *Log) saveTail(f *os.File, from, to int64) error {
	name := l.path + ".damaged-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	out, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("sealedlog: keep the damaged end of the log: %w", err)
	}
	_, err = io.Copy(out, io.NewSectionReader(f, from, to-from))
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("sealedlog: keep the damaged end of the log: %w", err)
	}
	return nil
}

func (l *Log) aead(hdr []byte) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, l.key, hdr[len(magic):], "securesend sealedlog v1: "+l.label, 32)
	if err != nil {
		return nil, fmt.Errorf("sealedlog: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("sealedlog: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealedlog: %w", err)
	}
	return aead, nil
}

// ad is the additional data of record n of the file with header hdr.
func ad(hdr []byte, n uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(hdr), n)
}
