package desk

import (
	"errors"
	"fmt"
	"github.com/securesend/securesend/audit"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/securesend/securesend/internal/doccheck"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

// Inbox opens (once) the home's store of received mail (home/inbox), kept
// encrypted with the key "inbox" in the OS keychain.
func (d *Desk) Inbox() (*receive.Store, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inbox != nil {
		return d.inbox, nil
	}
	key, err := d.kc.Key("inbox")
	if err != nil {
		return nil, err
	}
	// The index log's head is anchored in the keychain too, so an older
	// copy of index.log put back (or one cut short) is refused.
	st, err := receive.OpenAnchoredStore(d.home.Path("inbox"), key, d.kc, nil)
	if err != nil {
		return nil, err
	}
	d.inbox = st
	return st, nil
}

// TrustInboxIndex accepts the inbox's index as it is now, after the user
// put an older copy back on purpose (from a backup): what was recorded
// after that copy is forgotten and fetched again. It is audited. Without
// it, such an index is refused (receive.ErrIndexRolledBack), since a
// copy put back by someone else would hide messages.
func (d *Desk) TrustInboxIndex() error {
	st, err := d.Inbox()
	if err != nil {
		return err
	}
	if err := st.TrustIndex(); err != nil {
		return err
	}
	return d.record(audit.InboxIndexTrusted, audit.Fields{"reason": "an older inbox index was accepted by the user"})
}

// Received is one inbox item as it may be shown: its report is redacted
// when the message failed its integrity or signature check (Redact).
type Received struct {
	Item   *receive.Item
	Report *receive.Report
	// Earlier are the items this one repeats (Item.Duplicates), in the
	// same order; nil where the earlier item is gone.
	Earlier []*receive.Item
}

// Received returns inbox item id ready to show.
func (d *Desk) Received(id string) (*Received, error) {
	st, err := d.Inbox()
	if err != nil {
		return nil, err
	}
	it, err := st.Get(id)
	if err != nil {
		return nil, err
	}
	rep, err := st.Report(id)
	if err != nil {
		return nil, err
	}
	r := &Received{Item: it, Report: Redact(rep)}
	for _, dup := range it.Duplicates {
		earlier, err := st.Get(dup.Of)
		if err != nil {
			earlier = nil
		}
		r.Earlier = append(r.Earlier, earlier)
	}
	return r, nil
}

// ReceivedAll returns every inbox item ready to show, in the store's
// order.
func (d *Desk) ReceivedAll() ([]Received, error) {
	st, err := d.Inbox()
	if err != nil {
		return nil, err
	}
	items, err := st.List()
	if err != nil {
		return nil, err
	}
	out := make([]Received, 0, len(items))
	for i := range items {
		rep, err := st.Report(items[i].ID)
		if err != nil {
			return nil, err
		}
		out = append(out, Received{Item: &items[i], Report: Redact(rep)})
	}
	return out, nil
}

// Withheld reports whether nothing from inside the message may be shown
// or released: it failed its integrity or signature check.
func Withheld(r *receive.Report) bool { return r.Withheld || !r.Verdict.Releasable() }

// Trusted reports whether the documents of a message with report r may be
// opened without a confirmation: verified, and not by an impostor.
func Trusted(r *receive.Report) bool { return r.Verdict == receive.Verified && !r.Impostor }

// Redact returns r itself, or, for a withheld report, a copy without
// anything that came from inside the message (note, subject, recipients,
// document list), for showing and JSON.
func Redact(r *receive.Report) *receive.Report {
	if !Withheld(r) {
		return r
	}
	c := *r
	c.Withheld = true
	c.Note, c.Subject, c.SubjectSigned = "", "", false
	c.To, c.Cc, c.Date = nil, nil, time.Time{}
	c.Documents = []receive.Document{}
	c.Omitted = nil
	c.Signed = receive.SignedFields{}
	return &c
}

// WithheldError refuses a document of a message that failed its integrity
// or signature check: nothing from it is opened or saved.
type WithheldError struct {
	ID      string
	Verdict receive.Verdict
}

func (e *WithheldError) Error() string {
	return fmt.Sprintf("item #%s failed its integrity or signature check (%s): its documents are withheld and cannot be opened or saved", e.ID, e.Verdict)
}

// UnconfirmedError refuses a document of a message that is not verified
// until the caller passes the user's answer to that question
// (OpenOptions.Confirmed.Unverified) after showing Report's verdict and
// reason. Report is the full report (never that of a withheld message).
type UnconfirmedError struct {
	ID     string
	Report *receive.Report
}

func (e *UnconfirmedError) Error() string {
	return fmt.Sprintf("item #%s is not verified (%s), so its documents are opened only after a confirmation", e.ID, e.Report.Verdict)
}

// NotOpenableError refuses to hand a document to a viewer: it is not a
// PDF, TIFF, JPEG or PNG whose content matches its name.
type NotOpenableError struct{ Name string }

func (e *NotOpenableError) Error() string {
	return fmt.Sprintf("%s is not a PDF, TIFF, JPEG or PNG whose content matches its name, so it is not opened with another program", termsafe.String(e.Name))
}

// OpenOptions say why a document is decrypted and where to.
type OpenOptions struct {
	// Temp, when set, receives the decrypted copy in a subfolder of its
	// own (for a viewer, or to copy where the user chooses).
	Temp *privtemp.Dir
	// Dir, when Temp is nil, is the folder the user chose: the copy is
	// written there under the document's sanitized name, never
	// overwriting a file.
	Dir string
	// View: the copy is for the system viewer, so only an openable type
	// (internal/doccheck.Openable) is written; otherwise any type is
	// written and Document.Openable says whether it may be opened.
	View bool
	// Confirmed holds the user's answers to the questions asked before a
	// document of a message that is not plainly current and verified is
	// released: each answer passes its own refusal only.
	Confirmed Confirmations
}

// Confirmations are the user's answers to the two questions a front end
// asks before a document is released from a message that is not plainly
// current and verified. They are separate because they approve different
// dangers: a forged or altered document (not verified), and a withdrawn
// or outdated one (cancelled or replaced: the pharmacist must not
// dispense it). Each is set only from the answer to its own question,
// never from the other's; a message that is both (an unverified copy of a
// cancelled one, receive.Supersession.CopyOf, or a replaced message whose
// key has since changed) needs both.
type Confirmations struct {
	// Superseded: the user, shown SupersededBanner (what cancelled or
	// replaced the message, when and why), chose to open it anyway.
	// Answers *SupersededError.
	Superseded bool
	// Unverified: the user, shown the verdict and its reason, chose to
	// open a document of a message that is not verified (Trusted is
	// false). Answers *UnconfirmedError.
	Unverified bool
}

// Document is a decrypted copy of a received document.
type Document struct {
	// Path is the decrypted copy.
	Path string
	// Name is the document's sanitized file name.
	Name string
	// Kind names the type when Openable ("PDF", ...).
	Kind string
	// Openable: a PDF, TIFF, JPEG or PNG whose content matches its name.
	Openable bool
}

// OpenDocument decrypts document n (from 0) of inbox item id into
// opts.Dir, by the rules for releasing received content: a withheld
// message's documents never (*WithheldError); one of a message that its
// sender cancelled or replaced only with opts.Confirmed.Superseded
// (*SupersededError); one of a message that is not verified only with
// opts.Confirmed.Unverified (*UnconfirmedError); for a viewer only an
// openable type (*NotOpenableError).
//
// When both confirmations are missing the supersession is refused first
// (its error says, in Unverified, that the other question follows): that
// the sender withdrew the message is the answer that most often ends the
// matter, and the second question is asked only if the pharmacist still
// wants the document. A caller asks the question of the error it got,
// sets that answer only, and calls again.
func (d *Desk) OpenDocument(id string, n int, opts OpenOptions) (*Document, error) {
	st, err := d.Inbox()
	if err != nil {
		return nil, err
	}
	rep, err := st.Report(id)
	if err != nil {
		return nil, err
	}
	if Withheld(rep) {
		return nil, &WithheldError{ID: id, Verdict: rep.Verdict}
	}
	if n < 0 || n >= len(rep.Documents) {
		return nil, fmt.Errorf("item #%s has %d document(s)", id, len(rep.Documents))
	}
	it, err := st.Get(id)
	if err != nil {
		return nil, err
	}
	if it.Superseded != nil && !opts.Confirmed.Superseded { // cancelled or replaced: no longer current
		return nil, &SupersededError{ID: id, Superseded: it.Superseded, Unverified: !Trusted(rep) && !opts.Confirmed.Unverified}
	}
	if !Trusted(rep) && !opts.Confirmed.Unverified {
		return nil, &UnconfirmedError{ID: id, Report: rep}
	}
	name := receive.SanitizeName(rep.Documents[n].Name)
	head, err := sniffDocument(st, id, n)
	if err != nil {
		return nil, err
	}
	kind, openable := doccheck.Openable(name, head)
	if opts.View && !openable {
		return nil, &NotOpenableError{Name: name}
	}
	var path string
	if opts.Temp != nil {
		r, err := st.OpenDocument(id, n)
		if err != nil {
			return nil, err
		}
		path, err = opts.Temp.Write(name, r)
		r.Close()
		if err != nil {
			return nil, err
		}
	} else {
		path = filepath.Join(opts.Dir, name)
		if err := writeDocument(st, id, n, path); err != nil {
			return nil, err
		}
	}
	return &Document{Path: path, Name: name, Kind: kind, Openable: openable}, nil
}

// writeDocument decrypts document n of item id to path (never overwriting),
// removing the file again if the stored copy turns out damaged.
func writeDocument(st *receive.Store, id string, n int, path string) error {
	r, err := st.OpenDocument(id, n)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// sniffDocument returns the first bytes of document n of item id, for
// doccheck.Openable.
func sniffDocument(st *receive.Store, id string, n int) ([]byte, error) {
	r, err := st.OpenDocument(id, n)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	head := make([]byte, doccheck.SniffLen)
	k, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	return head[:k], nil
}
