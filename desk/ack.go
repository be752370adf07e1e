package desk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strings"
	"sync"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/gate"
	"github.com/securesend/securesend/internal/manifest"
	"github.com/securesend/securesend/profile"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/outbox"
)

// Errors of Acknowledge.
var (
	// ErrAckNotVerified: only a Verified message (not by an impostor) is
	// ever acknowledged, so that an acknowledgement tells an attacker
	// nothing.
	ErrAckNotVerified = errors.New("only a verified message can be acknowledged")
	// ErrAckTwice: this kind of acknowledgement was already sent for the
	// message.
	ErrAckTwice = errors.New("this acknowledgement was already sent for the message")
	// ErrAckOff: the organisation's policy switches acknowledgements off.
	ErrAckOff = errors.New("your organisation's policy switches acknowledgements off")
	// ErrAckSuperseded: the message was cancelled or replaced by its
	// sender, so it cannot be accepted (a receipt or a rejection still
	// can be sent).
	ErrAckSuperseded = errors.New("the sender cancelled or replaced this message, so it cannot be accepted")
	// ErrAckOfAck: the item is itself an acknowledgement.
	ErrAckOfAck = errors.New("the item is an acknowledgement; acknowledgements are not acknowledged")
)

// AckRemark is the remark an inbox item that carried a verified
// acknowledgement gets: its parts are not stored as documents, and it is
// shown in the sender's Sent tab instead.
const AckRemark = "This message is a signed acknowledgement of a message you sent; it is shown with that message in the Sent tab and the outbox list."

// AckIgnoredRemark is the remark an inbox item gets when it carries the
// parts of an acknowledgement that did not count (not Verified, not
// matching a message in the outbox, or malformed; the audit log's
// ack.ignored record says why): it changes nothing in the Sent tab or the
// outbox list, and is never itself acknowledged.
const AckIgnoredRemark = "This message looks like an acknowledgement of a message you sent, but it did not count (the audit log says why): it does not confirm that anything was received, accepted or rejected, and nothing in the Sent tab changed."

// Acknowledge queues an acknowledgement of kind (ack.Accepted or
// ack.Rejected with a reason; ack.Received when the policy's mode is
// manual) of inbox item inboxID to the message's verified sender, signed
// with the user's key for the account's address and encrypted to the key
// that signed the message, through the outbox (Deliver sends it; its job
// is returned by the audit record). It refuses a message that is not
// Verified or was signed by an impostor (ErrAckNotVerified), a second
// acknowledgement of the same kind (ErrAckTwice), an acknowledgement
// itself (ErrAckOfAck), and any when the policy's mode is off (ErrAckOff).
func (d *Desk) Acknowledge(ctx context.Context, inboxID string, kind ack.Kind, reason string) error {
	_, err := d.acknowledge(ctx, inboxID, kind, reason)
	return err
}

// AcknowledgeJob is Acknowledge returning the outbox job that carries the
// acknowledgement, for a front end that delivers it at once.
func (d *Desk) AcknowledgeJob(ctx context.Context, inboxID string, kind ack.Kind, reason string) (JobID, error) {
	return d.acknowledge(ctx, inboxID, kind, reason)
}

func (d *Desk) acknowledge(ctx context.Context, inboxID string, kind ack.Kind, reason string) (JobID, error) {
	if !kind.Valid() {
		return "", fmt.Errorf("%q is not an acknowledgement kind (received, accepted or rejected)", kind)
	}
	reason = strings.TrimSpace(reason)
	if kind == ack.Rejected && reason == "" {
		return "", errors.New("a rejection needs a reason")
	}
	pol, _, err := d.Policy(profile.UserSettings{})
	if err != nil {
		return "", err
	}
	if pol.Acknowledgements() == profile.AckOff {
		return "", ErrAckOff
	}
	st, err := d.Inbox()
	if err != nil {
		return "", err
	}
	it, err := st.Get(inboxID)
	if err != nil {
		return "", err
	}
	rep, err := st.Report(inboxID)
	if err != nil {
		return "", err
	}
	return d.queueAck(ctx, it, rep, kind, reason)
}

