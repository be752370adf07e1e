package receive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/filelock"
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
}

// index is inbox/index.json.
type index struct {
	Version int    `json:"version"`
	Items   []Item `json:"items"`
}

// Store is the local store of received messages below a directory (the
// inbox directory of the securesend home). Messages, reports and documents
// are encrypted at rest with a key from the keychain; the plaintext index
// holds only what de-duplication and listing need (addresses, hashes,
// verdicts, Message-IDs).
//
// Writers in one process and in several (the GUI and a CLI command) take
// turns: each read-modify-write of the index holds the store's lock file.
// Readers need no lock, as the index is replaced atomically.
type Store struct {
	dir    string
	key    []byte
	now    func() time.Time
	writer *filelock.Mutex // the lock file "lock"
}

// ErrNoItem is returned for an unknown item ID.
var ErrNoItem = errors.New("no such inbox item")

// OpenStore opens (creating) the store in dir with the at-rest key (see
// keychain.Key). now is the clock; time.Now when nil.
func OpenStore(dir string, key []byte, now func() time.Time) (*Store, error) {
	if len(key) != atrest.KeySize {
		return nil, atrest.ErrKeySize
	}
	if err := os.MkdirAll(filepath.Join(dir, "items"), 0o700); err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &Store{dir: dir, key: key, now: now, writer: &filelock.Mutex{Path: filepath.Join(dir, "lock")}}, nil
}

// lock takes the store's write lock, for this process and the others.
func (s *Store) lock() (unlock func(), err error) {
	unlock, err = s.writer.Lock()
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	return unlock, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// List returns all items, oldest first.
func (s *Store) List() ([]Item, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	return idx.Items, nil
}

// Get returns the item with id.
func (s *Store) Get(id string) (*Item, error) {
	items, err := s.List()
	if err != nil {
		return nil, err
	}
	for i := range items {
		if items[i].ID == id {
			return &items[i], nil
		}
	}
	return nil, fmt.Errorf("inbox: item %q: %w", id, ErrNoItem)
}

// Report decrypts and returns the full verification report of item id
// (subject, note, document names). Document paths in it name the
// encrypted files; use OpenDocument to read them.
func (s *Store) Report(id string) (*Report, error) {
	if _, err := s.Get(id); err != nil {
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
	return &rep, nil
}

// OpenDocument returns a reader of the plaintext of document n (0-based) of
// item id. The reader fails with atrest.ErrTampered if the file was
// altered; callers must read to io.EOF before trusting what they got.
func (s *Store) OpenDocument(id string, n int) (io.ReadCloser, error) {
	it, err := s.Get(id)
	if err != nil {
		return nil, err
	}
	if n < 0 || n >= len(it.Documents) {
		return nil, fmt.Errorf("inbox: item %s has no document %d", id, n+1)
	}
	return s.openEncrypted(filepath.Join(s.itemDir(id), it.Documents[n].File))
}

// OpenMessage returns a reader of the raw message of item id.
func (s *Store) OpenMessage(id string) (io.ReadCloser, error) {
	if _, err := s.Get(id); err != nil {
		return nil, err
	}
	return s.openEncrypted(filepath.Join(s.itemDir(id), "message.eml.enc"))
}

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
	tmp, err := os.MkdirTemp(filepath.Join(s.dir, "items"), ".new-")
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

// Commit verifies a staged message with verify, whose documents are
// streamed to encrypted files, stores the report (encrypted) and adds the
// item to the index with its duplicate warnings. If the very same bytes
// were stored before, or the message is a re-listing after a UIDVALIDITY
// change (see Inbox), nothing is added and the earlier item is returned
// with added == false, its Source updated to src.
func (s *Store) Commit(ctx context.Context, st *Staged, src Source, verify VerifyFunc) (item *Item, added bool, err error) {
	unlock, err := s.lock()
	if err != nil {
		st.Discard()
		return nil, false, err
	}
	defer unlock()
	defer st.Discard() // after a successful rename there is nothing left
	tmp := st.dir
	idx, err := s.readIndex()
	if err != nil {
		return nil, false, err
	}
	s.removeStaging()
	for i := range idx.Items {
		if idx.Items[i].RawSHA256 == st.rawHash {
			return s.reseen(idx, i, src)
		}
	}

	// Verify from the encrypted copy, so the message is read from the
	// network only once and never kept in memory.
	msg, err := s.openEncrypted(filepath.Join(tmp, "message.eml.enc"))
	if err != nil {
		return nil, false, err
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
		return nil, false, fmt.Errorf("inbox: verify: %w", err)
	}

	it := Item{
		ID:                s.freeID(idx.Items),
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
			return nil, false, fmt.Errorf("inbox: verify reported document %q that was not stored", d.Name)
		}
		if d.SHA256 != "" && !strings.EqualFold(d.SHA256, sd.SHA256) {
			return nil, false, fmt.Errorf("inbox: document %q: hash mismatch between verifier and store", d.Name)
		}
		d.SHA256 = sd.SHA256
		it.Documents = append(it.Documents, sd)
	}
	if i := relisted(idx.Items, &it); i >= 0 {
		return s.reseen(idx, i, src)
	}
	it.Duplicates = duplicates(idx.Items, &it)

	if err := s.writeEncryptedJSON(filepath.Join(tmp, "report.json.enc"), rep); err != nil {
		return nil, false, err
	}
	if err := os.Rename(tmp, s.itemDir(it.ID)); err != nil {
		return nil, false, fmt.Errorf("inbox: %w", err)
	}
	idx.Items = append(idx.Items, it)
	if err := s.writeIndex(idx); err != nil {
		os.RemoveAll(s.itemDir(it.ID))
		return nil, false, err
	}
	return &it, true, nil
}

// relisted finds the item that it is a re-listing of after the server
// renumbered the mailbox (a restore or migration can change a message's
// bytes, for example by adding a header): an item from the same account and
// mailbox, fetched under another UIDVALIDITY, with the same Message-ID and
// the same documents. It returns -1 when there is none. A message sent
// again arrives under the current UIDVALIDITY, or finds its original
// already re-seen, so it is stored and flagged, never dropped.
func relisted(items []Item, it *Item) int {
	src := it.Source
	if it.MessageID == "" || src.UIDValidity == 0 {
		return -1
	}
	for i := range items {
		e := &items[i]
		if e.Source.Account != src.Account || e.Source.Mailbox != src.Mailbox || e.Source.UIDValidity == src.UIDValidity {
			continue
		}
		if e.MessageID != it.MessageID || len(e.Documents) != len(it.Documents) {
			continue
		}
		same := true
		for j := range e.Documents {
			same = same && e.Documents[j].SHA256 == it.Documents[j].SHA256
		}
		if same {
			return i
		}
	}
	return -1
}

// reseen records that item i is on the server again at src (new UIDs after
// a UIDVALIDITY change), so that Archive finds it, and returns it as known.
func (s *Store) reseen(idx *index, i int, src Source) (*Item, bool, error) {
	e := &idx.Items[i]
	if src.UIDValidity != 0 && e.Source.Account == src.Account && e.Source.Mailbox == src.Mailbox && e.Source != src {
		e.Source = src
		if err := s.writeIndex(idx); err != nil {
			return nil, false, err
		}
	}
	return e, false, nil
}

// setArchived records that item id was moved to mailbox on the server.
func (s *Store) setArchived(id, mailbox string) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	for i := range idx.Items {
		if idx.Items[i].ID == id {
			idx.Items[i].Archived = mailbox
			return s.writeIndex(idx)
		}
	}
	return fmt.Errorf("inbox: item %q: %w", id, ErrNoItem)
}

