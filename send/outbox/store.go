package outbox

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/securesend/securesend/crypto/atrest"
	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/internal/filelock"
)

// makePrivate checks that dir is a folder and narrows its permissions to
// 0700 (on Windows, where permission bits mean nothing, the folder's ACLs
// decide, as for the rest of the home). An outbox folder created by an
// older version, or by hand, may be readable by others; chmod fails
// unless the folder is the user's, so another user's folder is refused.
func makePrivate(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("outbox: %s is not a folder", dir)
	}
	if runtime.GOOS == "windows" || fi.Mode().Perm() == 0o700 {
		return nil
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("outbox: %s can be read by others (mode %04o) and cannot be made private: %w", dir, fi.Mode().Perm(), err)
	}
	if fi, err = os.Stat(dir); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if fi.Mode().Perm() != 0o700 {
		// A file system that ignores chmod (some network shares).
		return fmt.Errorf("outbox: %s can be read by others (mode %04o) and cannot be made private", dir, fi.Mode().Perm())
	}
	return nil
}

// newID returns a random job id: 32 hex digits, telling nothing.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("outbox: random id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// validID reports whether id looks like a job id (and so is a safe file
// name).
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

func (o *Outbox) msgPath(id string) string { return filepath.Join(o.dir, id+msgExt) }
func (o *Outbox) jobPath(id string) string { return filepath.Join(o.dir, id+jobExt) }

// writeFile stores, encrypted and crash-safely, what fill writes under
// name: temporary file, fsync, rename, fsync of the directory.
func (o *Outbox) writeFile(name string, fill func(w io.Writer) error) (err error) {
	f, err := os.CreateTemp(o.dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("outbox: create file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	enc, err := atrest.Encrypt(f, o.key)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if err := fill(enc); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("outbox: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("outbox: write: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("outbox: write: %w", err)
	}
	if err := atomicfile.Rename(tmp, filepath.Join(o.dir, name)); err != nil {
		return fmt.Errorf("outbox: write: %w", err)
	}
	return o.syncDir()
}

// syncDir makes creations, renames and removals in the directory durable,
// the way the operating system allows (atomicfile.SyncDir: on Windows a
// directory opened the ordinary way cannot be flushed, and the renames
// were written through instead).
func (o *Outbox) syncDir() error {
	if err := atomicfile.SyncDir(o.dir); err != nil {
		return fmt.Errorf("outbox: sync directory: %w", err)
	}
	return nil
}

// save stores rec.
func (o *Outbox) save(rec *Record) error {
	return o.writeFile(rec.ID+jobExt, func(w io.Writer) error {
		if err := json.NewEncoder(w).Encode(rec); err != nil {
			return fmt.Errorf("outbox: encode job: %w", err)
		}
		return nil
	})
}

// load reads the record of id.
func (o *Outbox) load(id string) (*Record, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w: %q is not a job id", ErrNotFound, id)
	}
	f, err := os.Open(o.jobPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if err := o.decryptTo(&buf, f); err != nil {
		return nil, fmt.Errorf("job %s: %w", id, err)
	}
	var rec Record
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		return nil, fmt.Errorf("outbox: job %s: %w", id, err)
	}
	if rec.ID != id {
		return nil, fmt.Errorf("outbox: job %s: the file holds job %s (files were swapped)", id, rec.ID)
	}
	return &rec, nil
}

// ids lists the stored job ids.
func (o *Outbox) ids() ([]string, error) {
	ents, err := os.ReadDir(o.dir)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), jobExt); ok && validID(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// lockDir takes the in-process and cross-process directory lock that
// serialises metadata changes.
func (o *Outbox) lockDir() (func(), error) {
	release, err := o.dirLock.Lock()
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return func() {
		pending := o.pending
		o.pending = nil
		release()
		if o.opts.Notify != nil {
			for _, r := range pending {
				o.opts.Notify(r)
			}
		}
	}, nil
}

// tryLockMsg takes the delivery lock of id without waiting; ok is false
// when another holder has it.
func (o *Outbox) tryLockMsg(id string) (release func(), ok bool, err error) {
	f, err := os.Open(o.msgPath(id))
	if err != nil {
		return nil, false, fmt.Errorf("outbox: job %s: message: %w", id, err)
	}
	got, err := filelock.TryLock(f)
	if err != nil || !got {
		f.Close()
		if err != nil {
			return nil, false, fmt.Errorf("outbox: lock job %s: %w", id, err)
		}
		return nil, false, nil
	}
	return func() {
		_ = filelock.Unlock(f)
		f.Close()
	}, true, nil
}
