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
