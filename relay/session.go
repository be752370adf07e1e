package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/securesend/securesend/audit"
)

// session is one device's SMTP session (from EHLO to QUIT or STARTTLS).
type session struct {
	s      *Server
	conn   *smtp.Conn
	ip     netip.Addr
	device string // after AUTH
	rcpts  []Recipient
	// failures counts failed sign-ins; at maxAuthFailures the
	// connection is closed.
	failures int
	// receiving is closed when the Data running returns: with BDAT, Data
	// runs in its own goroutine, and Reset (RSET, or go-smtp ending a
	// transfer) waits for it so that it neither races with Data for
	// rcpts nor lets Data's answer outlive its message.
	mu        sync.Mutex
	receiving chan struct{}
}

// maxAuthFailures is how many wrong passwords one connection may try.
const maxAuthFailures = 3

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c, ip: remoteIP(c.Conn())}, nil
}

var _ smtp.AuthSession = (*session)(nil)

// tlsVersion is the connection's TLS version, "" without TLS.
func (ss *session) tlsVersion() string {
	st, ok := ss.conn.TLSConnectionState()
	if !ok {
		return ""
	}
	return tls.VersionName(st.Version)
}

// secure reports whether the session may sign in and send: over TLS, or
// from an address the admin allowed in plain text.
func (ss *session) secure() bool {
	return ss.tlsVersion() != "" || ss.s.plainAllowed(ss.ip)
}

// AuthMechanisms are offered only once the session is secure, so that a
// device never sees AUTH before STARTTLS.
func (ss *session) AuthMechanisms() []string {
	if !ss.secure() {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth answers AUTH: 530 before STARTTLS, then PLAIN or LOGIN checked
// against the device list.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	if !ss.secure() {
		ss.s.logf("refused AUTH without TLS from %s", ss.conn.Conn().RemoteAddr())
		return nil, errNeedTLS
	}
	if ss.failures >= maxAuthFailures {
		ss.s.logf("closed the connection from %s after %d failed sign-ins", ss.conn.Conn().RemoteAddr(), ss.failures)
		ss.conn.Conn().Close()
		return nil, errAuthFailed
	}
	check := func(user, pass string) error { return ss.signIn(user, pass) }
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return errAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) signIn(user, pass string) error {
	// argon2id takes 64 MiB a check: a few at once, however many
	// connections try.
	ss.s.hashing <- struct{}{}
	name, err := ss.s.opts.Devices.Check(user, pass)
	<-ss.s.hashing
	switch {
	case errors.Is(err, ErrAuthFailed):
		ss.failures++
		ss.s.logf("sign-in failed from %s as %q", ss.conn.Conn().RemoteAddr(), replyText(user))
		time.Sleep(ss.s.opts.AuthFailDelay)
		return errAuthFailed
	case err != nil:
		ss.s.logf("sign-in from %s: %s", ss.conn.Conn().RemoteAddr(), safeReason(err))
		return errAuthUnavailable
	}
	if !markSignedIn(ss.conn.Conn()) {
		// The sign-in deadline passed while the password was checked.
		return errAuthUnavailable
	}
	ss.device = name
	return nil
}

// Mail starts a message: only a signed-in device over TLS (or allowed
// plain text), within its messages per minute. The sender address is not
// used: the message is sent as the relay's account.
func (ss *session) Mail(_ string, opts *smtp.MailOptions) error {
	if !ss.secure() {
		return errNeedTLS
	}
	if ss.device == "" {
		return errNeedAuth
	}
	if opts != nil && opts.Size > ss.s.opts.MaxMessageBytes {
		ss.s.logf("device %s at %s: refused a message of %d bytes declared with SIZE: over the size limit of %d", ss.device, ss.conn.Conn().RemoteAddr(), opts.Size, ss.s.opts.MaxMessageBytes)
		return errTooBig(ss.s.opts.MaxMessageBytes)
	}
	if !ss.s.rate.take(ss.device) {
		ss.s.logf("device %s at %s: over %d messages a minute; told to try again", ss.device, ss.conn.Conn().RemoteAddr(), ss.s.opts.MaxPerMinute)
		return errTooManyMessages
	}
	return nil
}

// Rcpt accepts only directory or pinned recipients (or their aliases).
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.device == "" {
		return errNeedAuth
	}
	r, err := ss.s.opts.Resolver.Resolve(to)
	if err != nil {
		if errors.Is(err, ErrUnknownRecipient) {
			ss.s.logf("device %s: refused recipient %s: %s", ss.device, replyText(to), safeReason(err))
			return errUnknownRecipient(to)
		}
		ss.s.logf("device %s: recipient %s: %s", ss.device, replyText(to), safeReason(err))
		return errOutboxUnavailable
	}
	if r.Requested == "" {
		r.Requested = to
	}
	for _, have := range ss.rcpts {
		if strings.EqualFold(have.Address, r.Address) {
			return nil // an alias and its address, say: one copy
		}
	}
	ss.rcpts = append(ss.rcpts, r)
	return nil
}

