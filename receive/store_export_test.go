package receive

// FetchPosition is the fetch position of acct's mailbox, for the tests of
// package receive_test.
func (s *Store) FetchPosition(acct, mbox string) (uidValidity, nextUID uint32, err error) {
	st, err := s.readState()
	if err != nil {
		return 0, 0, err
	}
	p := st.get(acct, mbox)
	return p.UIDValidity, p.NextUID, nil
}

// SetFetchPosition records the fetch position of acct's mailbox (one
// index record, flushed with a later one), for the tests of package
// receive_test.
func (s *Store) SetFetchPosition(acct, mbox string, uidValidity, nextUID uint32) error {
	st := &fetchState{}
	st.set(acct, mbox, mailboxState{UIDValidity: uidValidity, NextUID: nextUID})
	return s.writeState(st)
}

// Compact rewrites the index log with one record per live entry, as the
// store does once superseded records pile up, for the tests of package
// receive_test.
func (s *Store) Compact() error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.refresh(); err != nil {
		return err
	}
	return s.compact()
}
