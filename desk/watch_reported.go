package desk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/securesend/securesend/internal/atomicfile"
	"github.com/securesend/securesend/receive"
)

// reportedState is how far into the inbox (oldest first) the watches of
// one set of destinations have reported what they did not deliver and
// why: a message not verified, a document delivered already as part of
// another message. Those outcomes never change, so a watch started again
// (every morning, or a --once run every few minutes) does not report
// them again for the whole inbox; it still looks at every item, so that
// nothing due is missed, and still reports what is possibly printed and
// what was cancelled by its sender. It is kept in
// home/watch/reported-HASH.json, written whole by an atomic rename:
// losing it only repeats those reports once.
type reportedState struct {
	path string
	// Items is how many items of the inbox were looked at; LastID and
	// LastRaw are the ID and the message's SHA-256 (receive.Item's
	// RawSHA256) of the last of them, which must still be there, in
	// that place, for the count to mean anything. IDs are numbers given
	// in order, the same in every inbox: LastRaw is what ties the
	// record to this one (a record without it hushes nothing).
	Items   int    `json:"items"`
	LastID  string `json:"last_id"`
	LastRaw string `json:"last_raw,omitempty"`
	Version int    `json:"version"`
}

// matches reports whether the record describes items, the inbox from
// its first item: then its first Items items were looked at already.
func (st *reportedState) matches(items []receive.Item) bool {
	n := st.Items
	return n > 0 && n <= len(items) && st.LastRaw != "" && items[n-1].ID == st.LastID && items[n-1].RawSHA256 == st.LastRaw
}

// openReportedState reads the reported position of the destinations
// dests in dir. A missing file is position 0; a damaged one is reported
// by warn and read as position 0.
func openReportedState(dir string, dests []*destination, warn func(error)) *reportedState {
	var names []string
	for _, d := range dests {
		names = append(names, d.j.Path())
	}
	st := &reportedState{path: filepath.Join(dir, "reported-"+shortHash(strings.Join(names, "\x00"))+".json"), Version: 1}
	b, err := os.ReadFile(st.path)
	if errors.Is(err, fs.ErrNotExist) {
		return st
	}
	var got reportedState
	if err == nil {
		err = json.Unmarshal(b, &got)
		if err == nil && (got.Version != 1 || got.Items < 0 || (got.Items > 0) != (got.LastID != "")) {
			err = errors.New("not a record of version 1")
		}
	}
	if err != nil {
		warn(fmt.Errorf("watch: the record of what was reported %s is unreadable (%w); messages not delivered are reported again", st.path, err))
		return st
	}
	st.Items, st.LastID, st.LastRaw = got.Items, got.LastID, got.LastRaw
	return st
}

// save records that the first n items, the last of them last, were
// looked at, when that is not what is recorded.
func (st *reportedState) save(n int, last *receive.Item) error {
	if last == nil || (n == st.Items && last.ID == st.LastID && last.RawSHA256 == st.LastRaw) {
		return nil
	}
	prev := *st
	st.Items, st.LastID, st.LastRaw = n, last.ID, last.RawSHA256
	b, err := json.Marshal(st)
	if err == nil {
		err = atomicfile.WriteFile(st.path, b)
	}
	if err != nil {
		*st = prev
		return fmt.Errorf("watch: record what was reported: %w", err)
	}
	return nil
}
