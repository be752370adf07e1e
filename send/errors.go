package send

import (
	"errors"
	"fmt"
)

// Error kinds. Every error returned by Submit wraps exactly one of these
// (or ErrInvalidMessage for bad input), so callers branch with errors.Is;
// errors.As with *Error gives the details.
var (
	// ErrNoTLS: the server offered no STARTTLS, or STARTTLS failed. Nothing
	// (no AUTH, no content) was sent.
	ErrNoTLS = errors.New("the mail server did not offer encryption (STARTTLS), so nothing was sent")
	// ErrTLSVersion: the server could only negotiate a TLS version below the
	// minimum. Nothing was sent.
	ErrTLSVersion = errors.New("the mail server only offers an outdated TLS version, so nothing was sent")
	// ErrCertificate: the server's certificate is untrusted, expired, or not
	// valid for the host name. Nothing was sent.
	ErrCertificate = errors.New("the mail server's certificate could not be verified, so nothing was sent")
	// ErrAuth: the server rejected the credentials, or offers no usable
	// mechanism.
	ErrAuth = errors.New("the mail server rejected the sign-in")
	// ErrRequireTLS: REQUIRETLS was required but the server does not offer it.
	ErrRequireTLS = errors.New("the mail server does not support REQUIRETLS, which is required, so nothing was sent")
	// ErrTemporary: a 4xx reply, a dropped connection, a time-out or an
	// unreachable server. Retrying later may succeed.
	ErrTemporary = errors.New("temporary failure; the message can be retried later")
	// ErrPermanent: a 5xx reply. Retrying the same message will fail again.
	ErrPermanent = errors.New("the mail server refused the message")
	// ErrRecipientsRejected: the message was accepted for some recipients
	// but not all; Error.Result lists which.
	ErrRecipientsRejected = errors.New("some recipients were rejected")
)

// Error is the error type returned by Submit.
type Error struct {
	// Kind is one of the Err* values above.
	Kind error
	// Stage names the protocol step that failed: "dial", "greeting",
	// "starttls", "tls", "auth", "mail", "rcpt", "data", "data-reply".
	//
	// "data" means the failure came before the whole message and its
	// final "." had been handed to the connection (a mid-upload break or
	// time-out, or a refused DATA command): the server discards what it
	// got, so retrying is safe. "data-reply" means everything went out and
	// the failure came while waiting for the server's final reply: either
	// its reply (Reply.Code set: a 4xx or 5xx refusal of the message) or,
	// with Reply.Code 0, a lost connection or time-out, after which the
	// server may have accepted the message ("possibly sent").
	Stage string
	// Server is the host:port that was contacted.
	Server string
	// Reply is the server's reply, when the failure was one (Code 0 otherwise).
	Reply Reply
	// Result is the partial transmission result, when the message was
	// accepted for some recipients (ErrRecipientsRejected) or the failure
	// happened after TLS was set up. May be nil.
	Result *Result
	// Err is the underlying error, if any. It never contains credentials.
	Err error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("send: %s: %s", e.Stage, e.Kind.Error())
	if errors.Is(e.Kind, ErrRecipientsRejected) && e.Result != nil && len(e.Result.Rejected) > 0 {
		for i, r := range e.Result.Rejected {
			sep := ", "
			if i == 0 {
				sep = ": "
			}
			msg += fmt.Sprintf("%s%s (server said: %d %s)", sep, r.Address, r.Reply.Code, r.Reply.Text)
		}
	} else if e.Reply.Code != 0 {
		msg += fmt.Sprintf(" (server said: %d %s)", e.Reply.Code, e.Reply.Text)
	} else if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the kind and the underlying error.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Temporary reports whether retrying later may succeed.
func (e *Error) Temporary() bool { return errors.Is(e.Kind, ErrTemporary) }