// duplicates finds the earliest earlier item with the same Message-ID and,
// for each document, the earliest item with a document of the same hash.
func duplicates(earlier []Item, it *Item) []Duplicate {
	var out []Duplicate
	if it.MessageID != "" {
		for _, e := range earlier {
			if e.MessageID == it.MessageID {
				out = append(out, Duplicate{Kind: "message-id", Of: e.ID})
				break
			}
		}
	}
	seen := map[string]bool{}
	for _, d := range it.Documents {
		if seen[d.SHA256] {
			continue
		}
		seen[d.SHA256] = true
	search:
		for _, e := range earlier {
			for _, ed := range e.Documents {
				if ed.SHA256 == d.SHA256 {
					out = append(out, Duplicate{Kind: "document", SHA256: d.SHA256, Of: e.ID})
					break search
				}
			}
		}
	}
	return out
}

// staleAfter is how old a staging directory must be before another
// writer removes it: staging runs without the lock, so a younger one may
// be a fetch under way in another process.
const staleAfter = time.Hour

// removeStaging deletes, under the write lock, staging directories
// (items/.new-*) that a killed fetch left behind more than staleAfter ago.
// Their content is encrypted; removing them only frees the space.
func (s *Store) removeStaging() {
	ents, err := os.ReadDir(filepath.Join(s.dir, "items"))
	if err != nil {
		return
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".new-") {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleAfter {
			os.RemoveAll(filepath.Join(s.dir, "items", e.Name()))
		}
	}
}

// freeID is the item number after every one in use: in the index, and in
// items/ (a writer killed between renaming an item into place and
// writing the index leaves a directory that the index does not know; its
// message was not recorded, so the next fetch stores it again, under a
// new number, and the old directory is left alone).
func (s *Store) freeID(items []Item) string {
	max := 0
	for _, it := range items {
		if n, err := strconv.Atoi(it.ID); err == nil && n > max {
			max = n
		}
	}
	if ents, err := os.ReadDir(filepath.Join(s.dir, "items")); err == nil {
		for _, e := range ents {
			if n, err := strconv.Atoi(e.Name()); err == nil && n > max {
				max = n
			}
		}
	}
	return strconv.Itoa(max + 1)
}

func (s *Store) itemDir(id string) string { return filepath.Join(s.dir, "items", id) }

// encryptTo streams r into an encrypted file at p and returns the hex
// SHA-256 of the plaintext (and its size, when size is not nil).
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

func (s *Store) readIndex() (*index, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, "index.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return &index{Version: 1, Items: []Item{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	var idx index
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("inbox: index.json is damaged: %w", err)
	}
	if idx.Items == nil {
		idx.Items = []Item{}
	}
	return &idx, nil
}

func (s *Store) writeIndex(idx *index) error {
	idx.Version = 1
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	return writeFileAtomic(filepath.Join(s.dir, "index.json"), append(data, '\n'))
}

// writeFileAtomic replaces p with data (mode 0600), atomically and
// durably.
func writeFileAtomic(p string, data []byte) error {
	if err := atomicfile.WriteFile(p, data); err != nil {
		return fmt.Errorf("inbox: %w", err)
	}
	return nil
}
