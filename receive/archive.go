package receive

import (
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// ErrCannotArchive means the message cannot be moved safely: the server
// renumbered the mailbox since it was fetched, or offers neither MOVE nor
// UIDPLUS (without them a move would expunge every message marked deleted,
// not just this one).
var ErrCannotArchive = errors.New("the message cannot be archived safely on this server")

// Archive moves the server copy of item id to mailbox (created if missing),
// at the user's request: it is the only operation of this package that
// changes server mail. It uses UID MOVE (RFC 6851), or UID COPY + STORE
// \Deleted + UID EXPUNGE (RFC 4315) so that no other message is touched,
// and refuses when the mailbox's UIDVALIDITY changed since the fetch. The
// local item is kept. c must be authenticated.
func (in *Inbox) Archive(ctx context.Context, c *imapclient.Client, id, mailbox string) error {
	if mailbox == "" {
		mailbox = "Archive"
	}
	it, err := in.Store.Get(id)
	if err != nil {
		return err
	}
	if it.Archived != "" {
		return fmt.Errorf("inbox: item %s was already moved to %s", id, it.Archived)
	}
	src := it.Source
	if src.Mailbox == "" || src.UID == 0 {
		return fmt.Errorf("inbox: item %s: %w (it did not come from IMAP)", id, ErrCannotArchive)
	}
	if mailbox == src.Mailbox {
		return fmt.Errorf("inbox: item %s is already in %s", id, mailbox)
	}
	caps := c.Caps()
	if !caps.Has(imap.CapMove) && !caps.Has(imap.CapUIDPlus) && !caps.Has(imap.CapIMAP4rev2) {
		return fmt.Errorf("inbox: %w (no MOVE or UIDPLUS)", ErrCannotArchive)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sel, err := c.Select(src.Mailbox, nil).Wait()
	if err != nil {
		return fmt.Errorf("inbox: open %s: %w", src.Mailbox, err)
	}
	if sel.UIDValidity != src.UIDValidity {
		return fmt.Errorf("inbox: item %s: %w (the server renumbered %s since it was fetched)", id, ErrCannotArchive, src.Mailbox)
	}
	// Create the target; "already exists" is fine and the MOVE below
	// reports a real problem.
	c.Create(mailbox, nil).Wait() //nolint:errcheck // see above
	if _, err := c.Move(imap.UIDSetNum(imap.UID(src.UID)), mailbox).Wait(); err != nil {
		return fmt.Errorf("inbox: move item %s to %s: %w", id, mailbox, err)
	}
	return in.Store.setArchived(id, mailbox)
}
