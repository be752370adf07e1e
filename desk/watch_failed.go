package desk

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/receive"
)

// DefaultWatchRetryWait is how long a running watch waits after a
// message's first failed attempt (it could not be fetched, verified or
// stored) before it tries again; the wait doubles after each further
// attempt, up to DefaultWatchRetryWait << maxRetryWaitDoublings.
const DefaultWatchRetryWait = time.Minute

// failedState is what a watch remembers of the messages of its mailbox
// that a fetch could not fetch, verify or store (receive.Failure): for
// each, the stamp of what decides a verification (the keys, the
// organisation profile, the own addresses) when it was last tried. The
// store's failure records (attempts, times, given up) stay where they
// are; this only lets a watch tell that the keys or the profile changed
// since a message was last tried, which is worth a new attempt even when
// it was given up. It is kept in home/watch/failed-HASH.json, written
// whole by an atomic rename: losing it loses no message, only such a
// new attempt.
type failedState struct {
	path string
	// Tried maps "UIDVALIDITY/UID" to the stamp of the last attempt.
	Tried   map[string]string `json:"tried"`
	Version int               `json:"version"`
}

// openFailedState reads the failed-message state of the watch of
// account's mailbox in dir. A missing file is an empty state; a damaged
// one is reported by warn and replaced.
func openFailedState(dir, account, mailbox string, warn func(error)) *failedState {
	fs0 := &failedState{path: filepath.Join(dir, "failed-"+shortHash(account+"\x00"+mailbox)+".json"), Tried: map[string]string{}, Version: 1}
	b, err := os.ReadFile(fs0.path)
	if errors.Is(err, fs.ErrNotExist) {
		return fs0
	}
	var st failedState
	if err == nil {
		err = json.Unmarshal(b, &st)
		if err == nil && st.Version != 1 {
			err = fmt.Errorf("version %d, not 1", st.Version)
		}
	}
	if err != nil {
		warn(fmt.Errorf("watch: the record of failed messages %s is unreadable (%w); it is started again: a change of the keys or the profile since a message's last attempt brings no new attempt (--retry-failed does)", fs0.path, err))
		return fs0
	}
	if st.Tried != nil {
		fs0.Tried = st.Tried
	}
	return fs0
}

func failureKey(f receive.Failure) string {
	return strconv.FormatUint(uint64(f.Source.UIDValidity), 10) + "/" + strconv.FormatUint(uint64(f.Source.UID), 10)
}

// retryRule decides which of the mailbox's failures a round tries again.
type retryRule struct {
	st    *failedState
	stamp string
	now   time.Time
	wait  time.Duration
	// all, when not zero, is the start of a watch asked to try every
	// failure again (--retry-failed): each failure last tried before
	// it is due, given up or not, once.
	all time.Time
}

// due reports whether f is to be tried again: asked for; the keys or the
// profile changed since its last attempt; its wait (wait, doubled after
// each further attempt, at most maxRetryWaitDoublings times: about 2 h
// with the default) has passed; or its last attempt is more than a wait
// in the future, the clock having gone back since. A message the server
// would not serve, given up, is still tried again after the longest
// wait: a server that would not serve a genuine prescription for a few
// minutes (three attempts) does not keep it out of the inbox for good. A message that failed is
// otherwise not fetched again on every round.
func (r retryRule) due(f receive.Failure) bool {
	if !r.all.IsZero() && f.Last.Before(r.all) {
		return true
	}
	if last, ok := r.st.Tried[failureKey(f)]; ok && last != r.stamp {
		return true
	}
	if f.Last.Sub(r.now) > r.wait {
		return true
	}
	if f.GaveUp && f.Stage != "fetch" {
		// Verified or stored in vain three times: the same bytes
		// give the same result until the keys change. Fetching
		// them again every two hours would let a sender of many
		// such messages make the watch download them all again.
		return false
	}
	return r.now.Sub(f.Last) >= r.waitAfter(f)
}

// waitAfter is how long after f's last attempt it is tried again: wait,
// doubled after each attempt past the first, at most
// maxRetryWaitDoublings times.
func (r retryRule) waitAfter(f receive.Failure) time.Duration {
	n := min(max(f.Attempts, 1), maxRetryWaitDoublings+1)
	return r.wait << (n - 1)
}

// maxRetryWaitDoublings bounds the wait between attempts at a failed
// message: DefaultWatchRetryWait << 7 is 128 minutes.
const maxRetryWaitDoublings = 7

// update records stamp for the failures of account's mailbox tried in
// this round (last attempt at or after since) and for those it did not
// know, forgets those no longer failing, and writes the state when it
// changed.
func (st *failedState) update(failures []receive.Failure, account, mailbox string, since time.Time, stamp string) error {
	keep := map[string]string{}
	for _, f := range failures {
		if f.Source.Account != account || f.Source.Mailbox != mailbox {
			continue
		}
		k := failureKey(f)
		old, ok := st.Tried[k]
		if !ok || !f.Last.Before(since) {
			keep[k] = stamp
		} else {
			keep[k] = old
		}
	}
	if maps.Equal(keep, st.Tried) {
		return nil
	}
	prev := st.Tried
	st.Tried = keep
	b, err := json.Marshal(st)
	if err == nil {
		err = atomicfile.WriteFile(st.path, b)
	}
	if err != nil {
		st.Tried = prev
		return fmt.Errorf("watch: record failed messages: %w", err)
	}
	return nil
}

