package desk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/gate"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/receive"
)

// ErrNoIMAPAccount is returned by Fetch when no account is named and no
// account has an IMAP server.
var ErrNoIMAPAccount = errors.New("no account with an IMAP server; add one with 'securesend account add --imap HOST:PORT'")

// ErrSeveralIMAPAccounts is returned by Fetch when no account is named and
// more than one has an IMAP server.
var ErrSeveralIMAPAccounts = errors.New("several accounts have an IMAP server; choose one with --account NAME")

// FetchOptions say what Fetch fetches.
type FetchOptions struct {
	// Account names the account; "" is the only account with an IMAP
	// server (an error when there are none or several).
	Account string
	// Mailbox is "INBOX" when empty.
	Mailbox string
	// Timeout bounds the whole fetch, connection included;
	// receive.DefaultFetchTimeout when zero.
	Timeout time.Duration
	// Progress, when set, is called after each message with the number
	// done and the number to do.
	Progress func(done, total int)
	// RetryFailure, when set, decides which earlier failures of the
	// mailbox are tried again (receive.FetchOptions.RetryFailure).
	RetryFailure func(receive.Failure) bool
}

// Fetched is what one Fetch did.
type Fetched struct {
	*receive.FetchResult
	// Account is the account fetched from.
	Account *account.Account
	// TLSVersion is the TLS version of the IMAP connection.
	TLSVersion string
	// Acknowledgements are the outbox jobs of the "received"
	// acknowledgements this fetch queued (see autoAcknowledge).
	Acknowledgements []JobID
}

// Fetch downloads the new mail of an account over the policy's TLS floor,
// verifies each message (Verifier's rules) and stores it in the inbox
// store, and records a receive.verified audit event per new item. A
// verified acknowledgement of a message this home sent is recorded for
// Outbox.Track instead of stored as documents; a Verified message that
// asks for one is acknowledged automatically when the policy says so
// (docs/acknowledgements.md). Server
// mail is never deleted or marked read. On an error after the connection
// was made, the Fetched so far is returned with it: what was stored stays
// stored, and the next fetch goes on from there.
func (d *Desk) Fetch(ctx context.Context, opts FetchOptions) (*Fetched, error) {
	if opts.Timeout == 0 {
		opts.Timeout = receive.DefaultFetchTimeout
	}
	if opts.Timeout < 0 {
		return nil, errors.New("the fetch time limit must be positive")
	}
	accts := d.Accounts()
	a, err := pickAccount(accts, opts.Account)
	if err != nil {
		return nil, err
	}
	st, err := d.Inbox()
	if err != nil {
		return nil, err
	}
	verify, pol, err := d.verifier(true)
	if err != nil {
		return nil, err
	}
	verify = d.ackVerifier(verify) // acknowledgements go to the Sent side (ack.go)
	iopts, err := imapOptions(pol, a)
	if err != nil {
		return nil, err
	}
	// The overall limit bounds the connection too: DialIMAP takes ctx's
	// deadline.
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	conn, err := a.DialIMAP(ctx, accts.Secrets(), iopts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.Name, err)
	}
	defer conn.Close()
	in := &receive.Inbox{Store: st, Verify: verify}
	res, err := in.Fetch(ctx, conn.Client, receive.FetchOptions{Account: a.Name, Mailbox: opts.Mailbox, Progress: opts.Progress, Cause: conn.Err, RetryFailure: opts.RetryFailure})
	if res == nil {
		return nil, err
	}
	d.auditReceived(a.Name, res.New)
	d.auditSupersessions(res.New)
	acks := d.autoAcknowledge(ctx, a, res.New)
	return &Fetched{FetchResult: res, Account: a, TLSVersion: conn.TLS.Version, Acknowledgements: acks}, err
}

