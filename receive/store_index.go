package receive

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The records of the index log (index.log), one JSON object each, sealed
// by internal/sealedlog. Later records amend earlier ones; compaction
// writes one record per live entry.
const (
	opItem         = "item"          // Item: a stored message
	opSource       = "source"        // ID, Source: the item is on the server again, under a new UID
	opArchived     = "archived"      // ID, Mailbox: the item was moved on the server
	opPosition     = "position"      // Account, Mailbox, Position: the fetch position in a mailbox
	opFailure      = "failure"       // Failure: a message that could not be fetched, verified or stored
	opClearFailure = "clear-failure" // Source: its failure record is gone
	opClaim        = "supersedes"    // Claim: a stored item cancels or replaces an earlier Message-ID (supersede.go)
)

// logRecord is one record of the index log.
type logRecord struct {
	Op       string        `json:"op"`
	Item     *Item         `json:"item,omitempty"`
	ID       string        `json:"id,omitempty"`
	Source   *Source       `json:"source,omitempty"`
	Account  string        `json:"account,omitempty"`
	Mailbox  string        `json:"mailbox,omitempty"`
	Position *mailboxState `json:"position,omitempty"`
	Failure  *Failure      `json:"failure,omitempty"`
	Claim    *claimRecord  `json:"claim,omitempty"`
}

// relistKey groups the items that a re-listed message could be: same
// account, mailbox, Message-ID and documents.
type relistKey struct {
	account, mailbox, messageID, docs string
}

func relistKeyOf(it *Item) relistKey {
	var docs strings.Builder
	for _, d := range it.Documents {
		docs.WriteString(d.SHA256)
		docs.WriteByte(',')
	}
	return relistKey{it.Source.Account, it.Source.Mailbox, it.MessageID, docs.String()}
}

// memIndex is the index log read into memory, with the maps that make a
// commit's duplicate checks independent of the number of items.
type memIndex struct {
	items    []Item
	byID     map[string]int           // item ID -> position in items
	byRaw    map[string]int           // raw SHA-256 -> first item
	byMsgIDs map[string][]int         // Message-ID -> every item, first first
	claims   map[string][]claimRecord // original's Message-ID -> claims naming it, in log order
	claimBy  map[string]claimRecord   // claiming item ID -> its claim
	byDoc    map[string]int           // document SHA-256 -> first item
	byRelist map[relistKey][]int      // see relisted
	maxID    int
	state    map[string]map[string]mailboxState // account -> mailbox -> position
	failures map[Source]Failure
}

func newMemIndex() *memIndex {
	return &memIndex{
		byID: map[string]int{}, byRaw: map[string]int{}, byDoc: map[string]int{},
		byMsgIDs: map[string][]int{}, claims: map[string][]claimRecord{}, claimBy: map[string]claimRecord{},
		byRelist: map[relistKey][]int{}, state: map[string]map[string]mailboxState{}, failures: map[Source]Failure{},
	}
}

// apply amends the index with one record. Records of kinds it does not
// know (from a later version) are skipped.
func (m *memIndex) apply(data []byte) error {
	var r logRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("index record: %w", err)
	}
	switch r.Op {
	case opItem:
		if r.Item == nil {
			return fmt.Errorf("index record %q without an item", r.Op)
		}
		m.addItem(*r.Item)
	case opSource:
		if i, ok := m.byID[r.ID]; ok && r.Source != nil {
			m.items[i].Source = *r.Source
		}
	case opArchived:
		if i, ok := m.byID[r.ID]; ok {
			m.items[i].Archived = r.Mailbox
		}
	case opPosition:
		if r.Position != nil {
			if m.state[r.Account] == nil {
				m.state[r.Account] = map[string]mailboxState{}
			}
			m.state[r.Account][r.Mailbox] = *r.Position
		}
	case opFailure:
		if r.Failure != nil {
			m.failures[r.Failure.Source] = *r.Failure
		}
	case opClearFailure:
		if r.Source != nil {
			delete(m.failures, *r.Source)
		}
	case opClaim:
		if r.Claim != nil {
			m.addClaim(*r.Claim)
		}
	}
	return nil
}

func (m *memIndex) addItem(it Item) {
	if it.Documents == nil {
		it.Documents = []StoredDocument{}
	}
	if _, dup := m.byID[it.ID]; dup {
		// Cannot happen with one writer at a time; keep the first.
		return
	}
	i := len(m.items)
	m.items = append(m.items, it)
	m.byID[it.ID] = i
	if n, err := strconv.Atoi(it.ID); err == nil && n > m.maxID {
		m.maxID = n
	}
	if _, ok := m.byRaw[it.RawSHA256]; !ok {
		m.byRaw[it.RawSHA256] = i
	}
	if it.MessageID != "" {
		m.byMsgIDs[it.MessageID] = append(m.byMsgIDs[it.MessageID], i)
		k := relistKeyOf(&it)
		m.byRelist[k] = append(m.byRelist[k], i)
	}
	for _, d := range it.Documents {
		if _, ok := m.byDoc[d.SHA256]; !ok {
			m.byDoc[d.SHA256] = i
		}
	}
}

// relisted finds the item that it is a re-listing of after the server
// renumbered the mailbox (a restore or migration can change a message's
// bytes, for example by adding a header): an item from the same account and
// mailbox, fetched under another UIDVALIDITY, with the same Message-ID and
// the same documents. It returns -1 when there is none. A message sent
// again arrives under the current UIDVALIDITY, or finds its original
// already re-seen, so it is stored and flagged, never dropped.
func (m *memIndex) relisted(it *Item) int {
	if it.MessageID == "" || it.Source.UIDValidity == 0 {
		return -1
	}
	for _, i := range m.byRelist[relistKeyOf(it)] {
		if m.items[i].Source.UIDValidity != it.Source.UIDValidity {
			return i
		}
	}
	return -1
}

// duplicates finds the earliest earlier item with the same Message-ID and,
// for each document, the earliest item with a document of the same hash.
func (m *memIndex) duplicates(it *Item) []Duplicate {
	var out []Duplicate
	if same := m.byMsgIDs[it.MessageID]; len(same) > 0 && it.MessageID != "" {
		out = append(out, Duplicate{Kind: "message-id", Of: m.items[same[0]].ID})
	}
	seen := map[string]bool{}
	for _, d := range it.Documents {
		if seen[d.SHA256] {
			continue
		}
		seen[d.SHA256] = true
		if i, ok := m.byDoc[d.SHA256]; ok {
			out = append(out, Duplicate{Kind: "document", SHA256: d.SHA256, Of: m.items[i].ID})
		}
	}
	return out
}

// live is the number of records a compacted log holds.
func (m *memIndex) live() int {
	n := len(m.items) + len(m.failures) + len(m.claimBy)
	for _, mb := range m.state {
		n += len(mb)
	}
	return n
}

// snapshot is the index as records: one per item (with its latest source
// and archive mailbox), position and failure.
func (m *memIndex) snapshot() []logRecord {
	recs := make([]logRecord, 0, m.live())
	for i := range m.items {
		recs = append(recs, logRecord{Op: opItem, Item: &m.items[i]})
	}
	for acct, mbs := range m.state {
		for mbox, pos := range mbs {
			recs = append(recs, logRecord{Op: opPosition, Account: acct, Mailbox: mbox, Position: &pos})
		}
	}
	for _, f := range m.failures {
		recs = append(recs, logRecord{Op: opFailure, Failure: &f})
	}
	for _, cs := range m.claims {
		for _, c := range cs {
			recs = append(recs, logRecord{Op: opClaim, Claim: &c})
		}
	}
	return recs
}
