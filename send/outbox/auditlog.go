package outbox

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/securesend/securesend/audit"
)

// eventKind is an outbox event, mapped to an audit kind.
type eventKind = audit.Kind

const (
	eventQueued       = audit.SendQueued
	eventAttempt      = audit.SendAttempt
	eventSent         = audit.SendSent
	eventFailed       = audit.SendFailed
	eventDeferred     = audit.SendDeferred
	eventPossiblySent = audit.SendPossiblySent
	eventInterrupted  = audit.SendInterrupted
)

// audit appends an event about rec to the audit log, if there is one:
// addresses, Message-ID, document hashes and sizes, server reply — never
// document names, subject or content.
func (o *Outbox) audit(rec *Record, kind eventKind) error {
	if o.opts.Audit == nil {
		return nil
	}
	f := audit.Fields{
		"job":        rec.ID,
		"from":       rec.Envelope.From,
		"to":         strings.Join(rec.Envelope.To, ", "),
		"message_id": rec.MessageID,
		"size":       strconv.FormatInt(rec.Size, 10),
		"state":      string(rec.State),
		"attempt":    strconv.Itoa(rec.Attempts),
	}
	if rec.Account != "" {
		f["account"] = rec.Account
	}
	var hashes []string
	for _, d := range rec.Documents {
		hashes = append(hashes, d.SHA256)
	}
	if len(hashes) > 0 {
		f["sha256"] = strings.Join(hashes, ", ")
	}
	if r := rec.Result; kind == eventSent && r != nil {
		f["server"] = r.Server
		f["tls"] = strings.TrimSpace(r.TLS.Version + " " + r.TLS.CipherSuite)
		f["reply"] = strings.TrimSpace(fmt.Sprintf("%d %s %s", r.Reply.Code, r.Reply.EnhancedCode, r.Reply.Text))
		f["queue_id"] = r.QueueID
		f["requiretls"] = strconv.FormatBool(r.RequireTLS)
	}
	if kind == eventDeferred {
		f["next_attempt"] = rec.NextAttempt.UTC().Format(time.RFC3339)
	}
	if kind != eventQueued && kind != eventAttempt {
		f["reason"] = rec.LastError
	}
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	if _, err := o.opts.Audit.Append(audit.Event{Kind: kind, Time: o.now(), Fields: f}); err != nil {
		return fmt.Errorf("%w: %v", ErrAudit, err)
	}
	return nil
}
