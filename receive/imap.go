package receive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Inbox fetches new mail from an IMAP mailbox into a Store, verifying each
// message.
//
// It never deletes, moves or flags server mail: the mailbox is opened
// read-only (EXAMINE) and bodies are fetched with BODY.PEEK[]. Fetching is
// incremental: the mailbox's UIDVALIDITY and the next UID to fetch are kept
// per account in the store's index (see Store).
//
// No message can stop later ones from arriving: one that the server will
// not serve, or that cannot be verified or stored, is recorded with
// Store.RecordFailure, fetching moves on past it, and later fetches try it
// again (after the new mail) until it succeeds or MaxFetchAttempts is
// reached. Only the user's cancellation and local disk errors stop a fetch
// without blaming a message.
//
// When UIDVALIDITY changes (the server renumbered the mailbox), the fetch
// says so (FetchResult.UIDValidityChanged) and lists again only the
// messages that arrived since a day before the last complete fetch (IMAP
// SEARCH SINCE, by arrival date), not the whole mailbox: a server whose
// UIDVALIDITY flaps cannot make every fetch download everything again. A
// message whose bytes are already stored, or that has the Message-ID and
// documents of an item fetched before the renumbering, is not stored
// twice (the item takes its new UID). A message sent again is still stored
// and flagged as a duplicate.
type Inbox struct {
	Store *Store
	// Verify checks each message; required.
	Verify VerifyFunc
}

// DefaultFetchTimeout is the overall time limit of one fetch that the CLI
// and the GUI put on its context.
const DefaultFetchTimeout = 10 * time.Minute

// MaxListed is the most messages one fetch lists; a server that lists more
// is refused (the listing is held in memory, 4 bytes a message).
const MaxListed = 1 << 20

// ErrUIDValidity means the server gave the mailbox UIDVALIDITY 0, which
// IMAP forbids (RFC 9051 section 2.3.1.1): UIDs mean nothing without it.
var ErrUIDValidity = errors.New("the IMAP server gave the mailbox no valid UIDVALIDITY")

// ErrEmptyBody means the server returned an empty body for a message;
// the message is recorded as failed and tried again.
var ErrEmptyBody = errors.New("the server returned an empty body")

// MaxFailuresInRow is how many messages in a row one fetch may fail to
// fetch, verify or store before it stops with ErrTooManyFailures; the
// next fetch goes on after them. It bounds what a server that serves
// nothing can make one fetch record and wait for.
const MaxFailuresInRow = 20

// ErrTooManyFailures means a fetch stopped after MaxFailuresInRow
// messages in a row failed.
var ErrTooManyFailures = errors.New("too many messages in a row could not be fetched")

// ErrUnrequested means the server sent data the client did not ask for
// (such as a message body in reply to the UID listing); the connection is
// closed without reading it.
var ErrUnrequested = errors.New("the IMAP server sent data that was not asked for")

// FetchOptions say what to fetch.
type FetchOptions struct {
	// Account is the securesend account name the state is kept under.
	Account string
	// Mailbox is "INBOX" when empty.
	Mailbox string
	// Progress, when set, is called after each message with the number
	// done and the number to do.
	Progress func(done, total int)
	// Cause, when set, says why the connection was cut (see
	// account.IMAPConn.Err); go-imap reports it as text only.
	Cause func() error
	// RetryFailure, when set, decides which earlier failures of this
	// mailbox (under its current UIDVALIDITY) the fetch tries again,
	// given up or not; when nil, those not given up are.
	RetryFailure func(Failure) bool
}

// FetchResult is what one Fetch did.
type FetchResult struct {
	// New are the items added to the store, in UID order.
	New []Item `json:"new"`
	// Known counts messages the server listed that were already stored.
	Known int `json:"known"`
	// UIDValidityChanged is true when the server's UIDVALIDITY differed
	// from the one last seen (PreviousUIDValidity), so the recent part of
	// the mailbox was listed again.
	UIDValidityChanged  bool   `json:"uidvalidity_changed"`
	PreviousUIDValidity uint32 `json:"previous_uidvalidity,omitempty"`
	UIDValidity         uint32 `json:"uidvalidity"`
	// Failed are the messages this fetch could not fetch, verify or store,
	// as recorded in the store (see Store.Failures).
	Failed []Failure `json:"failed,omitempty"`
	// Recovered counts earlier failures that were stored this time.
	Recovered int `json:"recovered,omitempty"`
}

