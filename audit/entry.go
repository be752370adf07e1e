package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// genesis is the prev_hash of the first entry.
var genesis = strings.Repeat("0", 64)

// Entry is one line of the log.
type Entry struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Kind     Kind      `json:"kind"`
	Fields   Fields    `json:"fields,omitempty"`
	PrevHash string    `json:"prev_hash"`
	// Hash is the hex SHA-256 of the entry's canonical JSON without Hash
	// and MAC. Anyone can recompute it: it shows the entry is unchanged
	// relative to the chain, not who wrote it.
	Hash string `json:"hash,omitempty"`
	// MAC is the hex HMAC-SHA-256, under the log's key (kept only in the
	// keychain), of macDomain and the entry's canonical JSON without MAC:
	// it covers the entry, its Hash and, through PrevHash, the entry
	// before. Empty only in legacy entries, written before the log was
	// keyed.
	MAC string `json:"mac,omitempty"`
}

// macDomain separates this use of the key from any other.
const macDomain = "securesend audit log entry, HMAC-SHA-256, v2\n"

// Keyed reports whether the entry carries a MAC (written by a securesend
// that keys the log); a legacy entry has only its hash.
func (e Entry) Keyed() bool { return e.MAC != "" }

// canonical is the JSON encoding of e (Go's encoder is deterministic:
// struct fields in order, map keys sorted).
func (e Entry) canonical() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("audit: encode entry: %w", err)
	}
	return b, nil
}

// seal sets e.Hash and clears e.MAC (a legacy entry; see sealKeyed).
func (e *Entry) seal() error {
	e.Hash, e.MAC = "", ""
	b, err := e.canonical()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	e.Hash = hex.EncodeToString(sum[:])
	return nil
}

// sealKeyed sets e.Hash and e.MAC under key.
func (e *Entry) sealKeyed(key []byte) error {
	if err := e.seal(); err != nil {
		return err
	}
	mac, err := e.mac(key)
	if err != nil {
		return err
	}
	e.MAC = hex.EncodeToString(mac)
	return nil
}

// mac computes the entry's MAC under key (e.MAC is ignored).
func (e Entry) mac(key []byte) ([]byte, error) {
	e.MAC = ""
	b, err := e.canonical()
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(macDomain))
	m.Write(b)
	return m.Sum(nil), nil
}

// authentic reports whether e carries a valid MAC under key.
func (e Entry) authentic(key []byte) bool {
	got, err := hex.DecodeString(e.MAC)
	if err != nil || len(got) != sha256.Size || len(key) == 0 {
		return false
	}
	want, err := e.mac(key)
	return err == nil && hmac.Equal(got, want)
}

// line is the entry as written to the file, with the newline.
func (e Entry) line() ([]byte, error) {
	b, err := e.canonical()
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// parseLine decodes one line (without newline) and checks that it is in
// canonical form and that its hash is right.
func parseLine(b []byte) (Entry, error) {
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Entry{}, fmt.Errorf("not a valid entry: %v", err)
	}
	again, err := e.canonical()
	if err != nil {
		return Entry{}, err
	}
	if !bytes.Equal(again, b) {
		return e, fmt.Errorf("entry was edited (not in the form securesend writes)")
	}
	want := e
	if err := want.seal(); err != nil {
		return Entry{}, err
	}
	if want.Hash != e.Hash {
		return e, fmt.Errorf("entry was edited (its hash does not match its content)")
	}
	return e, nil
}
