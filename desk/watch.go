package desk

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/receive"
)

// Defaults of WatchOptions.
const (
	// DefaultWatchPoll is how often a server without IDLE is asked for
	// new mail.
	DefaultWatchPoll = 30 * time.Second
	// DefaultWatchRecheck is how often a full fetch runs while IDLE is
	// quiet, in case the server missed telling.
	DefaultWatchRecheck = 5 * time.Minute
	// DefaultWatchIdleCycle is how long one IDLE command lasts before it
	// is renewed; shorter than the IMAP connection's silence limit
	// (account.IMAPOptions.Timeout, 30 s), which counts IDLE as a
	// response awaited.
	DefaultWatchIdleCycle = 20 * time.Second
	// DefaultWatchMaxBackoff is the longest wait between reconnection
	// attempts after the server or the network went away.
	DefaultWatchMaxBackoff = time.Minute
)

// WatchOptions say what Watch watches and where verified documents go.
type WatchOptions struct {
	// Account names the account; "" is the only account with an IMAP
	// server.
	Account string
	// Mailbox is "INBOX" when empty.
	Mailbox string
	// Drop, when set, is the folder verified documents are written to,
	// each with a sidecar JSON of its verdict and manifest.
	Drop string
	// DropGroupRead creates the dropped documents and sidecars readable
	// by the folder's group (0640) instead of by their owner only
	// (0600), for dispensing software that runs as another user on
	// Linux or macOS: give the folder that software's group and the
	// setgid bit, so that new files take the group. A default (inherited)
	// POSIX ACL cannot do it with 0600 files: their mode empties the
	// ACL's mask. Without effect on Windows, where the files have the
	// folder's inherited ACL.
	DropGroupRead bool
	// Printer, when set, prints each verified document.
	Printer Printer
	// Once fetches and delivers what is there, then returns.
	Once bool
	// IncludeExisting delivers the verified documents already in the
	// inbox when a destination is watched for the first time; by default
	// they are recorded as skipped, so that turning the watch on does
	// not print the inbox's history.
	IncludeExisting bool
	// Poll is how often a server without IDLE is asked
	// (DefaultWatchPoll when zero); Recheck how often a full fetch runs
	// while IDLE is quiet (DefaultWatchRecheck); IdleCycle how long one
	// IDLE lasts (DefaultWatchIdleCycle).
	Poll, Recheck, IdleCycle time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts (1 s and DefaultWatchMaxBackoff when zero); it doubles
	// after each failure and starts again after a successful fetch.
	MinBackoff, MaxBackoff time.Duration
	// RetryFailed tries again, once, every message of the mailbox that
	// earlier fetches could not fetch, verify or store, given up or not
	// (securesend inbox watch --retry-failed). Without it a running
	// watch tries such a message again only when the keys or the
	// organisation profile changed since its last attempt, or, until it
	// is given up, after RetryWait (doubled after each attempt), so that
	// a mailbox with many of them does not fetch them all on every round.
	RetryFailed bool
	// RetryWait is DefaultWatchRetryWait when zero.
	RetryWait time.Duration
	// Event, when set, is told what the watch does.
	Event func(WatchEvent)
}

// WatchEventKind says what a WatchEvent reports.
type WatchEventKind string