// mailboxState is the fetch position in one mailbox.
type mailboxState struct {
	UIDValidity uint32 `json:"uidvalidity"`
	NextUID     uint32 `json:"next_uid"`
	// LastFetch is when the last complete fetch started.
	LastFetch time.Time `json:"last_fetch,omitzero"`
	// LastRelist is when a UIDVALIDITY change last made a fetch list the
	// whole mailbox again (see relistEvery).
	LastRelist time.Time `json:"last_relist,omitzero"`
}

// relistEvery is how often at most a UIDVALIDITY change with a failure
// outstanding lists the whole mailbox again. A server whose UIDVALIDITY
// changes at every SELECT, with one message that always fails, would
// otherwise have every fetch download the whole mailbox.
const relistEvery = 24 * time.Hour

// fetchState is the fetch positions: account -> mailbox -> position.
type fetchState struct {
	Version  int                                `json:"version"`
	Accounts map[string]map[string]mailboxState `json:"accounts"`
}

// verifyError marks an error of the verifier, to tell it from the store's.
type verifyError struct{ err error }

func (e *verifyError) Error() string { return e.err.Error() }
func (e *verifyError) Unwrap() error { return e.err }

// Fetch downloads the messages of the mailbox that arrived since the last
// Fetch, verifies each and stores it, then tries again the earlier
// failures. c must be authenticated; ctx's deadline should also bound the
// connection (account.DialIMAP does). Progress is saved after every
// message, so an interrupted Fetch resumes where it stopped.
func (in *Inbox) Fetch(ctx context.Context, c *imapclient.Client, opts FetchOptions) (*FetchResult, error) {
	if in.Verify == nil {
		return nil, errors.New("inbox: no verifier")
	}
	if opts.Mailbox == "" {
		opts.Mailbox = "INBOX"
	}
	started := in.Store.now().UTC()
	sel, err := c.Select(opts.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, connErr(ctx, opts, fmt.Errorf("inbox: open %s: %w", opts.Mailbox, err))
	}
	if sel.UIDValidity == 0 {
		return nil, fmt.Errorf("inbox: open %s: %w (it said 0); nothing was fetched", opts.Mailbox, ErrUIDValidity)
	}
	st, err := in.Store.readState()
	if err != nil {
		return nil, err
	}
	pos := st.get(opts.Account, opts.Mailbox)
	res := &FetchResult{UIDValidity: sel.UIDValidity}
	var since time.Time
	relist := false
	if pos.UIDValidity != sel.UIDValidity {
		if pos.UIDValidity != 0 {
			res.UIDValidityChanged, res.PreviousUIDValidity = true, pos.UIDValidity
			since = pos.LastFetch
			// A failure under the old numbering can no longer be
			// tried by its UID, and the message may have arrived
			// long before the last fetch: the whole mailbox is
			// listed again (what is stored already is only known).
			// At most once every relistEvery, though: see there.
			old, err := in.failedUnderOther(opts, sel.UIDValidity)
			if err != nil {
				return nil, err
			}
			if len(old) > 0 && (pos.LastRelist.IsZero() || started.Sub(pos.LastRelist) >= relistEvery || started.Before(pos.LastRelist)) {
				since, relist = time.Time{}, true
			}
		}
		pos = mailboxState{UIDValidity: sel.UIDValidity, NextUID: 1, LastRelist: pos.LastRelist}
	}
	if pos.NextUID == 0 {
		pos.NextUID = 1
	}
	save := func() error {
		st.set(opts.Account, opts.Mailbox, pos)
		return in.Store.writeState(st)
	}
	verify := func(ctx context.Context, raw io.Reader, sink DocumentSink) (*Report, error) {
		rep, err := in.Verify(ctx, raw, sink)
		if err != nil {
			return nil, &verifyError{err}
		}
		return rep, nil
	}

	// The fetch position only moves past UIDs the server listed (its last
	// message, from a listing), never to its UIDNEXT, which a server can
	// announce far too high once and so hide all later mail.
	var uids []imap.UID
	var last imap.UID
	switch {
	case sel.NumMessages == 0 || (sel.UIDNext != 0 && uint32(sel.UIDNext) <= pos.NextUID):
	case !since.IsZero():
		if uids, err = uidsSince(c, since.AddDate(0, 0, -1)); err == nil {
			_, last, err = newUIDs(c, math.MaxUint32) // only the last message's UID
		}
	default:
		uids, last, err = newUIDs(c, imap.UID(pos.NextUID))
	}
	if err != nil {
		return nil, connErr(ctx, opts, err)
	}
	inRow := 0
	for i, uid := range uids {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		src := Source{Account: opts.Account, Mailbox: opts.Mailbox, UIDValidity: sel.UIDValidity, UID: uint32(uid)}
		failed := len(res.Failed)
		recorded, err := in.fetchAndStore(ctx, c, src, verify, opts, res)
		if err != nil && !recorded {
			return res, err // nothing recorded: resume at this message
		}
		pos.NextUID = nextUID(uid)
		if serr := save(); serr != nil {
			return res, serr
		}
		if err != nil {
			return res, err
		}
		if inRow++; len(res.Failed) == failed {
			inRow = 0
		}
		if inRow >= MaxFailuresInRow {
			return res, fmt.Errorf("inbox: %w (%d, the last UID %d); the next fetch goes on after them", ErrTooManyFailures, inRow, uid)
		}
		if opts.Progress != nil {
			opts.Progress(i+1, len(uids))
		}
	}
	if n := nextUID(last); last != 0 && n > pos.NextUID {
		pos.NextUID = n
	}
	pos.LastFetch = started
	if relist {
		pos.LastRelist = started
	}
	if err := save(); err != nil {
		return res, err
	}
	if relist {
		// The whole mailbox was listed under the new numbering: each
		// message of a failure under an older one was stored now or
		// failed again under the new one, so the old records go.
		if err := in.clearOtherValidities(opts, sel.UIDValidity); err != nil {
			return res, err
		}
	}
	return res, in.retry(ctx, c, sel.UIDValidity, verify, opts, res)
}

