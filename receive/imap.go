package receive

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Inbox fetches new mail from an IMAP mailbox into a Store, verifying each
// message.
//
// It never deletes, moves or flags server mail: the mailbox is opened
// read-only (EXAMINE) and bodies are fetched with BODY.PEEK[]. Fetching is
// incremental: the mailbox's UIDVALIDITY and the next UID to fetch are kept
// per account in the store's index (see Store). When UIDVALIDITY changes, the
// whole mailbox is listed again; a message whose bytes are already stored,
// or that has the Message-ID and documents of an item fetched before the
// renumbering, is not stored twice (the item takes its new UID). A message
// sent again is still stored and flagged as a duplicate.
type Inbox struct {
	Store *Store
	// Verify checks each message; required.
	Verify VerifyFunc
}

// FetchOptions say what to fetch.
type FetchOptions struct {
	// Account is the securesend account name the state is kept under.
	Account string
	// Mailbox is "INBOX" when empty.
	Mailbox string
	// Progress, when set, is called after each message with the number
	// done and the number to do.
	Progress func(done, total int)
}

// FetchResult is what one Fetch did.
type FetchResult struct {
	// New are the items added to the store, in UID order.
	New []Item
	// Known counts messages the server listed that were already stored.
	Known int
	// UIDValidityChanged is true when the server's UIDVALIDITY differed
	// from the one last seen, so the mailbox was listed again from the
	// start.
	UIDValidityChanged bool
}

// mailboxState is the fetch position in one mailbox.
type mailboxState struct {
	UIDValidity uint32 `json:"uidvalidity"`
	NextUID     uint32 `json:"next_uid"`
}

// fetchState is the fetch positions: account -> mailbox -> position.
type fetchState struct {
	Version  int                                `json:"version"`
	Accounts map[string]map[string]mailboxState `json:"accounts"`
}

// Fetch downloads the messages of the mailbox that arrived since the last
// Fetch, verifies each and stores it. c must be authenticated. Progress is
// saved after every message, so an interrupted Fetch resumes where it
// stopped.
func (in *Inbox) Fetch(ctx context.Context, c *imapclient.Client, opts FetchOptions) (*FetchResult, error) {
	if in.Verify == nil {
		return nil, errors.New("inbox: no verifier")
	}
	if opts.Mailbox == "" {
		opts.Mailbox = "INBOX"
	}
	sel, err := c.Select(opts.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("inbox: open %s: %w", opts.Mailbox, err)
	}
	st, err := in.Store.readState()
	if err != nil {
		return nil, err
	}
	pos := st.get(opts.Account, opts.Mailbox)
	res := &FetchResult{}
	if pos.UIDValidity != sel.UIDValidity {
		res.UIDValidityChanged = pos.UIDValidity != 0
		pos = mailboxState{UIDValidity: sel.UIDValidity, NextUID: 1}
	}
	if pos.NextUID == 0 {
		pos.NextUID = 1
	}
	save := func() error {
		st.set(opts.Account, opts.Mailbox, pos)
		return in.Store.writeState(st)
	}
	if sel.NumMessages == 0 || (sel.UIDNext != 0 && uint32(sel.UIDNext) <= pos.NextUID) {
		return res, save()
	}

	uids, err := newUIDs(c, imap.UID(pos.NextUID))
	if err != nil {
		return nil, err
	}
	for i, uid := range uids {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		staged, err := fetchOne(c, uid, in.Store)
		if err != nil {
			return res, err
		}
		src := Source{Account: opts.Account, Mailbox: opts.Mailbox, UIDValidity: sel.UIDValidity, UID: uint32(uid)}
		item, added, err := in.Store.Commit(ctx, staged, src, in.Verify)
		if err != nil {
			return res, err
		}
		if added {
			res.New = append(res.New, *item)
		} else {
			res.Known++
		}
		pos.NextUID = uint32(uid) + 1
		if err := save(); err != nil {
			return res, err
		}
		if opts.Progress != nil {
			opts.Progress(i+1, len(uids))
		}
	}
	if uint32(sel.UIDNext) > pos.NextUID {
		pos.NextUID = uint32(sel.UIDNext)
	}
	return res, save()
}

// newUIDs lists the UIDs from start on. "start:*" always matches the last
// message, even below start, so the result is filtered.
func newUIDs(c *imapclient.Client, start imap.UID) ([]imap.UID, error) {
	var set imap.UIDSet
	set.AddRange(start, 0)
	msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("inbox: list new messages: %w", err)
	}
	var uids []imap.UID
	for _, m := range msgs {
		if m.UID >= start {
			uids = append(uids, m.UID)
		}
	}
	slices.Sort(uids)
	return uids, nil
}

// fetchOne streams the message with uid (BODY.PEEK[], so \Seen is not set)
// into the store's staging area.
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
			staged, stageErr = s.Stage(body.Literal)
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
