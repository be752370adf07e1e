package desk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

// VerifyOptions say what Verify does besides verifying.
type VerifyOptions struct {
	// Extract, when set, is the folder (created if needed) the documents
	// are written into once the verdict allows it (Extractable): each
	// appears there under its sanitized name only when complete, never
	// overwriting a file.
	Extract string
	// ExtractUnverified allows extracting the documents of a message that
	// is not verified (never of a withheld one).
	ExtractUnverified bool
}

// Verification is the outcome of Verify.
type Verification struct {
	// Report is the full report; its documents' Path is set where they
	// were extracted.
	Report *receive.Report
	// Refused, when set, says why the documents were not extracted.
	Refused string
}

// Shown is the report as it may be shown (Redact).
func (v *Verification) Shown() *receive.Report { return Redact(v.Report) }

// Verify verifies one message read from r (an opened .eml file) by the
// inbox's rules (Verifier; an own key that cannot be unlocked is a
// warning), records a receive.verified audit event and, with
// opts.Extract, writes out the documents the verdict allows.
func (d *Desk) Verify(ctx context.Context, r io.Reader, opts VerifyOptions) (*Verification, error) {
	if opts.ExtractUnverified && opts.Extract == "" {
		return nil, errors.New("extracting documents of a message that is not verified needs the folder to extract to")
	}
	verify, _, err := d.verifier(false)
	if err != nil {
		return nil, err
	}
	var stage *extractStage
	var sink receive.DocumentSink
	if opts.Extract != "" {
		if stage, err = d.newExtractStage(opts.Extract); err != nil {
			return nil, err
		}
		defer stage.discard()
		sink = stage.sink
	}
	rep, err := verify(ctx, r, sink)
	if err != nil {
		return nil, err
	}
	if err := d.record(audit.ReceiveVerified, audit.Fields{
		"from": rep.From, "message_id": rep.MessageID, "verdict": string(rep.Verdict), "fingerprint": rep.SignerFingerprint,
	}); err != nil {
		d.warn(fmt.Errorf("the audit log could not record the verification: %w", err))
	}
	v := &Verification{Report: rep}
	if stage == nil {
		return v, nil
	}
	if ok, why := Extractable(rep, opts.ExtractUnverified); !ok {
		v.Refused = why
		for i := range rep.Documents {
			rep.Documents[i].Path = "" // staged only, and removed
		}
		return v, nil
	}
	if err := stage.publish(rep); err != nil {
		return nil, err
	}
	return v, nil
}

// Extractable reports whether the documents of a message with report r
// may be written to an extraction folder, and if not, why: a verified
// message's always; a message that is not verified only with unverified;
// a withheld one's (cannot-decrypt, bad-signature) never.
func Extractable(r *receive.Report, unverified bool) (ok bool, why string) {
	switch {
	case Withheld(r):
		return false, fmt.Sprintf("nothing extracted: the documents are withheld because the message failed its integrity or signature check (%s)", r.Verdict)
	case Trusted(r):
		return true, ""
	case !unverified:
		return false, fmt.Sprintf("nothing extracted: the message is not verified (%s); to extract its documents anyway, add --extract-unverified", r.Verdict)
	}
	switch r.Verdict {
	case receive.Verified, receive.NotSigned, receive.UnknownSigner, receive.NotAddressed, receive.SenderMismatch:
		return true, ""
	}
	return false, fmt.Sprintf("nothing extracted: documents of a %s message are never extracted", r.Verdict)
}

// record appends one event to the audit log.
func (d *Desk) record(kind audit.Kind, fields audit.Fields) error {
	l, err := d.Audit()
	if err != nil {
		return err
	}
	_, err = l.Append(audit.Event{Kind: kind, Fields: fields})
	return err
}

// extractStage holds the documents of a message being verified in this
// process's private temp folder (privtemp: 0700, removed after a crash by
// a later start) and publishes them into the extraction folder only once
// the verdict allows it: each is copied there under a hidden temporary
// name and then given its final name, so a program watching the folder
// never sees an unverified or half-written document under its final
// name.
type extractStage struct {
	dir   string
	tmp   *privtemp.Dir
	files []string // staged paths, in the sink's order
}

func (d *Desk) newExtractStage(dir string) (*extractStage, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tmp, err := privtemp.New("")
	if tmp == nil {
		return nil, err
	}
	d.warn(err)
	return &extractStage{dir: dir, tmp: tmp}, nil
}

// sink is the receive.DocumentSink: it stages the document.
func (s *extractStage) sink(_, _ string, r io.Reader) (string, error) {
	p, err := s.tmp.Write("part", r)
	if err != nil {
		return "", err
	}
	s.files = append(s.files, p)
	return p, nil
}

// publish copies each staged document of rep to its sanitized name in the
// extraction folder, never overwriting ("name (2).ext" when taken), and
// sets the documents' Path. The staged files are matched to the report's
// documents by the Path the sink returned, or else by order.
func (s *extractStage) publish(rep *receive.Report) error {
	staged := map[string]bool{}
	for _, f := range s.files {
		staged[f] = true
	}
	next := 0
	for i := range rep.Documents {
		doc := &rep.Documents[i]
		src := doc.Path
		if !staged[src] {
			if next >= len(s.files) {
				return fmt.Errorf("extract %s: the document was not staged", termsafe.String(doc.Name))
			}
			src = s.files[next]
		}
		next++
		final, err := s.publishOne(src, receive.SanitizeName(doc.Name))
		if err != nil {
			return fmt.Errorf("extract %s: %w", termsafe.String(doc.Name), err)
		}
		doc.Path = final
	}
	return nil
}

// publishOne copies src into a hidden temporary file in the extraction
// folder, flushes it to disk and gives it its final name.
func (s *extractStage) publishOne(src, name string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(s.dir, ".securesend-partial-")
	if err != nil {
		return "", err
	}
	tmp := out.Name()
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	final, err := placeNoClobber(tmp, s.dir, name)
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return final, nil
}

// discard removes the staged documents.
func (s *extractStage) discard() { s.tmp.Close() }

// placeNoClobber gives src the name name in dir, or "name (2).ext" and so
// on when taken, atomically and never replacing an existing file: a hard
// link under the final name then removal of the temporary one, or, where
// the file system has no hard links, a rename after checking the name is
// free.
func placeNoClobber(src, dir, name string) (string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; i < 10000; i++ {
		candidate := name
		if i > 1 {
			candidate = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		dst := filepath.Join(dir, candidate)
		err := os.Link(src, dst)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			if _, lerr := os.Lstat(dst); lerr == nil {
				continue
			}
			if err := os.Rename(src, dst); err != nil {
				return "", err
			}
			return dst, nil
		}
		os.Remove(src)
		return dst, nil
	}
	return "", errors.New("too many files with that name")
}