// failedUnderOther returns the failures of the mailbox under a
// UIDVALIDITY other than uidValidity (not only the last one: one whose
// re-listing was put off by relistEvery counts too).
func (in *Inbox) failedUnderOther(opts FetchOptions, uidValidity uint32) ([]Failure, error) {
	failures, err := in.Store.Failures()
	if err != nil {
		return nil, err
	}
	var out []Failure
	for _, f := range failures {
		if f.Source.Account == opts.Account && f.Source.Mailbox == opts.Mailbox && f.Source.UIDValidity != uidValidity {
			out = append(out, f)
		}
	}
	return out, nil
}

// clearOtherValidities clears the failures of the mailbox under a
// UIDVALIDITY other than uidValidity.
func (in *Inbox) clearOtherValidities(opts FetchOptions, uidValidity uint32) error {
	old, err := in.failedUnderOther(opts, uidValidity)
	if err != nil {
		return err
	}
	for _, f := range old {
		if err := in.Store.ClearFailure(f.Source); err != nil {
			return err
		}
	}
	return nil
}

// retry tries again the failures of this mailbox (under its current
// UIDVALIDITY) that were not given up, except those of this fetch.
func (in *Inbox) retry(ctx context.Context, c *imapclient.Client, uidValidity uint32, verify VerifyFunc, opts FetchOptions, res *FetchResult) error {
	failures, err := in.Store.Failures()
	if err != nil {
		return err
	}
	inRow := 0
	tried := map[Source]bool{}
	for _, f := range res.Failed {
		tried[f.Source] = true
	}
	for _, f := range failures {
		src := f.Source
		again := !f.GaveUp
		if opts.RetryFailure != nil {
			again = opts.RetryFailure(f)
		}
		if !again || tried[src] || src.Account != opts.Account || src.Mailbox != opts.Mailbox || src.UIDValidity != uidValidity {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		before := len(res.New) + res.Known
		_, err := in.fetchAndStore(ctx, c, src, verify, opts, res)
		if err != nil {
			return err
		}
		if len(res.New)+res.Known > before {
			if err := in.Store.ClearFailure(src); err != nil {
				return err
			}
			res.Recovered++
			inRow = 0
		} else if inRow++; inRow >= MaxFailuresInRow {
			return fmt.Errorf("inbox: retry earlier failures: %w (%d); the next fetches try the rest", ErrTooManyFailures, inRow)
		}
	}
	return nil
}

// fetchAndStore fetches, verifies and stores the message at src. A failure
// that is the message's (or the server's for this message) is recorded
// and added to res.Failed; err is then nil when fetching can go on, and
// recorded is true. An error that is not the message's (the user
// cancelled, the local disk failed) is returned with recorded false.
func (in *Inbox) fetchAndStore(ctx context.Context, c *imapclient.Client, src Source, verify VerifyFunc, opts FetchOptions, res *FetchResult) (recorded bool, err error) {
	staged, err := fetchOne(c, imap.UID(src.UID), in.Store)
	stage := "fetch"
	var (
		item  *Item
		added bool
	)
	if err == nil {
		item, added, err = in.Store.Commit(ctx, staged, src, verify)
		stage = "store"
		var ve *verifyError
		if errors.As(err, &ve) {
			stage = "verify"
		}
	}
	if err == nil {
		if added {
			res.New = append(res.New, *item)
		} else {
			res.Known++
		}
		return false, nil
	}
	if errors.Is(context.Cause(ctx), context.Canceled) || (stage == "store" && isLocalIOError(err)) {
		return false, err
	}
	if stage == "fetch" {
		err = connErr(ctx, opts, err)
	}
	f, rerr := in.Store.RecordFailure(src, stage, err)
	if rerr != nil {
		return false, errors.Join(err, rerr)
	}
	res.Failed = append(res.Failed, f)
	if c.State() == imap.ConnStateLogout || ctx.Err() != nil {
		return true, err // the connection is gone: the next fetch goes on
	}
	return true, nil
}

// isLocalIOError reports an error of the local file system.
func isLocalIOError(err error) bool {
	var pe *fs.PathError
	var le *os.LinkError
	return errors.As(err, &pe) || errors.As(err, &le)
}

// connErr adds to err why the connection or the context ended, when it
// did.
func connErr(ctx context.Context, opts FetchOptions, err error) error {
	if opts.Cause != nil {
		if cause := opts.Cause(); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
	}
	if cerr := context.Cause(ctx); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	return err
}

// nextUID is the fetch position after uid. UID 4294967295 is the last
// there can be: the position stays there rather than wrap round to 0,
// which would fetch the whole mailbox again.
func nextUID(uid imap.UID) uint32 {
	if uid == math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(uid) + 1
}

// newUIDs lists the UIDs from start on, one reply at a time, and returns
// them with the largest UID listed (last). "start:*" always matches the
// last message, even below start, so the result is filtered. A reply
// carrying anything but a UID is refused (ErrUnrequested) before its data
// is read.
func newUIDs(c *imapclient.Client, start imap.UID) (uids []imap.UID, last imap.UID, err error) {
	var set imap.UIDSet
	set.AddRange(start, 0)
	cmd := c.Fetch(set, &imap.FetchOptions{UID: true})
	for m := cmd.Next(); m != nil; m = cmd.Next() {
		for item := m.Next(); item != nil; item = m.Next() {
			switch item := item.(type) {
			case imapclient.FetchItemDataUID:
				last = max(last, item.UID)
				if item.UID < start {
					continue
				}
				if len(uids) >= MaxListed {
					return nil, 0, fmt.Errorf("inbox: list new messages: the server listed more than %d", MaxListed)
				}
				uids = append(uids, item.UID)
			case imapclient.FetchItemDataBodySection:
				abandon(c, item.Literal)
				return nil, 0, fmt.Errorf("inbox: list new messages: %w (a message body)", ErrUnrequested)
			case imapclient.FetchItemDataBinarySection:
				abandon(c, item.Literal)
				return nil, 0, fmt.Errorf("inbox: list new messages: %w (a message body)", ErrUnrequested)
			}
		}
	}
	if err := cmd.Close(); err != nil {
		return nil, 0, fmt.Errorf("inbox: list new messages: %w", err)
	}
	slices.Sort(uids)
	return slices.Compact(uids), last, nil
}

// abandon closes c without reading the rest of lit: go-imap's reader
// waits until a literal it handed out ends, so lit is read (to its first
// error, at once when the connection is closed) while c closes.
func abandon(c *imapclient.Client, lit io.Reader) {
	closed := make(chan struct{})
	go func() {
		c.Close()
		close(closed)
	}()
	if lit != nil {
		io.Copy(io.Discard, lit) //nolint:errcheck // ends with the closed connection's error
	}
	<-closed
}

// uidsSince lists the UIDs of the messages that arrived since t (IMAP
// SEARCH SINCE, by arrival date), at most MaxListed.
func uidsSince(c *imapclient.Client, t time.Time) ([]imap.UID, error) {
	data, err := c.UIDSearch(&imap.SearchCriteria{Since: t}, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("inbox: list messages since %s: %w", t.Format(time.DateOnly), err)
	}
	set, _ := data.All.(imap.UIDSet)
	var uids []imap.UID
	for _, r := range set {
		stop := r.Stop
		if stop == 0 || stop < r.Start {
			stop = r.Start // "n:*" is only n as far as the client knows
		}
		for u := r.Start; u != 0 && u <= stop; u++ {
			if len(uids) >= MaxListed {
				return nil, fmt.Errorf("inbox: list messages since %s: the server listed more than %d", t.Format(time.DateOnly), MaxListed)
			}
			uids = append(uids, u)
			if u == stop {
				break
			}
		}
	}
	slices.Sort(uids)
	return slices.Compact(uids), nil
}

// fetchOne streams the message with uid (BODY.PEEK[], so \Seen is not set)
// into the store's staging area. Only the first body of the message asked
// for is read; go-imap skips anything else without holding it.
func fetchOne(c *imapclient.Client, uid imap.UID, s *Store) (*Staged, error) {
	cmd := c.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{
		UID:         true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	})
	var staged *Staged
	var stageErr error
	for m := cmd.Next(); m != nil; m = cmd.Next() {
		for item := m.Next(); item != nil; item = m.Next() {
			body, ok := item.(imapclient.FetchItemDataBodySection)
			if !ok || body.Literal == nil || staged != nil || stageErr != nil {
				continue
			}
			if body.Literal.Size() == 0 {
				// No message is empty (RFC 5322 requires From and
				// Date): storing it would mark the UID done and the
				// real message would never be fetched.
				stageErr = fmt.Errorf("inbox: fetch message %d: %w", uid, ErrEmptyBody)
				continue
			}
			lit := &literalReader{r: body.Literal}
			staged, stageErr = s.Stage(lit)
			if lit.err != nil {
				// The connection failed in the middle of the body. As
				// soon as the literal's read fails, go-imap's reader
				// goroutine reads on from the connection's buffer, and
				// going on here (m.Next, cmd.Close) would read the rest
				// of the literal from that same buffer at the same time
				// (a data race in go-imap v2.0.0-beta.8). The connection
				// is unusable anyway: close it and stop.
				c.Close()
				if staged != nil {
					staged.Discard()
				}
				return nil, fmt.Errorf("inbox: fetch message %d: %w", uid, lit.err)
			}
		}
	}
	if err := cmd.Close(); err != nil {
		if staged != nil {
			staged.Discard()
		}
		return nil, fmt.Errorf("inbox: fetch message %d: %w", uid, err)
	}
	if stageErr != nil {
		return nil, stageErr
	}
	if staged == nil {
		return nil, fmt.Errorf("inbox: the server returned no body for message %d", uid)
	}
	return staged, nil
}

// literalReader reads a message body from the server and keeps the error
// if reading it failed: an error other than io.EOF, or io.EOF before the
// size the server announced (go-imap passes a connection's EOF on as is).
type literalReader struct {
	r    imap.LiteralReader
	read int64
	err  error
}

func (l *literalReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.read += int64(n)
	switch {
	case err == nil || l.err != nil:
	case err != io.EOF:
		l.err = err
	case l.read < l.r.Size():
		l.err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (f *fetchState) get(acct, mbox string) mailboxState {
	return f.Accounts[acct][mbox]
}

func (f *fetchState) set(acct, mbox string, p mailboxState) {
	if f.Accounts == nil {
		f.Accounts = map[string]map[string]mailboxState{}
	}
	if f.Accounts[acct] == nil {
		f.Accounts[acct] = map[string]mailboxState{}
	}
	f.Accounts[acct][mbox] = p
}

// readState and writeState are in store.go: the positions are records of
// the store's index log.