// The kinds of WatchEvent.
const (
	// EventConnected: the watch connection is up; Detail says whether
	// the server offers IDLE or is polled.
	EventConnected WatchEventKind = "connected"
	// EventFetched: a fetch ended; Detail counts what it found.
	EventFetched WatchEventKind = "fetched"
	// EventDisconnected: the server or network failed (Err); the watch
	// reconnects after Detail.
	EventDisconnected WatchEventKind = "disconnected"
	// EventDelivered: a verified document was dropped or printed.
	EventDelivered WatchEventKind = "delivered"
	// EventAlreadyDelivered: the document was delivered before (a
	// duplicate delivery of the message, or the same document again).
	EventAlreadyDelivered WatchEventKind = "already-delivered"
	// EventNotDelivered: the message is not verified (Detail: the
	// verdict); nothing of it is dropped or printed. It waits in the
	// inbox.
	EventNotDelivered WatchEventKind = "not-delivered"
	// EventPossiblyDelivered: a delivery was interrupted after the
	// document was handed over and before that was recorded (a crash
	// during printing). It is not repeated: a person must check.
	EventPossiblyDelivered WatchEventKind = "possibly-delivered"
	// EventFailed: a delivery failed before the document was handed
	// over (Err); it is tried again on the next round.
	EventFailed WatchEventKind = "failed"
	// EventNotReceived: a message of the mailbox could not be fetched,
	// verified or stored (a receive.Failure): at each attempt that
	// fails, and, at the watch's first round, for every such message
	// still outstanding. Detail says which, why, whether it was given
	// up and what to do (watchFailureDetail); nothing of it is in the
	// inbox.
	EventNotReceived WatchEventKind = "not-received"
)

// WatchEvent is one thing a watch did.
type WatchEvent struct {
	Time time.Time
	Kind WatchEventKind
	// Item and Doc name the inbox item and document (from 0), when the
	// event is about one; Name is the document's sanitized name.
	Item string
	Doc  int
	Name string
	// Dest is "drop" or "print", when the event is about a delivery.
	Dest string
	// Detail is the file written, the print job, the verdict, ...
	Detail string
	Err    error
}

// Watch fetches new mail of an account as it arrives and delivers each
// verified document to the drop folder and/or the printer, exactly once
// per destination (see deliverer). It waits with IMAP IDLE, polls
// servers without it, and reconnects with backoff after the server or
// the network goes away. It returns when ctx ends (nil), after one round
// with Once, or on an error that waiting cannot mend: a bad account or
// policy, a delivery journal that cannot be written.
func (d *Desk) Watch(ctx context.Context, opts WatchOptions) error {
	opts.defaults()
	if opts.Drop == "" && opts.Printer == nil {
		return errors.New("watch: nowhere to deliver: give a drop folder, a printer or both")
	}
	a, err := pickAccount(d.Accounts(), opts.Account)
	if err != nil {
		return err
	}
	opts.Account = a.Name
	dl, err := d.openDeliverer(opts)
	if err != nil {
		return err
	}
	defer dl.Close()
	if err := dl.start(); err != nil {
		return err
	}
	dir, err := d.home.Sub("watch")
	if err != nil {
		return err
	}
	w := &watcher{d: d, opts: opts, acct: a, dl: dl, failed: openFailedState(dir, a.Name, opts.Mailbox, d.warn)}
	if opts.RetryFailed {
		w.retryAll = time.Now()
	}
	return w.run(ctx)
}