// Archive moves the server copy of inbox item id to mailbox on the server
// of the account it came from (over the policy's TLS floor), the only
// journey that changes server mail; the local copy is kept. It returns the
// account.
func (d *Desk) Archive(ctx context.Context, id, mailbox string) (*account.Account, error) {
	st, err := d.Inbox()
	if err != nil {
		return nil, err
	}
	it, err := st.Get(id)
	if err != nil {
		return nil, err
	}
	accts := d.Accounts()
	a, err := accts.Get(it.Source.Account)
	if err != nil {
		return nil, err
	}
	pol, _, err := d.Policy(profile.UserSettings{})
	if err != nil {
		return nil, err
	}
	iopts, err := imapOptions(pol, a)
	if err != nil {
		return nil, err
	}
	conn, err := a.DialIMAP(ctx, accts.Secrets(), iopts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.Name, err)
	}
	defer conn.Close()
	in := &receive.Inbox{Store: st}
	if err := in.Archive(ctx, conn.Client, id, mailbox); err != nil {
		return nil, err
	}
	return a, nil
}

// pickAccount returns the named account, or the only account with an IMAP
// server when name is empty.
func pickAccount(s *account.Store, name string) (*account.Account, error) {
	if name != "" {
		return s.Get(name)
	}
	accts, err := s.List()
	if err != nil {
		return nil, err
	}
	var withIMAP []account.Account
	for _, a := range accts {
		if a.IMAP.Address != "" {
			withIMAP = append(withIMAP, a)
		}
	}
	switch len(withIMAP) {
	case 0:
		return nil, ErrNoIMAPAccount
	case 1:
		return &withIMAP[0], nil
	}
	return nil, ErrSeveralIMAPAccounts
}

// imapOptions are the IMAP options the policy demands for account a: an
// error when the policy does not allow the account.
func imapOptions(pol profile.Policy, a *account.Account) (account.IMAPOptions, error) {
	if err := pol.CheckAccount(gate.AccountRoute(a).Server); err != nil {
		return account.IMAPOptions{}, fmt.Errorf("account %s: %w", a.Name, err)
	}
	return account.IMAPOptions{MinTLSVersion: pol.MinTLS()}, nil
}

// receivePolicy loads the organisation profile for a receiving journey,
// pins its directory keys in ks and returns the effective policy, whose
// MinTLS the IMAP connection must use.
func (d *Desk) receivePolicy(ks *pgp.Store) (profile.Policy, error) {
	pol, l, err := d.Policy(profile.UserSettings{})
	if err != nil {
		return profile.Policy{}, err
	}
	if err := importDirectoryKeys(l, ks); err != nil {
		return profile.Policy{}, err
	}
	return pol, nil
}

// importDirectoryKeys pins the organisation directory's recipient keys in
// the key store ks, so that receiving (inbox, verify) counts mail signed by
// them as from a pinned key: the directory is signed by the organisation,
// which is what pinning means. Without a profile it does nothing.
func importDirectoryKeys(l *profile.Loaded, ks *pgp.Store) error {
	if !l.Managed() {
		return nil
	}
	for _, r := range l.Profile.Recipients {
		// Bound to exactly the directory's address, whatever else the key
		// claims; the directory is authoritative for it, so it replaces a
		// key pinned there before (e.g. the previous directory key).
		opts := pgp.ImportOptions{Emails: []string{r.Email}, Pin: true, Replace: true}
		if _, err := ks.Import(strings.NewReader(r.PublicKey), opts); err != nil {
			return fmt.Errorf("organisation directory key for %s: %w", r.Email, err)
		}
	}
	return nil
}

// Verifier returns the verification every receiving journey uses, made
// afresh for each journey so that keys changed since count at once: the
// organisation profile is loaded and verified and its directory keys
// pinned in the home's key store; messages are then verified against that
// store, decrypted with the user's own secret keys (unlocked once, here)
// and checked as addressed to the user's own addresses (those of the own
// keys and of the mail accounts). It also returns the effective policy,
// whose IMAP settings a fetch must use. Fetch and Verify use it; a watch
// or relay that verifies mail calls it too.
func (d *Desk) Verifier() (receive.VerifyFunc, profile.Policy, error) {
	return d.verifier(true)
}

