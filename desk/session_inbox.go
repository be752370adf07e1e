package desk

import (
	"context"
	"errors"
	"io"

	"github.com/securesend/securesend/receive"
)

// ErrNoInboxServer is what Setup.Fetch returns when the account in use
// has no IMAP server.
var ErrNoInboxServer = errors.New("the mail account in use has no inbox server")

// CanFetch reports whether the account in use has an inbox server to
// fetch from (the demo pharmacy's always has).
func (st *Setup) CanFetch() bool { return st.canFetch }

// Fetch fetches the new mail of the inbox (Desk.Fetch: the policy's TLS
// floor, the verdict rules, the encrypted inbox store, the audit log) and
// returns every item in it, ready to show (ReceivedAll: a withheld
// message's report redacted). On an error nothing is returned: the next
// fetch goes on from what was stored.
func (st *Setup) Fetch(ctx context.Context) ([]Received, error) {
	if !st.canFetch {
		return nil, ErrNoInboxServer
	}
	if _, err := st.recv.Fetch(ctx, FetchOptions{Account: st.recvAccount}); err != nil {
		return nil, err
	}
	return st.recv.ReceivedAll()
}

// Failures are the messages fetching could not fetch, verify or store
// (Desk.Failures).
func (st *Setup) Failures() ([]receive.Failure, error) { return st.recv.Failures() }

// Verify verifies one message read from r (a dropped .eml file) as the
// inbox's owner (Desk.Verify) and returns its full report.
func (st *Setup) Verify(ctx context.Context, r io.Reader) (*receive.Report, error) {
	v, err := st.recv.Verify(ctx, r, VerifyOptions{})
	if err != nil {
		return nil, err
	}
	return v.Report, nil
}

// Document decrypts document n of inbox item id into the Session's
// private folder for a viewer or for saving elsewhere, by the rules of
// Desk.OpenDocument (never for a withheld message; for one its sender
// cancelled or replaced only with ok.Superseded; for one that is not
// verified only with ok.Unverified), and returns the copy's path.
func (st *Setup) Document(id string, n int, ok Confirmations) (string, error) {
	doc, err := st.recv.OpenDocument(id, n, OpenOptions{Temp: st.temp, Confirmed: ok})
	if err != nil {
		return "", err
	}
	return doc.Path, nil
}