// verifyStamp is a hash of what decides how a message is fetched and
// verified: the key store's entries (keys imported, pinned, removed, own
// keys), the organisation profile in force, the user's security.toml
// and the own addresses. It changes when any of them does.
func (d *Desk) verifyStamp() (string, error) {
	ks, err := d.Keys()
	if err != nil {
		return "", err
	}
	es, err := ks.List()
	if err != nil {
		return "", err
	}
	_, l, err := d.Policy(profile.UserSettings{})
	if err != nil {
		return "", err
	}
	var prof *profile.Profile
	if l.Managed() {
		prof = l.Profile
	}
	// Not the keys' Added times: the directory's keys are imported
	// again by every fetch.
	type key struct {
		Fingerprint string   `json:"fpr"`
		Emails      []string `json:"emails"`
		Trust       string   `json:"trust"`
		Secret      bool     `json:"secret"`
	}
	keys := make([]key, 0, len(es))
	for _, e := range es {
		emails := slices.Sorted(slices.Values(e.Emails))
		keys = append(keys, key{e.Fingerprint.String(), emails, fmt.Sprint(e.Trust), e.Secret})
	}
	slices.SortFunc(keys, func(a, b key) int { return strings.Compare(a.Fingerprint, b.Fingerprint) })
	us, err := d.UserSettings()
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(struct {
		Keys     []key                `json:"keys"`
		Profile  *profile.Profile     `json:"profile"`
		Settings profile.UserSettings `json:"settings"`
		Own      []string             `json:"own"`
	}{keys, prof, us, d.ownAddresses(es)})
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// reportFailures tells, by EventNotReceived, of each message this round
// failed to fetch, verify or store, and, at the watch's first round that
// could read them, of every other failure of the mailbox still
// recorded: a message given up by an earlier run is not left to be
// found in 'securesend inbox list' only. At most maxToldFailures lines
// a round, then one that counts the rest: a sender of thousands of
// messages that fail cannot bury the log.
func (w *watcher) reportFailures(res *receive.FetchResult, rule retryRule) {
	var (
		tell        []receive.Failure
		uidValidity uint32
	)
	told := map[string]bool{}
	if res != nil {
		uidValidity = res.UIDValidity
		for _, f := range res.Failed {
			told[failureKey(f)] = true
			tell = append(tell, f)
		}
	}
	if !w.toldFailures {
		if fs, err := w.d.Failures(); err == nil {
			w.toldFailures = true
			for _, f := range fs {
				if f.Source.Account == w.acct.Name && f.Source.Mailbox == w.opts.Mailbox && !told[failureKey(f)] {
					tell = append(tell, f)
				}
			}
		}
	}
	for i, f := range tell {
		if i == maxToldFailures {
			w.event(WatchEvent{Kind: EventNotReceived, Detail: fmt.Sprintf("and %d more messages that could not be received: see securesend inbox list", len(tell)-i)})
			break
		}
		w.event(WatchEvent{Kind: EventNotReceived, Detail: watchFailureDetail(f, rule, uidValidity)})
	}
}

// maxToldFailures bounds the EventNotReceived lines of one round.
const maxToldFailures = 20

// watchFailureDetail describes f for EventNotReceived, in one line safe
// for a terminal: "ACCOUNT MAILBOX UID n (UIDVALIDITY v): STAGE failed
// (attempt k): ERROR; " and when the watch tries it again, and, given
// up, what to do. uidValidity is the mailbox's now, 0 when unknown: a
// failure under another is not tried again by its UID (the fetch after
// the renumbering listed the whole mailbox again).
func watchFailureDetail(f receive.Failure, r retryRule, uidValidity uint32) string {
	again := f.Last.Add(r.waitAfter(f)).Local().Format(time.DateTime)
	next := "tried again after " + again
	switch {
	case uidValidity != 0 && f.Source.UIDValidity != uidValidity:
		next = fmt.Sprintf("the server has renumbered the mailbox since (UIDVALIDITY now %d) and it was fetched again whole: if this message is not in the inbox, ask the sender to send it again", uidValidity)
	case f.GaveUp && f.Stage != "fetch":
		next = "given up: ask the sender to send it again (the watch tries it again when the keys or the profile change; 'securesend inbox watch --retry-failed' tries it now)"
	case f.GaveUp:
		next = "given up: ask the sender to send it again (the watch tries it again after " + again + ", less and less often; 'securesend inbox watch --retry-failed' tries it now)"
	}
	return fmt.Sprintf("%s %s UID %d (UIDVALIDITY %d): %s failed (attempt %d): %s; %s", lineSafe(f.Source.Account), lineSafe(f.Source.Mailbox),
		f.Source.UID, f.Source.UIDValidity, lineSafe(f.Stage), f.Attempts, lineSafe(f.Error), next)
}