// verifier is Verifier. With strict, an own key that cannot be unlocked is
// an error (an inbox must not store mail it could have read as "cannot
// decrypt"); without, it is a warning (Options.Warn) and the others are
// used.
func (d *Desk) verifier(strict bool) (receive.VerifyFunc, profile.Policy, error) {
	ks, err := d.Keys()
	if err != nil {
		return nil, profile.Policy{}, err
	}
	pol, err := d.receivePolicy(ks)
	if err != nil {
		return nil, profile.Policy{}, err
	}
	es, err := ks.List()
	if err != nil {
		return nil, profile.Policy{}, err
	}
	var secret []*pgp.Key
	for _, ent := range es {
		if !ent.Secret {
			continue
		}
		k, err := ks.SecretKey(ent.Fingerprint)
		if err != nil {
			err = fmt.Errorf("your key %s cannot be unlocked, so encrypted messages cannot be read: %w", ent.Fingerprint.Grouped(), err)
			if strict {
				return nil, profile.Policy{}, err
			}
			d.warn(err)
			continue
		}
		secret = append(secret, k)
	}
	// No own key yet: encrypted mail will be "cannot decrypt".
	opts := receive.VerifyOptions{Store: ks, Secret: secret, Recipients: d.ownAddresses(es)}
	return func(ctx context.Context, raw io.Reader, sink receive.DocumentSink) (*receive.Report, error) {
		o := opts
		o.Sink = sink
		return receive.Verify(ctx, raw, o)
	}, pol, nil
}

// ownAddresses are the user's own addresses: those of the own (secret)
// keys in es and of the mail accounts, lower case, each once. A signed
// message is verified only when it was addressed to one of them.
func (d *Desk) ownAddresses(es []pgp.Entry) []string {
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		a = strings.ToLower(strings.TrimSpace(a))
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, ent := range es {
		if ent.Secret {
			for _, m := range ent.Emails {
				add(m)
			}
		}
	}
	if accts, err := d.Accounts().List(); err == nil {
		for _, a := range accts {
			add(a.Email)
		}
	}
	return out
}

// auditReceived appends a receive.verified event per new item: sender,
// Message-ID, document hashes, verdict and signer; no content. A failure
// to record is a warning: the mail is stored.
func (d *Desk) auditReceived(acct string, items []receive.Item) {
	if len(items) == 0 {
		return
	}
	l, err := d.Audit()
	for i := 0; err == nil && i < len(items); i++ {
		it := &items[i]
		var hashes []string
		for _, doc := range it.Documents {
			hashes = append(hashes, doc.SHA256)
		}
		f := audit.Fields{
			"account": acct, "from": it.From, "message_id": it.MessageID,
			"sha256": strings.Join(hashes, " "), "verdict": string(it.Verdict),
			"fingerprint": it.SignerFingerprint,
		}
		if n := DuplicateNote(it); n != "" {
			f["state"] = n
		}
		_, err = l.Append(audit.Event{Kind: audit.ReceiveVerified, Time: it.Received, Fields: f})
	}
	if err != nil {
		d.warn(fmt.Errorf("the audit log could not record the received mail: %w", err))
	}
}

// DuplicateNote is "DUPLICATE of #A, #B" naming the earlier items that
// it (or one of its documents) repeats; "" when it repeats none.
func DuplicateNote(it *receive.Item) string {
	if len(it.Duplicates) == 0 {
		return ""
	}
	var of []string
	seen := map[string]bool{}
	for _, dup := range it.Duplicates {
		if !seen[dup.Of] {
			seen[dup.Of] = true
			of = append(of, "#"+dup.Of)
		}
	}
	return "DUPLICATE of " + strings.Join(of, ", ")
}