// Data receives the message, checks its documents and queues it; 250
// only once the Submitter has it.
func (ss *session) Data(r io.Reader) error {
	if ss.device == "" || len(ss.rcpts) == 0 {
		return errNeedAuth
	}
	ss.s.busy.Add(1)
	defer ss.s.busy.Done()
	done := make(chan struct{})
	ss.mu.Lock()
	ss.receiving = done
	ss.mu.Unlock()
	defer close(done)
	dir, err := os.MkdirTemp(ss.s.opts.TempDir, incomingPrefix)
	if err != nil {
		ss.s.logf("device %s: cannot make a private folder: %s", ss.device, safeReason(err))
		return errOutboxUnavailable
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o700); err != nil {
		ss.s.logf("device %s: private folder: %s", ss.device, safeReason(err))
		return errOutboxUnavailable
	}
	// The size limit is the relay's own, for DATA and BDAT alike (go-smtp's
	// refuses an oversized BDAT chunk without telling the session why).
	// The whole message is read, so that a limit crossed after the last
	// MIME part counts too.
	tr := &limitReader{r: r, left: ss.s.opts.MaxMessageBytes}
	msg, err := extract(tr, dir)
	if err == nil {
		_, err = io.Copy(io.Discard, tr)
	}
	switch {
	case tr.tooLarge:
		ss.refused(fmt.Sprintf("message over the size limit of %d bytes", ss.s.opts.MaxMessageBytes), nil)
		return errTooBig(ss.s.opts.MaxMessageBytes)
	case tr.aborted:
		// RSET, a closed connection, or the end of a BDAT transfer
		// never sent: the device did not send the whole message.
		ss.s.logf("device %s at %s: stopped sending the message before its end; nothing queued", ss.device, ss.conn.Conn().RemoteAddr())
		return errAborted
	}
	var bad *badDocumentError
	switch {
	case errors.Is(err, errNoDocument):
		ss.refused("no document", nil)
		return errNoDoc(err.Error())
	case errors.As(err, &bad):
		ss.refused(bad.reason, nil)
		return errNoDoc(bad.reason)
	case err != nil:
		ss.s.logf("device %s: %s", ss.device, safeReason(err))
		return errOutboxUnavailable
	}
	tlsv := ss.tlsVersion()
	if tlsv == "" {
		tlsv = "none"
	}
	sub := Submission{
		Device:     ss.device,
		Source:     ss.conn.Conn().RemoteAddr().String(),
		TLS:        tlsv,
		Recipients: append([]Recipient(nil), ss.rcpts...),
		Subject:    msg.subject,
		Documents:  msg.docs,
		MessageID:  msg.messageID,
	}
	ctx, cancel := context.WithTimeout(context.Background(), ss.s.opts.SubmitTimeout)
	defer cancel()
	submit := func() (string, error) { return ss.s.opts.Submitter.Submit(ctx, sub) }
	var (
		job     string
		earlier *Earlier
	)
	if rs := ss.s.opts.Resends; rs != nil {
		finder, _ := ss.s.opts.Submitter.(JobFinder)
		job, earlier, err = rs.submitOnce(ctx, sub.resendKey(), finder, submit)
	} else {
		job, err = submit()
	}
	var (
		refusal *Refusal
		recErr  *errResendRecord
	)
	switch {
	case errors.As(err, &refusal):
		ss.refused(refusal.Reason, msg.docs)
		return errRefused(refusal.Reason)
	case job != "" && errors.As(err, &recErr):
		// Queued; only the note of it failed: a resend is settled by
		// the Submitter's JobFinder.
		ss.s.logf("device %s: job %s queued, but the resend record could not be written: %s", ss.device, job, safeReason(err))
	case err != nil:
		ss.s.logf("device %s: the outbox could not take the message (told to try again): %s", ss.device, safeReason(err))
		return errOutboxUnavailable
	}
	if earlier != nil {
		ss.duplicate(earlier, sub)
		return alreadyQueued(job)
	}
	ss.received(job, sub)
	return queued(job)
}

// resendKey is what makes sub the same message as an earlier one.
func (sub *Submission) resendKey() ResendKey {
	k := ResendKey{Device: sub.Device, MessageID: sub.MessageID}
	for _, r := range sub.Recipients {
		k.To = append(k.To, r.Address)
	}
	for _, d := range sub.Documents {
		k.SHA256 = append(k.SHA256, d.SHA256)
	}
	return k
}

// duplicate audits and logs a message sent again, not queued again.
func (ss *session) duplicate(e *Earlier, sub Submission) {
	f := ss.auditFields(sub.Documents)
	f["job"] = e.Job
	f["tls"] = sub.TLS
	how := "the same documents to the same recipients"
	if e.ByMessageID {
		how = "the same Message-ID"
	}
	f["reason"] = fmt.Sprintf("sent again by the device (%s as job %s, received %s); not queued again", how, e.Job, e.Time.UTC().Format(time.RFC3339))
	if _, err := ss.s.opts.Audit.Append(audit.Event{Kind: AuditDuplicate, Fields: f}); err != nil {
		ss.s.logf("AUDIT LOG FAILED for a resend from device %s: %s", ss.device, safeReason(err))
	}
	ss.s.logf("device %s at %s: sent job %s again (%s); answered 250, not queued again", ss.device, sub.Source, e.Job, how)
}

