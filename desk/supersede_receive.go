package desk

import (
	"fmt"
	"strings"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

// SupersededError refuses a document of a message that its sender
// cancelled or replaced, until the caller passes the user's answer to
// that question (OpenOptions.Confirmed.Superseded) after showing
// SupersededBanner: it is no longer the current one.
type SupersededError struct {
	ID         string
	Superseded *receive.Supersession
	// Unverified: the message is not verified either and that question
	// is not answered yet, so a *UnconfirmedError follows once this one
	// is.
	Unverified bool
}

func (e *SupersededError) Error() string {
	also := ""
	if e.Unverified {
		also = " (and, as it is not verified, after a second confirmation)"
	}
	return fmt.Sprintf("item #%s is no longer current (%s), so its documents are opened only after a confirmation that it is not the current one%s", e.ID, SupersededBanner(e.Superseded), also)
}

// SupersededBanner is the red line shown on a cancelled or replaced
// message: "CANCELLED by the sender at TIME: REASON" or "REPLACED by the
// sender at TIME with message #ID (Message-ID): REASON", made safe for a
// terminal; "" for nil. On a copy that is not verified of a message that
// was (s.CopyOf) it says that a message with this Message-ID was
// cancelled or replaced by its verified sender, not that this copy's
// sender did it.
func SupersededBanner(s *receive.Supersession) string {
	if s == nil {
		return ""
	}
	at := s.At.Local().Format("2006-01-02 15:04")
	reason := ""
	if r := strings.TrimSpace(s.Reason); r != "" {
		reason = ": " + termsafe.String(strings.Join(strings.Fields(r), " "))
	}
	if s.CopyOf != "" {
		if s.Kind == manifest.Cancel {
			return fmt.Sprintf("A message with this Message-ID (item #%s) was CANCELLED by its verified sender at %s%s. This copy is not verified and may have been altered: do not dispense or act on it.", s.CopyOf, at, reason)
		}
		return fmt.Sprintf("A message with this Message-ID (item #%s) was REPLACED by its verified sender at %s with message #%s (%s)%s. This copy is not verified and may have been altered: use the new one, not this one.", s.CopyOf, at, s.ByID, termsafe.String(s.ByMessageID), reason)
	}
	if s.Kind == manifest.Cancel {
		return fmt.Sprintf("CANCELLED by the sender at %s%s. Do not dispense or act on it.", at, reason)
	}
	return fmt.Sprintf("REPLACED by the sender at %s with message #%s (%s)%s. Use the new one, not this one.", at, s.ByID, termsafe.String(s.ByMessageID), reason)
}

// SupersedesNote is the line shown on a cancellation or replacement
// itself: what it did, or, in red (warning true), why it changed nothing;
// "" for nil.
func SupersedesNote(c *receive.SupersedeClaim) (note string, warning bool) {
	if c == nil {
		return "", false
	}
	what := "cancellation"
	if c.Kind == manifest.Replace {
		what = "replacement"
	}
	id := termsafe.String(c.MessageID)
	switch {
	case c.Refused != "":
		return termsafe.String(c.Refused), true
	case c.Pending():
		return fmt.Sprintf("This is a %s of message %s, which has not arrived here; it will be marked when it does.", what, id), false
	}
	return fmt.Sprintf("This is a %s of message %s (item #%s), now marked as %s.", what, id, strings.Join(c.Applied, ", #"), map[bool]string{true: "replaced", false: "cancelled"}[c.Kind == manifest.Replace]), false
}

// auditSupersessions records what the items just stored did as
// cancellations or replacements, or had done to them: receive.superseded
// for one applied (when the claim arrives, or when its original arrives
// after it) or received ahead of its original (state "... pending"),
// receive.supersede_refused for one that changed nothing; and
// receive.superseded for an unverified copy that carries the mark of its
// Verified original (receive.Supersession.CopyOf) when the copy, the
// claim or the original just arrived. A failure to record is a warning:
// the mail is stored.
func (d *Desk) auditSupersessions(items []receive.Item) {
	if len(items) == 0 {
		return
	}
	st, err := d.Inbox()
	if err != nil {
		d.warn(err)
		return
	}
	fresh, arrived := map[string]bool{}, map[string]bool{}
	var ids, msgIDs []string
	for _, it := range items {
		fresh[it.ID] = true
		ids = append(ids, it.ID)
		if it.MessageID != "" {
			arrived[it.MessageID] = true
			msgIDs = append(msgIDs, it.MessageID)
		}
	}
	// Only the claims involved, not the whole inbox: a watch fetches
	// each new message in a round of its own.
	all, err := st.SupersessionsFor(ids, msgIDs)
	if err != nil {
		d.warn(fmt.Errorf("the audit log could not record cancellations and replacements: %w", err))
		return
	}
	var events []audit.Event
	for _, c := range all {
		cl := c.Supersedes
		if cl == nil || !fresh[c.ID] && !arrived[cl.MessageID] {
			continue
		}
		f := audit.Fields{"message_id": c.MessageID, "old": cl.MessageID, "from": c.From,
			"fingerprint": c.SignerFingerprint, "verdict": string(c.Verdict)}
		switch {
		case cl.Refused != "":
			f["state"] = string(cl.Kind) + " refused"
			f["reason"] = cl.Refused // built from IDs, fingerprints and verdicts only
			events = append(events, audit.Event{Kind: audit.ReceiveSupersedeRefused, Fields: f})
		case cl.Pending():
			f["state"] = string(cl.Kind) + " pending"
			events = append(events, audit.Event{Kind: audit.ReceiveSuperseded, Fields: f})
		default:
			f["state"] = string(cl.Kind) + " applied to #" + strings.Join(cl.Applied, " #")
			events = append(events, audit.Event{Kind: audit.ReceiveSuperseded, Fields: f})
		}
	}
	copies, err := st.MarkedCopiesFor(ids, msgIDs)
	if err != nil {
		d.warn(fmt.Errorf("the audit log could not record cancellations and replacements: %w", err))
		return
	}
	for _, c := range copies {
		s := c.Superseded
		if s == nil || s.CopyOf == "" || !fresh[c.ID] && !fresh[s.ByID] && !fresh[s.CopyOf] {
			continue
		}
		// an unverified copy of a cancelled or replaced message (a hostile
		// server's re-delivery?), marked from the claim on the original
		f := audit.Fields{"message_id": c.MessageID, "old": c.MessageID, "new": s.ByMessageID, "from": c.From,
			"verdict": string(c.Verdict), "state": string(s.Kind) + " marked on #" + c.ID + ", an unverified copy of #" + s.CopyOf}
		events = append(events, audit.Event{Kind: audit.ReceiveSuperseded, Fields: f})
	}
	l, err := d.Audit()
	for i := 0; err == nil && i < len(events); i++ {
		_, err = l.Append(events[i])
	}
	if err != nil {
		d.warn(fmt.Errorf("the audit log could not record cancellations and replacements: %w", err))
	}
}