// queueAck checks that item it (with report rep) may be acknowledged with
// kind, composes the acknowledgement and queues it.
func (d *Desk) queueAck(ctx context.Context, it *receive.Item, rep *receive.Report, kind ack.Kind, reason string) (JobID, error) {
	if rep.Verdict != receive.Verified || rep.Impostor || Withheld(rep) || it.Verdict != receive.Verified {
		return "", fmt.Errorf("item #%s (%s): %w", it.ID, rep.Verdict, ErrAckNotVerified)
	}
	if IsAcknowledgement(rep) {
		return "", fmt.Errorf("item #%s: %w", it.ID, ErrAckOfAck)
	}
	if kind == ack.Accepted && it.Superseded != nil {
		return "", fmt.Errorf("item #%s: %w", it.ID, ErrAckSuperseded)
	}
	to := strings.ToLower(rep.From)
	if to == "" || rep.MessageID == "" || !rep.Signed.From {
		return "", fmt.Errorf("item #%s has no signed sender or Message-ID: %w", it.ID, ErrAckNotVerified)
	}
	accts := d.Accounts()
	acct, err := accts.Get(it.Source.Account)
	if err != nil {
		return "", fmt.Errorf("account %s of item #%s: %w", it.Source.Account, it.ID, err)
	}
	rcpt := &ack.Receipt{OriginalMessageID: rep.MessageID, Kind: kind, Reason: reason, Verdict: string(rep.Verdict),
		Documents: ackDocuments(rep), FinalRecipient: strings.ToLower(acct.Email), Time: d.Now()}
	if err := rcpt.Validate(); err != nil {
		return "", err
	}
	m := &send.Message{From: mail.Address{Address: acct.Email}, To: []mail.Address{{Address: to}},
		Subject: ack.Subject(kind), NoAcknowledgement: true}
	o, err := d.Outbox(OutboxOptions{})
	if err != nil {
		return "", err
	}
	pol, err := d.side().policy(profile.UserSettings{})
	if err != nil {
		return "", err
	}
	ks, err := d.Keys()
	if err != nil {
		return "", err
	}
	g := gate.New(pol, ks)
	if err := g.CheckRoute(gate.AccountRoute(acct)); err != nil {
		return "", policyRefusal(err)
	}
	prot, err := protection(ks, m, send.EncryptAlways, g.Keys())
	if err != nil {
		return "", &userError{PlainError(err), err}
	}
	if len(prot.Recipients) != 1 || string(prot.Recipients[0].Fingerprint()) != rep.SignerFingerprint {
		return "", fmt.Errorf("the key your organisation's policy gives for %s is not the key that signed item #%s, so no acknowledgement is sent; check the sender's key", to, it.ID)
	}
	job, err := outboxJob(m, acct.Name, d.Now())
	if err != nil {
		return "", err
	}
	var r send.Result
	r.SetProtection(prot)
	job.Encrypted, job.Signed, job.SignerFingerprint = r.Encrypted, r.Signed, r.SignerFingerprint
	job.EncryptedTo = gate.EncryptedTo(m, prot)
	entry := ackEntry{Dir: ackOut, Kind: kind, OriginalMessageID: rcpt.OriginalMessageID, Peer: to, InboxID: it.ID,
		Reason: reason, Verdict: rcpt.Verdict, Documents: rcpt.Documents, FinalRecipient: rcpt.FinalRecipient, Time: rcpt.Time.UTC().Truncate(1e9)}
	var id JobID
	_, err = d.appendAck(entry, func(es []ackEntry, e *ackEntry) error {
		for _, x := range es {
			if x.Dir == ackOut && x.Kind == kind && x.OriginalMessageID == entry.OriginalMessageID && strings.EqualFold(x.Peer, to) {
				return fmt.Errorf("item #%s, %s: %w", it.ID, kind, ErrAckTwice)
			}
		}
		// Queued under the log's lock, so two processes cannot both
		// send the same acknowledgement.
		var err error
		id, err = o.ob.Enqueue(ctx, job, func(w io.Writer) ([]send.DocumentInfo, error) {
			return nil, send.ComposeProtectedEntity(w, m, prot, func(w io.Writer) error { return ack.Write(w, rcpt) })
		})
		if err != nil {
			return &userError{strings.TrimPrefix(err.Error(), "outbox: "), err}
		}
		e.Job = id
		return nil
	})
	if err != nil {
		// A job queued whose record could not be written would be sent
		// without the log knowing: take it back.
		if id != "" {
			if _, cerr := o.ob.Cancel(id); cerr == nil {
				_ = o.ob.Remove(id)
			}
		}
		return "", err
	}
	if err := d.record(audit.AckSent, audit.Fields{"job": id, "account": acct.Name, "from": strings.ToLower(acct.Email), "to": to,
		"message_id": rep.MessageID, "state": string(kind), "sha256": strings.Join(rcpt.SHA256s(), " ")}); err != nil {
		d.warn(fmt.Errorf("the audit log could not record the acknowledgement: %w", err))
	}
	return id, nil
}

