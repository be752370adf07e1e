package receive

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/securesend/securesend/crypto/pgp"
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
// to be shown in red. An item that is not Verified but has the
// Message-ID of a Verified item a claim marked carries that mark too,
// as a copy (Supersession.CopyOf): a warning can only add caution to a
// message that is not verified, and without it a hostile server could
// strip the signature from a cancelled prescription, deliver it again
// and have it shown without the cancellation.

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
	// CopyOf, when set, says that the claim did not mark this item itself:
	// this item is not Verified, but it has the Message-ID of item CopyOf,
	// a Verified message the claim did mark (a copy a hostile server
	// stripped of its signature, and perhaps altered, and delivered
	// again). It warns that a message with this Message-ID is no longer
	// current; it says nothing about who sent this copy.
	CopyOf string `json:"copy_of,omitempty"`
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
	// SHA256s are the original's documents' hashes as the claim names
	// them (manifest supersedes.sha256s): a claim marks only a message
	// with exactly these documents, not another that reuses the
	// Message-ID.
	SHA256s []string `json:"sha256s,omitempty"`
}

// maxClaimReason bounds the reason a claim keeps in the index, which is
// held in memory whole: the sender's limit (desk.maxReason) with room to
// spare. A longer note is cut, and says so; the full note stays in the
// claim's encrypted report.
const maxClaimReason = 4000

// claimOf is the claim record of the item it with report rep, nil when
// its signed manifest supersedes nothing. Only a manifest the verifier
// accepted (Report.Manifest) counts.
func claimOf(it *Item, rep *Report) *claimRecord {
	if rep.Manifest == nil || rep.Manifest.Supersedes == nil {
		return nil
	}
	s := rep.Manifest.Supersedes
	return &claimRecord{ID: it.ID, Kind: s.Kind, Target: s.MessageID, At: rep.Manifest.Created,
		Reason: cutReason(strings.TrimSpace(rep.Note)), SHA256s: slices.Clone(s.SHA256s)}
}

// cutReason bounds a claim's reason to maxClaimReason bytes, at a rune
// boundary.
func cutReason(r string) string {
	if len(r) <= maxClaimReason {
		return r
	}
	const more = " [… cut: open the message for the rest]"
	r = r[:maxClaimReason-len(more)]
	for !utf8.ValidString(r) {
		r = r[:len(r)-1]
	}
	return r + more
}

// claimFrom is the address of an item's From field ("Name <addr>" or addr).
func claimFrom(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		return a.Address
	}
	return strings.TrimSpace(from)
}

// sameDocuments reports whether hashes (a claim's sha256s) name exactly
// the documents of it, in any order.
func sameDocuments(hashes []string, it *Item) bool {
	if len(hashes) != len(it.Documents) {
		return false
	}
	have := make([]string, len(it.Documents))
	for i, d := range it.Documents {
		have[i] = strings.ToLower(d.SHA256)
	}
	want := make([]string, len(hashes))
	for i, h := range hashes {
		want[i] = strings.ToLower(h)
	}
	slices.Sort(have)
	slices.Sort(want)
	return slices.Equal(have, want)
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
			what, orig.ID, pgp.Fingerprint(by.SignerFingerprint).Grouped(), pgp.Fingerprint(orig.SignerFingerprint).Grouped())
	case !strings.EqualFold(claimFrom(by.From), claimFrom(orig.From)):
		return false, fmt.Sprintf("WARNING: this message says it %s message #%s, but it is from %s and that message is from %s, so it changed nothing. Only the original's sender can cancel or replace it. Phone the sender.",
			what, orig.ID, claimFrom(by.From), claimFrom(orig.From))
	case !sameDocuments(c.SHA256s, orig):
		return false, fmt.Sprintf("WARNING: this message says it %s message #%s, but it names other documents than that message holds (another message with the same Message-ID, or an old cancellation sent again), so it changed nothing. Phone the sender.",
			what, orig.ID)
	}
	return true, ""
}

// copyMark is the mark of it, an item that is not Verified, as a copy of
// a Verified item with its Message-ID that a claim marked (the first such
// claim in log order, as for the original); nil when there is none. The
// copy's own documents do not matter: a copy altered in transit is the
// case this warns of. It never changes Applied, nor hides a duplicate.
func (m *memIndex) copyMark(it *Item) *Supersession {
	if it.MessageID == "" {
		return nil
	}
	for _, c := range m.claims[it.MessageID] {
		i, ok := m.byID[c.ID]
		if !ok {
			continue
		}
		by := &m.items[i]
		for _, j := range m.byMsgIDs[it.MessageID] {
			orig := &m.items[j]
			if orig.ID == it.ID || orig.Verdict != Verified {
				continue
			}
			if ok, _ := applies(c, by, orig); ok {
				return &Supersession{Kind: c.Kind, ByMessageID: by.MessageID, ByID: by.ID, At: c.At, Reason: c.Reason, CopyOf: orig.ID}
			}
		}
	}
	return nil
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
	if it.Superseded == nil && it.Verdict != Verified {
		it.Superseded = m.copyMark(it)
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
