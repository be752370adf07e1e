package receive

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/securesend/securesend/internal/manifest"
)

// Cancellations and replacements (issue 16, docs/manifest.md): a message
// whose signed manifest names an earlier Message-ID in Supersedes. The
// store records each such claim in the index log when the message is
// stored (opClaim) and decides what it does whenever an item is read, so
// that the result is the same whichever order the two messages arrive in:
// a claim waits, keyed by the original's Message-ID, until the original
// is there.
//
// A claim marks an item (Item.Superseded) only when both are Verified and
// signed by the same key (the same primary fingerprint): only the
// original's signer can cancel or replace it. Any other claim changes
// nothing and is reported on the claiming item (Item.Supersedes.Refused),
// to be shown in red.

// Supersession says that an item was cancelled or replaced by a later
// message from the same signer.
type Supersession struct {
	// Kind is manifest.Cancel or manifest.Replace.
	Kind manifest.Kind `json:"kind"`
	// ByMessageID and ByID name the cancelling or replacing message.
	ByMessageID string `json:"by_message_id"`
	ByID        string `json:"by_id"`
	// At is when the sender wrote the cancellation or replacement (its
	// signed manifest's creation time).
	At time.Time `json:"at"`
	// Reason is the cancellation's or replacement's note, as the sender
	// wrote it (pass it through termsafe before showing it).
	Reason string `json:"reason,omitempty"`
}

// SupersedeClaim is what an item that cancels or replaces another did.
type SupersedeClaim struct {
	Kind manifest.Kind `json:"kind"`
	// MessageID is the Message-ID of the message it names.
	MessageID string `json:"message_id"`
	// Applied are the items it marked (the original, and copies of it
	// that arrived again).
	Applied []string `json:"applied,omitempty"`
	// Refused, when set, says why it changed nothing: show it in red.
	// With neither Applied nor Refused the original has not arrived (yet).
	Refused string `json:"refused,omitempty"`
}

// Pending reports whether the claim waits for its original to arrive.
func (c *SupersedeClaim) Pending() bool { return len(c.Applied) == 0 && c.Refused == "" }

// claimRecord is the index log's record of a claim (opClaim).
type claimRecord struct {
	// ID is the claiming item.
	ID     string        `json:"id"`
	Kind   manifest.Kind `json:"kind"`
	Target string        `json:"target"`
	At     time.Time     `json:"at"`
	Reason string        `json:"reason,omitempty"`
}

// claimOf is the claim record of the item it with report rep, nil when
// its signed manifest supersedes nothing. Only a manifest the verifier
// accepted (Report.Manifest) counts.
func claimOf(it *Item, rep *Report) *claimRecord {
	if rep.Manifest == nil || rep.Manifest.Supersedes == nil {
		return nil
	}
	s := rep.Manifest.Supersedes
	return &claimRecord{ID: it.ID, Kind: s.Kind, Target: s.MessageID, At: rep.Manifest.Created, Reason: strings.TrimSpace(rep.Note)}
}

// addClaim indexes c.
func (m *memIndex) addClaim(c claimRecord) {
	if _, dup := m.claimBy[c.ID]; dup {
		return
	}
	m.claimBy[c.ID] = c
	m.claims[c.Target] = append(m.claims[c.Target], c)
}

// applies reports whether claim c by item by marks item orig, and if not,
// why, in words for the pharmacist.
func applies(c claimRecord, by, orig *Item) (bool, string) {
	what := "cancels"
	if c.Kind == manifest.Replace {
		what = "replaces"
	}
	switch {
	case by.Verdict != Verified:
		return false, fmt.Sprintf("This message says it %s message %s, but it is not verified (%s), so it changed nothing. Phone the sender before acting on either.", what, c.Target, by.Verdict)
	case by.ID == orig.ID || by.MessageID == c.Target:
		return false, fmt.Sprintf("This message says it %s itself; it changed nothing.", what)
	case orig.Verdict != Verified:
		return false, fmt.Sprintf("This message says it %s message #%s, which is not verified (%s), so it changed nothing: a message can only be cancelled or replaced by the key that signed it.", what, orig.ID, orig.Verdict)
	case by.SignerFingerprint == "" || !strings.EqualFold(by.SignerFingerprint, orig.SignerFingerprint):
		return false, fmt.Sprintf("WARNING: this message says it %s message #%s, but it is signed by a different key (%s) from the one that signed that message (%s), so it changed nothing. Only the original's signer can cancel or replace it. Phone the sender.",
			what, orig.ID, groupFP(by.SignerFingerprint), groupFP(orig.SignerFingerprint))
	}
	return true, ""
}

// groupFP writes a fingerprint in groups of four.
func groupFP(fp string) string {
	var b strings.Builder
	for i, r := range fp {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// decorate fills the supersession fields of it, a copy of an indexed
// item: Superseded when a claim by its signer marks it, Supersedes when it
// is itself a claim, and drops from Duplicates the documents it shares
// with the message it replaces (or that replaces it): a replacement that
// keeps one of the documents is the current version, not a repeat.
func (m *memIndex) decorate(it *Item) {
	it.Superseded, it.Supersedes = nil, nil
	var related []string
	for _, c := range m.claims[it.MessageID] {
		i, ok := m.byID[c.ID]
		if !ok || it.MessageID == "" {
			continue
		}
		by := &m.items[i]
		if ok, _ := applies(c, by, it); ok && it.Superseded == nil {
			it.Superseded = &Supersession{Kind: c.Kind, ByMessageID: by.MessageID, ByID: by.ID, At: c.At, Reason: c.Reason}
			related = append(related, by.ID)
		}
	}
	if c, ok := m.claimBy[it.ID]; ok {
		cl := &SupersedeClaim{Kind: c.Kind, MessageID: c.Target}
		var refused []string
		for _, i := range m.byMsgIDs[c.Target] {
			orig := &m.items[i]
			if ok, why := applies(c, it, orig); ok {
				cl.Applied = append(cl.Applied, orig.ID)
			} else if !slices.Contains(refused, why) {
				refused = append(refused, why)
			}
		}
		if len(cl.Applied) == 0 {
			if len(refused) == 0 && it.Verdict != Verified {
				_, why := applies(c, it, &Item{})
				refused = append(refused, why)
			}
			cl.Refused = strings.Join(refused, " ")
		}
		it.Supersedes = cl
		related = append(related, cl.Applied...)
	}
	if len(related) > 0 && len(it.Duplicates) > 0 {
		it.Duplicates = slices.DeleteFunc(slices.Clone(it.Duplicates), func(d Duplicate) bool {
			return d.Kind == "document" && slices.Contains(related, d.Of)
		})
		if len(it.Duplicates) == 0 {
			it.Duplicates = nil
		}
	}
}