// received audits and logs a queued message.
func (ss *session) received(job string, sub Submission) {
	f := ss.auditFields(sub.Documents)
	f["job"] = job
	f["tls"] = sub.TLS
	if sub.TLS == "none" {
		f["reason"] = "received without TLS from an address allowed with --allow-plain-from"
		ss.s.logf("WARNING: device %s at %s sent job %s WITHOUT TLS (allowed with --allow-plain-from)", ss.device, sub.Source, job)
	}
	if _, err := ss.s.opts.Audit.Append(audit.Event{Kind: AuditReceived, Fields: f}); err != nil {
		ss.s.logf("AUDIT LOG FAILED for job %s from device %s: %s", job, ss.device, safeReason(err))
	}
	ss.s.logf("device %s at %s: %d document(s) to %s queued as job %s", ss.device, sub.Source, len(sub.Documents), f["to"], job)
}

// refused audits and logs a message refused after DATA.
func (ss *session) refused(reason string, docs []Document) {
	f := ss.auditFields(docs)
	f["reason"] = reason
	tlsv := ss.tlsVersion()
	if tlsv == "" {
		tlsv = "none"
	}
	f["tls"] = tlsv
	if _, err := ss.s.opts.Audit.Append(audit.Event{Kind: AuditRefused, Fields: f}); err != nil {
		ss.s.logf("AUDIT LOG FAILED for a refusal from device %s: %s", ss.device, safeReason(err))
	}
	ss.s.logf("device %s at %s: refused: %s", ss.device, ss.conn.Conn().RemoteAddr(), replyText(reason))
}

func (ss *session) auditFields(docs []Document) audit.Fields {
	to := make([]string, len(ss.rcpts))
	for i, r := range ss.rcpts {
		to[i] = r.Address
	}
	hashes := make([]string, len(docs))
	var size int64
	for i, d := range docs {
		hashes[i] = d.SHA256
		size += d.Size
	}
	f := audit.Fields{
		"actor":   ss.device,
		"address": ss.conn.Conn().RemoteAddr().String(),
		"to":      strings.Join(to, ", "),
	}
	if len(docs) > 0 {
		f["sha256"] = strings.Join(hashes, " ")
		f["size"] = strconv.FormatInt(size, 10)
	}
	return f
}

// Reset forgets the message being received (not the sign-in). A Data
// still reading one (a BDAT transfer stopped with RSET, or EHLO) is
// waited for (go-smtp has closed its reader, so it returns at once), and
// the connection is closed: go-smtp would hand that Data's answer to the
// session's next message (its BDAT result channel is per connection and
// written without a lock, go-smtp v0.25.1), so the device reconnects and
// sends its next message afresh.
func (ss *session) Reset() {
	ss.mu.Lock()
	done := ss.receiving
	ss.receiving = nil
	ss.mu.Unlock()
	// rcpts is cleared only once Data, which reads it, has returned.
	defer func() { ss.rcpts = nil }()
	if done == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	select {
	case <-done:
	case <-time.After(ss.s.opts.IdleTimeout):
	}
	ss.s.logf("device %s at %s: ended a message being sent (BDAT) before its end; closed the connection", ss.device, ss.conn.Conn().RemoteAddr())
	_ = ss.conn.Conn().Close()
}

// Logout ends the session.
func (ss *session) Logout() error { return nil }

// limitReader reads a message of at most left bytes: beyond that it
// fails with smtp.ErrDataTooLarge and notes it; it notes too when the
// device stopped sending before the end (smtp.ErrDataReset).
type limitReader struct {
	r        io.Reader
	left     int64
	tooLarge bool
	aborted  bool
}

func (t *limitReader) Read(p []byte) (int, error) {
	if t.tooLarge {
		return 0, smtp.ErrDataTooLarge
	}
	// One byte more than allowed tells a message of exactly the limit
	// from a longer one.
	if int64(len(p)) > t.left+1 {
		p = p[:t.left+1]
	}
	n, err := t.r.Read(p)
	if t.left -= int64(n); t.left < 0 || isTooLarge(err) {
		t.tooLarge = true
		return 0, smtp.ErrDataTooLarge
	}
	if errors.Is(err, smtp.ErrDataReset) {
		t.aborted = true
	}
	return n, err
}

// loginServer is the server side of AUTH LOGIN (draft-murchison-sasl-
// login): "Username:", then "Password:".
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step++
		if len(response) > 0 { // an initial response is the user name
			l.user = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(response)
		l.step++
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(l.user, string(response))
	}
	return nil, false, fmt.Errorf("unexpected response")
}