// IsAcknowledgement reports whether rep is of an acknowledgement, counted
// (AckRemark) or not (AckIgnoredRemark, or parts of an acknowledgement
// stored as documents), or of any disposition notification: RFC 8098
// (section 2.1) forbids answering one, and two programs that did would
// send each other acknowledgements forever. A nil rep is none.
func IsAcknowledgement(rep *receive.Report) bool {
	if rep == nil {
		return false
	}
	if slices.Contains(rep.Remarks, AckRemark) || slices.Contains(rep.Remarks, AckIgnoredRemark) {
		return true
	}
	return slices.ContainsFunc(rep.Documents, func(doc receive.Document) bool {
		ct := strings.ToLower(doc.ContentType)
		return ct == ack.NotificationType || ct == ack.MediaType
	})
}

// ackDocuments are the documents an acknowledgement of rep names: the
// manifest's when it has one (what the sender listed), else the
// receiver's own.
func ackDocuments(rep *receive.Report) []manifest.Document {
	if rep.Manifest != nil {
		return slices.Clone(rep.Manifest.Documents)
	}
	out := make([]manifest.Document, 0, len(rep.Documents))
	for _, doc := range rep.Documents {
		ct := doc.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		out = append(out, manifest.Document{Name: doc.Name, ContentType: ct, Size: doc.Size, SHA256: strings.ToLower(doc.SHA256)})
	}
	return out
}

