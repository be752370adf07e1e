package audit

import (
	"bytes"
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
	// Hash is the hex SHA-256 of the entry's canonical JSON without Hash.
	Hash string `json:"hash,omitempty"`
}

// canonical is the JSON encoding of e (Go's encoder is deterministic:
// struct fields in order, map keys sorted).
func (e Entry) canonical() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("audit: encode entry: %w", err)
	}
	return b, nil
}

// seal sets e.Hash.
func (e *Entry) seal() error {
	e.Hash = ""
	b, err := e.canonical()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	e.Hash = hex.EncodeToString(sum[:])
	return nil
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
