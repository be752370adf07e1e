package receive

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/internal/sealedlog"
)

// HeadKeeper keeps short secrets by name outside the store's directory:
// the OS keychain (*keychain.Keychain). Get wraps keychain.ErrNotFound
// when there is nothing under name.
type HeadKeeper interface {
	Get(name string) (string, error)
	Set(name, secret string) error
}

// ErrIndexRolledBack means the store's index log does not reach the head
// recorded in the keychain at its last durable write: it was replaced by
// an older copy, cut short by whole records, or removed. The store is
// left as it is; nothing is read from or written to the index until the
// latest index.log is put back (or the user accepts the present one, see
// Store.TrustIndex).
var ErrIndexRolledBack = errors.New("inbox: the index (index.log) is older than the one securesend last wrote on this computer (if you put an older copy back from a backup on purpose, 'securesend inbox trust-index --yes' accepts it)")

// anchor is where the head of the index log is kept: one keychain entry
// holding one head, or two (the old and the new file) while a compaction
// replaces the log.
type anchor struct {
	heads HeadKeeper
	name  string
	last  string // the value last saved by this Store
}

func newAnchor(heads HeadKeeper, absDir string) *anchor {
	sum := sha256.Sum256([]byte(absDir))
	return &anchor{heads: heads, name: "inbox-head-" + hex.EncodeToString(sum[:6])}
}

// load returns the recorded heads; none before the first durable write
// of an anchored store.
func (a *anchor) load() ([]sealedlog.Head, error) {
	v, err := a.heads.Get(a.name)
	if errors.Is(err, keychain.ErrNotFound) || (err == nil && v == "") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: read the index head from the keychain: %w", err)
	}
	var out []sealedlog.Head
	for _, part := range strings.Split(v, ",") {
		h, err := sealedlog.ParseHead(part)
		if err != nil {
			return nil, fmt.Errorf("inbox: the keychain entry %s is malformed: %w", a.name, err)
		}
		out = append(out, h)
	}
	return out, nil
}

// save records hs (zero heads left out) as the heads the log must reach.
// A nil anchor saves nothing.
func (a *anchor) save(hs ...sealedlog.Head) error {
	if a == nil {
		return nil
	}
	var parts []string
	for _, h := range hs {
		if h != (sealedlog.Head{}) {
			parts = append(parts, h.String())
		}
	}
	if len(parts) == 0 {
		return nil
	}
	v := strings.Join(parts, ",")
	if v == a.last {
		return nil
	}
	if err := a.heads.Set(a.name, v); err != nil {
		return fmt.Errorf("inbox: keep the index head in the keychain: %w", err)
	}
	a.last = v
	return nil
}

// reachesAny reports whether c reaches one of heads (or there are none).
func reachesAny(c sealedlog.Cursor, heads []sealedlog.Head) bool {
	if len(heads) == 0 {
		return true
	}
	for _, h := range heads {
		if c.Reaches(h) {
			return true
		}
	}
	return false
}

// rolledBack describes a log that does not reach the recorded head.
func rolledBack(c sealedlog.Cursor, heads []sealedlog.Head) error {
	got, want := c.Head(), heads[len(heads)-1]
	switch {
	case got == (sealedlog.Head{}):
		return fmt.Errorf("%w: index.log is missing or empty, but %d records were written to it; nothing was changed", ErrIndexRolledBack, want.Records)
	case got.Salt == want.Salt:
		return fmt.Errorf("%w: it holds %d records, but %d were written to it; nothing was changed", ErrIndexRolledBack, got.Records, want.Records)
	default:
		return fmt.Errorf("%w: it is not the file securesend last wrote (a copy from before a compaction, or another store's); nothing was changed", ErrIndexRolledBack)
	}
}

// TrustIndex records the index log as it is now as the one the store
// must reach from now on. It is for a user who put an older index.log
// back on purpose (from a backup) and accepts losing what was recorded
// after it: those messages are fetched again. Without an anchor it does
// nothing.
func (s *Store) TrustIndex() error {
	if s.anchor == nil {
		return nil
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	idx := newMemIndex()
	c, _, err := s.log.Read(sealedlog.Cursor{}, idx.apply)
	if err != nil {
		return fmt.Errorf("inbox: index: %w", err)
	}
	if c.Head() == (sealedlog.Head{}) {
		// No log at all: the next durable write anchors it.
		s.anchor.last = ""
		if err := s.anchor.heads.Set(s.anchor.name, ""); err != nil {
			return fmt.Errorf("inbox: keep the index head in the keychain: %w", err)
		}
	} else if err := s.anchor.save(c.Head()); err != nil {
		return err
	}
	s.idx, s.cursor, s.loaded = idx, c, true
	return nil
}
