package receive_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"

	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/receive"
)

// TestSupersessionsFor: what a fetch reports about cancellations and
// replacements is found from the items it stored and their Message-IDs,
// not by listing the inbox: the claims among them, and the earlier claims
// naming one of them (a cancellation that arrived before its original);
// nothing else, oldest first, decorated as List would.
func TestSupersessionsFor(t *testing.T) {
	st, _, _ := newStore(t)
	msgs := []fakeMsg{
		{ID: "early-cancel@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Cancel, Target: "rx2@clinic.test"},                    // 1
		{ID: "rx1@clinic.test", Verdict: receive.Verified, Signer: alice, Doc: "%PDF rx one"},                                                           // 2
		{ID: "rx3@clinic.test", Verdict: receive.Verified, Signer: alice, Doc: "%PDF rx three"},                                                         // 3
		{ID: "replace1@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Replace, Target: "rx1@clinic.test", Doc: "%PDF rx one b"}, // 4
		{ID: "rx2@clinic.test", Verdict: receive.Verified, Signer: alice, Doc: "%PDF rx two"},                                                           // 5
		{ID: "cancel-none@clinic.test", Verdict: receive.Verified, Signer: alice, Kind: manifest.Cancel, Target: "never@clinic.test"},                   // 6
	}
	for i, m := range msgs {
		raw, _ := json.Marshal(m)
		if _, added, err := commitMessage(t, st, raw, receive.Source{Account: "a", Mailbox: "INBOX", UIDValidity: 1, UID: uint32(i + 1)}, fakeVerify); err != nil || !added {
			t.Fatalf("commit %s: %v %v", m.ID, added, err)
		}
	}
	all, err := st.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		ids, msgIDs []string
		want        []string
	}{
		{"an original only", []string{"3"}, []string{"rx3@clinic.test"}, nil},
		{"a replacement", []string{"4"}, []string{"replace1@clinic.test"}, []string{"4"}},
		{"the original after its cancellation", []string{"5"}, []string{"rx2@clinic.test"}, []string{"1"}},
		{"a claim naming a message never received", []string{"6"}, []string{"cancel-none@clinic.test"}, []string{"6"}},
		{"all of them", []string{"6", "5", "4", "3"}, []string{"cancel-none@clinic.test", "rx2@clinic.test", "replace1@clinic.test", "rx3@clinic.test"}, []string{"1", "4", "6"}},
		{"an original replaced later", []string{"2"}, []string{"rx1@clinic.test"}, []string{"4"}},
		{"nothing", nil, nil, nil},
	} {
		got, err := st.SupersessionsFor(tc.ids, tc.msgIDs)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var ids []string
		for _, it := range got {
			ids = append(ids, it.ID)
			n, _ := strconv.Atoi(it.ID)
			if want := all[n-1]; it.Supersedes == nil || !slices.Equal(it.Supersedes.Applied, want.Supersedes.Applied) || it.Supersedes.Refused != want.Supersedes.Refused {
				t.Errorf("%s: item %s Supersedes %+v, List says %+v", tc.name, it.ID, it.Supersedes, want.Supersedes)
			}
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%s: items %v, want %v", tc.name, ids, tc.want)
		}
	}
}
