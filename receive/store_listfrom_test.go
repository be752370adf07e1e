package receive_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/securesend/securesend/receive"
)

// TestListFrom: a reader that keeps the count of items it has seen gets
// only the items stored since, by this Store or another one (another
// process), across a compaction of the index log; a count beyond the
// store's (an older index accepted) gets every item again.
func TestListFrom(t *testing.T) {
	w, dir, key := newStore(t)
	r, err := receive.OpenStore(dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	verify := inboxVerifier(t)
	uid := uint32(0)
	add := func(n int) {
		t.Helper()
		for range n {
			uid++
			msg := plainMessage(fmt.Sprintf("lf%d@clinic.test", uid), "subject", "note", fmt.Appendf(nil, "%%PDF-1.4 doc %d", uid))
			if _, added, err := commitMessage(t, w, msg, receive.Source{Account: "pharmacy", Mailbox: "INBOX", UIDValidity: 7, UID: uid}, verify); err != nil || !added {
				t.Fatalf("commit %d: %v %v", uid, added, err)
			}
		}
	}
	for _, tc := range []struct {
		name  string
		setup func()
		from  int
		ids   []string
		total int
	}{
		{"empty store", func() {}, 0, nil, 0},
		{"from the start", func() { add(3) }, 0, []string{"1", "2", "3"}, 3},
		{"only the new ones", func() { add(2) }, 3, []string{"4", "5"}, 5},
		{"nothing new", func() {}, 5, nil, 5},
		{"from the middle", func() {}, 2, []string{"3", "4", "5"}, 5},
		{"after a compaction", func() {
			if err := w.Compact(); err != nil {
				t.Fatal(err)
			}
			add(1)
		}, 5, []string{"6"}, 6},
		{"a count beyond the store's", func() {}, 99, []string{"1", "2", "3", "4", "5", "6"}, 6},
		{"a negative count", func() {}, -1, []string{"1", "2", "3", "4", "5", "6"}, 6},
	} {
		tc.setup()
		for _, st := range []*receive.Store{w, r} {
			items, total, err := st.ListFrom(tc.from)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var ids []string
			for _, it := range items {
				ids = append(ids, it.ID)
			}
			if !slices.Equal(ids, tc.ids) || total != tc.total {
				t.Errorf("%s (%s): items %v of %d, want %v of %d", tc.name, map[bool]string{true: "writer", false: "reader"}[st == w], ids, total, tc.ids, tc.total)
			}
		}
	}
}
