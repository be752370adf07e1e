package receive

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/securesend/securesend/crypto/atrest"
)

// stager holds the documents of one message while it is judged: each is
// written to a file in a private directory (0700, created on first use
// under base), encrypted with crypto/atrest under a random key that exists
// only in this process's memory, so that nothing from a message that turns
// out to fail its checks is ever readable on disk. After the verdict,
// release replays the documents to the sink; cleanup removes the
// directory and forgets the key on every path.
type stager struct {
	base string // where the private directory goes; "" = os.TempDir()
	dir  string // the private directory, "" until the first document
	key  []byte
	docs []stagedDoc
}

type stagedDoc struct {
	doc  Document
	file string // "" when there is no sink (nothing to replay)
}

// errStaging marks failures of the staging area (the local disk), which
// are I/O errors of Verify, not verdicts about the message.
var errStaging = errors.New("receive: staging area")

// add reads one document from r, records its size and SHA-256 and, when
// keep is set, stages an encrypted copy. An error reading r is returned
// as it is (the message's content failed); failures of the staging area
// wrap errStaging.
func (s *stager) add(name, contentType string, r io.Reader, keep bool) error {
	sum := sha256.New()
	cnt := &counter{}
	tr := &trackingReader{r: r}
	src := io.TeeReader(tr, io.MultiWriter(sum, cnt))
	doc := Document{Name: name, ContentType: contentType}
	file := ""
	if keep {
		f, err := s.create()
		if err != nil {
			return err
		}
		file = f.Name()
		w, err := atrest.Encrypt(f, s.key)
		if err == nil {
			_, err = io.Copy(w, src)
			if err == nil {
				err = w.Close()
			}
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(file)
			if tr.err != nil {
				return tr.err
			}
			return fmt.Errorf("%w: %s: %w", errStaging, name, err)
		}
	} else if _, err := io.Copy(io.Discard, src); err != nil {
		return err
	}
	doc.Size = cnt.n
	doc.SHA256 = hex.EncodeToString(sum.Sum(nil))
	s.docs = append(s.docs, stagedDoc{doc: doc, file: file})
	return nil
}

// create makes the private directory and key on first use and returns a
// new file in it.
func (s *stager) create() (*os.File, error) {
	if s.dir == "" {
		s.key = make([]byte, atrest.KeySize)
		if _, err := rand.Read(s.key); err != nil {
			return nil, fmt.Errorf("%w: %w", errStaging, err)
		}
		dir, err := os.MkdirTemp(s.base, "securesend-stage-*") // mode 0700
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errStaging, err)
		}
		s.dir = dir
	}
	f, err := os.CreateTemp(s.dir, "doc-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errStaging, err)
	}
	return f, nil
}

// release replays every staged document to sink, in message order, and
// returns their records with the sink's paths. The replayed content is
// authenticated by atrest and its SHA-256 compared with the one taken
// while staging; a mismatch or read error is an error (the staging area
// was damaged), reported after the sink has seen the failing read. A
// cancelled ctx stops it before the next document.
func (s *stager) release(ctx context.Context, sink DocumentSink) ([]Document, error) {
	out := make([]Document, 0, len(s.docs))
	for _, d := range s.docs {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("receive: %w", err)
		}
		doc := d.doc
		if sink != nil && d.file != "" {
			path, err := s.replay(sink, d)
			if err != nil {
				return out, err
			}
			doc.Path = path
		}
		out = append(out, doc)
	}
	return out, nil
}

func (s *stager) replay(sink DocumentSink, d stagedDoc) (string, error) {
	f, err := os.Open(d.file)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", errStaging, d.doc.Name, err)
	}
	defer f.Close()
	plain, err := atrest.Decrypt(f, s.key)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", errStaging, d.doc.Name, err)
	}
	sum := sha256.New()
	tr := &trackingReader{r: io.TeeReader(plain, sum)}
	path, err := sink(d.doc.Name, d.doc.ContentType, tr)
	if tr.err != nil {
		return "", fmt.Errorf("%w: %s: %w", errStaging, d.doc.Name, tr.err)
	}
	if err != nil {
		return "", fmt.Errorf("receive: document %s: %w", d.doc.Name, err)
	}
	if _, err := io.Copy(io.Discard, tr); err != nil {
		return "", fmt.Errorf("%w: %s: %w", errStaging, d.doc.Name, err)
	}
	if hex.EncodeToString(sum.Sum(nil)) != d.doc.SHA256 {
		return "", fmt.Errorf("%w: %s: the staged copy differs from the received document", errStaging, d.doc.Name)
	}
	return path, nil
}

// cleanup removes the staging directory and forgets the key. A directory
// that cannot be removed holds only files encrypted under the forgotten
// key, so its removal error is returned for logging only.
func (s *stager) cleanup() error {
	clear(s.key)
	s.key = nil
	s.docs = nil
	if s.dir == "" {
		return nil
	}
	dir := s.dir
	s.dir = ""
	return os.RemoveAll(dir)
}
