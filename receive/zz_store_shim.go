package receive

// TEMPORARY SHIM (branch h-imap): the store engineer adds Failure,
// MaxFetchAttempts, RecordFailure, Failures and ClearFailure to store.go
// with this contract; the lead drops this file at the merge.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// MaxFetchAttempts is how many times a message is tried before it is given
// up.
const MaxFetchAttempts = 3

// Failure is a message that could not be fetched, verified or stored.
type Failure struct {
	Source   Source    `json:"source"`
	Stage    string    `json:"stage"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
	GaveUp   bool      `json:"gave_up"`
}

// RecordFailure notes one more failed attempt at src.
func (s *Store) RecordFailure(src Source, stage string, cause error) (Failure, error) {
	unlock, err := s.lock()
	if err != nil {
		return Failure{}, err
	}
	defer unlock()
	fs, err := s.readFailures()
	if err != nil {
		return Failure{}, err
	}
	now := s.now().UTC()
	i := 0
	for i < len(fs) && fs[i].Source != src {
		i++
	}
	if i == len(fs) {
		fs = append(fs, Failure{Source: src, First: now})
	}
	f := &fs[i]
	f.Stage, f.Error, f.Last = stage, cause.Error(), now
	f.Attempts++
	f.GaveUp = f.Attempts >= MaxFetchAttempts
	if err := s.writeFailures(fs); err != nil {
		return Failure{}, err
	}
	return *f, nil
}

// Failures lists the recorded failures.
func (s *Store) Failures() ([]Failure, error) { return s.readFailures() }

// ClearFailure forgets the failure of src, once it was stored.
func (s *Store) ClearFailure(src Source) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	fs, err := s.readFailures()
	if err != nil {
		return err
	}
	out := fs[:0]
	for _, f := range fs {
		if f.Source != src {
			out = append(out, f)
		}
	}
	return s.writeFailures(out)
}

func (s *Store) readFailures() ([]Failure, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, "failures.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inbox: %w", err)
	}
	var f []Failure
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("inbox: failures.json is damaged: %w", err)
	}
	return f, nil
}

func (s *Store) writeFailures(f []Failure) error {
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(s.dir, "failures.json"), data)
}