func (o *WatchOptions) defaults() {
	if o.Mailbox == "" {
		o.Mailbox = "INBOX"
	}
	if o.Poll <= 0 {
		o.Poll = DefaultWatchPoll
	}
	if o.Recheck <= 0 {
		o.Recheck = DefaultWatchRecheck
	}
	if o.IdleCycle <= 0 {
		o.IdleCycle = DefaultWatchIdleCycle
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultWatchMaxBackoff
	}
	if o.RetryWait <= 0 {
		o.RetryWait = DefaultWatchRetryWait
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
}

// watcher is one running Watch.
type watcher struct {
	d    *Desk
	opts WatchOptions
	acct *account.Account
	dl   *deliverer
	// failed remembers the mailbox's failed messages (watch_failed.go);
	// retryAll is the watch's start with RetryFailed.
	failed   *failedState
	retryAll time.Time
	// toldFailures is set once the watch reported the mailbox's
	// outstanding failures (reportFailures).
	toldFailures bool

	mon     *account.IMAPConn // the connection that waits (IDLE), or nil
	idle    bool
	known   uint32 // messages in the mailbox as mon last heard
	backoff time.Duration
}

func (w *watcher) event(ev WatchEvent) {
	if w.opts.Event != nil {
		ev.Time = w.d.Now()
		w.opts.Event(ev)
	}
}

func (w *watcher) run(ctx context.Context) error {
	defer w.closeMonitor()
	w.backoff = w.opts.MinBackoff
	for {
		if ctx.Err() != nil {
			return nil
		}
		if !w.opts.Once && w.mon == nil {
			if err := w.connect(ctx); err != nil {
				if ferr := w.fatal(err); ferr != nil {
					return ferr
				}
				if !w.pause(ctx, err) {
					return nil
				}
				continue
			}
		}
		ferr, derr := w.round(ctx)
		if derr != nil {
			return derr
		}
		if errors.Is(ferr, receive.ErrTooManyFailures) && ctx.Err() == nil {
			// Many messages in a row failed (each recorded); the
			// connection is fine and the next round goes on after
			// them: at once, not after a reconnection and a backoff,
			// so that the mail behind them is not kept waiting.
			continue
		}
		if ferr != nil {
			if ctx.Err() != nil {
				return nil
			}
			if w.opts.Once {
				return ferr
			}
			if err := w.fatal(ferr); err != nil {
				return err
			}
			w.closeMonitor()
			if !w.pause(ctx, ferr) {
				return nil
			}
			continue
		}
		w.backoff = w.opts.MinBackoff
		if w.opts.Once {
			return nil
		}
		if err := w.wait(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.closeMonitor()
			if !w.pause(ctx, err) {
				return nil
			}
		}
	}
}

// round fetches and delivers once. The audit log is held meanwhile
// (audit.Log.Hold): the round's entries are each written and fsynced as
// before, but the keychain head, a D-Bus round trip per entry on Linux,
// moves every audit.MaxUnanchored entries and once at the end of the
// round. A crash during the round loses no entry; until the head moves,
// removing the round's last entries from the file would go unnoticed.
// ferr is the fetch's error (or the audit log's, when its head could not
// be moved); derr is the delivery's, which waiting cannot mend.
func (w *watcher) round(ctx context.Context) (ferr, derr error) {
	if l, err := w.d.Audit(); err == nil {
		release := l.Hold()
		defer func() {
			if err := release(); err != nil && ferr == nil {
				ferr = fmt.Errorf("watch: %w", err)
			}
		}()
	}
	stamp, err := w.d.verifyStamp()
	if err != nil {
		// The fetch would fail the same way; what was stored is
		// delivered all the same.
		return err, w.dl.deliverAll(ctx, w.event)
	}
	started := time.Now()
	rule := retryRule{st: w.failed, stamp: stamp, now: started, wait: w.opts.RetryWait, all: w.retryAll}
	res, ferr := w.d.Fetch(ctx, FetchOptions{Account: w.acct.Name, Mailbox: w.opts.Mailbox, RetryFailure: rule.due})
	if st, err := w.d.Inbox(); err == nil {
		if fs, err := st.Failures(); err == nil {
			if err := w.failed.update(fs, w.acct.Name, w.opts.Mailbox, started, stamp); err != nil {
				w.d.warn(err)
			}
		}
	}
	if res != nil {
		w.event(WatchEvent{Kind: EventFetched, Detail: fmt.Sprintf("%d new, %d failed", len(res.New), len(res.Failed))})
	}
	var fr *receive.FetchResult
	if res != nil {
		fr = res.FetchResult
	}
	w.reportFailures(fr, rule)
	// What was stored is delivered even when the fetch stopped early.
	return ferr, w.dl.deliverAll(ctx, w.event)
}

// fatal returns err when waiting cannot mend it.
func (w *watcher) fatal(err error) error {
	for _, e := range []error{ErrNoIMAPAccount, ErrSeveralIMAPAccounts, account.ErrNotFound} {
		if errors.Is(err, e) {
			return err
		}
	}
	return nil
}

// pause reports err and waits the backoff; false when ctx ended.
func (w *watcher) pause(ctx context.Context, err error) bool {
	// Up to a quarter more, so that many watches do not come back at once.
	d := w.backoff + time.Duration(rand.Int64N(int64(w.backoff/4)+1))
	w.event(WatchEvent{Kind: EventDisconnected, Err: err, Detail: "trying again in " + d.Round(100*time.Millisecond).String()})
	w.backoff = min(2*w.backoff, w.opts.MaxBackoff)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// connect opens the connection that waits for new mail and selects the
// mailbox read-only.
func (w *watcher) connect(ctx context.Context) error {
	pol, _, err := w.d.Policy(profile.UserSettings{})
	if err != nil {
		return err
	}
	iopts, err := imapOptions(pol, w.acct)
	if err != nil {
		return err
	}
	conn, err := w.acct.DialIMAP(ctx, w.d.Accounts().Secrets(), iopts)
	if err != nil {
		return fmt.Errorf("%s: %w", w.acct.Name, err)
	}
	sel, err := conn.Client.Select(w.opts.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		conn.Close()
		return fmt.Errorf("watch: open %s: %w", w.opts.Mailbox, err)
	}
	w.mon, w.known = conn, sel.NumMessages
	w.idle = conn.Client.Caps().Has(imap.CapIdle)
	how := "waiting with IDLE"
	if !w.idle {
		how = "the server does not offer IDLE: asking every " + w.opts.Poll.String()
	}
	w.event(WatchEvent{Kind: EventConnected, Detail: fmt.Sprintf("%s over %s, %s", w.acct.IMAP.Address, conn.TLS.Version, how)})
	return nil
}

func (w *watcher) closeMonitor() {
	if w.mon != nil {
		w.mon.Close()
		w.mon = nil
	}
}

// wait returns when there may be new mail: the mailbox changed (IDLE),
// Recheck passed, or Poll passed (no IDLE). An error means the
// connection is gone.
func (w *watcher) wait(ctx context.Context) error {
	if !w.idle {
		// Keep the connection alive and learn of new mail in one go.
		t := time.NewTimer(w.opts.Poll)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		return w.mon.Client.Noop().Wait()
	}
	recheck := time.Now().Add(w.opts.Recheck)
	for time.Now().Before(recheck) {
		changed, err := w.idleOnce(ctx, w.mon.Client)
		if err != nil || changed {
			return err
		}
	}
	return nil
}

// idleOnce runs one IDLE command for up to IdleCycle and reports whether
// the number of messages changed.
func (w *watcher) idleOnce(ctx context.Context, c *imapclient.Client) (changed bool, err error) {
	cmd, err := c.Idle()
	if err != nil {
		return false, fmt.Errorf("watch: IDLE: %w", err)
	}
	cycle := time.NewTimer(w.opts.IdleCycle)
	defer cycle.Stop()
	// go-imap keeps the mailbox's message count up to date as EXISTS
	// responses arrive; looking at it costs nothing on the wire.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			cmd.Close()
			return false, ctx.Err()
		case <-c.Closed():
			cmd.Close()
			return false, w.connErr(errors.New("watch: the IMAP server closed the connection"))
		case <-cycle.C:
			break loop
		case <-tick.C:
			if mb := c.Mailbox(); mb != nil && mb.NumMessages != w.known {
				w.known = mb.NumMessages
				changed = true
				break loop
			}
		}
	}
	if err := cmd.Close(); err != nil {
		return changed, w.connErr(fmt.Errorf("watch: end IDLE: %w", err))
	}
	if err := cmd.Wait(); err != nil {
		return changed, w.connErr(fmt.Errorf("watch: end IDLE: %w", err))
	}
	if mb := c.Mailbox(); mb != nil && mb.NumMessages != w.known {
		w.known = mb.NumMessages
		changed = true
	}
	return changed, nil
}

// connErr adds why the connection was cut, when a bound was crossed.
func (w *watcher) connErr(err error) error {
	if w.mon != nil {
		if cause := w.mon.Err(); cause != nil {
			return fmt.Errorf("%w: %w", cause, err)
		}
	}
	return err
}