// autoAcknowledge queues, after a fetch through account a, a "received"
// acknowledgement of every new item that is Verified and whose signed
// header asks for one, when the policy's mode is auto, and makes one
// delivery attempt of each (a failure leaves it to the outbox's retries).
// Nothing stops the fetch: problems are warnings.
func (d *Desk) autoAcknowledge(ctx context.Context, a *account.Account, items []receive.Item) []JobID {
	if d.mail != nil {
		// A demo Desk (OpenDemo): the demo has no acknowledgement loop.
		return nil
	}
	var want []*receive.Item
	for i := range items {
		if items[i].Verdict == receive.Verified {
			want = append(want, &items[i])
		}
	}
	if len(want) == 0 {
		return nil
	}
	pol, _, err := d.Policy(profile.UserSettings{})
	if err != nil || pol.Acknowledgements() != profile.AckAuto {
		return nil
	}
	st, err := d.Inbox()
	if err != nil {
		d.warn(err)
		return nil
	}
	var ids []JobID
	for _, it := range want {
		rep, err := st.Report(it.ID)
		if err != nil {
			d.warn(err)
			continue
		}
		if rep.DispositionNotificationTo == "" || IsAcknowledgement(rep) {
			continue
		}
		id, err := d.queueAck(ctx, it, rep, ack.Received, "")
		if errors.Is(err, ErrAckTwice) {
			continue
		}
		if err != nil {
			d.warn(fmt.Errorf("no acknowledgement was sent for item #%s: %w", it.ID, err))
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	o, err := d.Outbox(OutboxOptions{Via: Via{Account: a.Name}})
	if err != nil {
		d.warn(err)
		return ids
	}
	for _, id := range ids {
		if _, err := o.Deliver(ctx, id, nil); err != nil {
			d.warn(fmt.Errorf("the acknowledgement (job %s) is queued; it could not be sent yet: %w", id, err))
		}
	}
	return ids
}

// ackCapture holds the parts of a message that look like an
// acknowledgement while it is verified.
type ackCapture struct {
	mu    sync.Mutex
	parts []capturedPart
}

type capturedPart struct {
	name, contentType string
	data              []byte
	path              string // the placeholder the sink returned
}

// ackPlaceholder prefixes the path the capturing sink returns for a part
// it keeps in memory; never a real file name (it starts with NUL).
const ackPlaceholder = "\x00ack-part-"

// ackVerifier wraps verify for a fetch: the parts of an acknowledgement
// (message/disposition-notification and securesend's JSON part, small)
// are kept in memory instead of reaching the inbox store; after the
// verdict, a Verified acknowledgement is matched to its outbox job and
// recorded (routeAck) and its parts are not stored as documents (AckRemark
// is added to the report); anything else gets its parts stored as
// documents after all, so nothing is lost, and an acknowledgement that
// does not count is audited as ignored.
func (d *Desk) ackVerifier(verify receive.VerifyFunc) receive.VerifyFunc {
	return func(ctx context.Context, raw io.Reader, sink receive.DocumentSink) (*receive.Report, error) {
		var c ackCapture
		inner := func(name, contentType string, r io.Reader) (string, error) {
			limit := 0
			switch contentType {
			case ack.NotificationType:
				limit = ack.MaxNotification
			case ack.MediaType:
				limit = ack.MaxJSON
			default:
				return sink(name, contentType, r)
			}
			c.mu.Lock()
			seen := slices.ContainsFunc(c.parts, func(p capturedPart) bool { return p.contentType == contentType })
			c.mu.Unlock()
			if seen {
				// An acknowledgement has one of each: a second is
				// stored at once (the message then does not count), so
				// a message of many such parts is never held in memory.
				return sink(name, contentType, r)
			}
			buf, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
			if err != nil {
				return "", err
			}
			if len(buf) > limit {
				return sink(name, contentType, io.MultiReader(bytes.NewReader(buf), r))
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			p := capturedPart{name: name, contentType: contentType, data: buf, path: fmt.Sprintf("%s%d", ackPlaceholder, len(c.parts))}
			c.parts = append(c.parts, p)
			return p.path, nil
		}
		rep, err := verify(ctx, raw, inner)
		if err != nil || len(c.parts) == 0 {
			return rep, err
		}
		if d.routeAck(rep, c.parts) {
			rep.Documents = slices.DeleteFunc(rep.Documents, func(doc receive.Document) bool { return strings.HasPrefix(doc.Path, ackPlaceholder) })
			rep.Remarks = append(rep.Remarks, AckRemark)
			return rep, nil
		}
		// Not an acknowledgement that counts: its parts are documents
		// like any other, and it says that it confirms nothing.
		rep.Remarks = append(rep.Remarks, AckIgnoredRemark)
		for _, p := range c.parts {
			path, err := sink(p.name, p.contentType, bytes.NewReader(p.data))
			if err != nil {
				return nil, err
			}
			for i := range rep.Documents {
				if rep.Documents[i].Path == p.path {
					rep.Documents[i].Path = path
				}
			}
		}
		return rep, nil
	}
}

// routeAck decides whether a message with report rep and the captured
// parts is an acknowledgement that counts, records it (and audits it)
// when it is, and audits it as ignored when it looks like one but does
// not count. It reports whether the parts were taken as an
// acknowledgement.
func (d *Desk) routeAck(rep *receive.Report, parts []capturedPart) bool {
	ignore := func(reason string, rc *ack.Receipt) bool {
		f := audit.Fields{"from": rep.From, "verdict": string(rep.Verdict), "fingerprint": rep.SignerFingerprint, "reason": reason}
		if rc != nil {
			f["message_id"] = rc.OriginalMessageID
			f["state"] = string(rc.Kind)
		}
		if err := d.record(audit.AckIgnored, f); err != nil {
			d.warn(fmt.Errorf("the audit log could not record an ignored acknowledgement: %w", err))
		}
		return false
	}
	var notif, data []byte
	for _, p := range parts {
		switch {
		case p.contentType == ack.NotificationType && notif == nil:
			notif = p.data
		case p.contentType == ack.MediaType && data == nil:
			data = p.data
		default:
			return ignore("it has more than one disposition notification or acknowledgement part", nil)
		}
	}
	if notif == nil || data == nil {
		return ignore("it lacks securesend's acknowledgement part or the disposition notification", nil)
	}
	rc, err := ack.ParseParts(notif, data)
	if err != nil {
		return ignore(err.Error(), nil)
	}
	if rep.Verdict != receive.Verified || rep.Impostor {
		return ignore("it is not verified ("+string(rep.Verdict)+"), so it does not count", rc)
	}
	if len(rep.Documents) != len(parts) {
		return ignore("it carries documents besides the acknowledgement", rc)
	}
	from := strings.ToLower(rep.From)
	if rc.FinalRecipient != from {
		return ignore("its Final-Recipient is not the address that signed it", rc)
	}
	o, err := d.Outbox(OutboxOptions{})
	if err != nil {
		d.warn(err)
		return ignore("the outbox could not be opened to match it", rc)
	}
	recs, err := o.List()
	if err != nil {
		d.warn(err)
		return ignore("the outbox could not be read to match it", rc)
	}
	if rc.Verdict != string(receive.Verified) {
		return ignore("the recipient did not verify the message", rc)
	}
	// Every job of that Message-ID (a message queued again keeps it) that
	// went to this signer with these documents.
	var jobs []*outbox.Record
	why := "no message with that Message-ID is in the outbox"
	for _, r := range recs {
		switch {
		case r.MessageID != rc.OriginalMessageID:
		case !slices.ContainsFunc(r.Envelope.To, func(a string) bool { return strings.EqualFold(a, from) }):
			why = "it is not from a recipient of that message"
		case !sameHashes(r.Documents, rc.Documents):
			why = "the documents it acknowledges are not the ones sent"
		default:
			jobs = append(jobs, r)
		}
	}
	if len(jobs) == 0 {
		return ignore(why, rc)
	}
	for _, job := range jobs {
		added, err := d.appendAck(ackEntry{Dir: ackIn, Kind: rc.Kind, OriginalMessageID: rc.OriginalMessageID, Peer: from, Job: job.ID,
			Reason: rc.Reason, Verdict: rc.Verdict, Documents: rc.Documents, FinalRecipient: rc.FinalRecipient,
			Fingerprint: rep.SignerFingerprint, Time: rc.Time}, nil)
		if err != nil {
			d.warn(fmt.Errorf("a verified acknowledgement could not be recorded: %w", err))
			return false
		}
		if added {
			if err := d.record(audit.AckReceived, audit.Fields{"job": job.ID, "from": from, "message_id": rc.OriginalMessageID,
				"state": string(rc.Kind), "fingerprint": rep.SignerFingerprint, "verdict": string(rep.Verdict),
				"sha256": strings.Join(rc.SHA256s(), " ")}); err != nil {
				d.warn(fmt.Errorf("the audit log could not record the acknowledgement: %w", err))
			}
		}
	}
	return true
}

// sameHashes reports whether the documents sent and those acknowledged
// have the same SHA-256s (as multisets).
func sameHashes(sent []send.DocumentInfo, acked []manifest.Document) bool {
	if len(sent) != len(acked) {
		return false
	}
	a := make([]string, len(sent))
	for i, s := range sent {
		a[i] = strings.ToLower(s.SHA256)
	}
	b := make([]string, len(acked))
	for i, s := range acked {
		b[i] = s.SHA256
	}
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
