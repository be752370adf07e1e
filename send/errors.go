package send

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
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

// Error says what went wrong, and for a provider's refusal what to do
// (the ProviderRefusal's advice instead of the kind); the server's reply
// follows with its code and enhanced status code, on one line.
func (e *Error) Error() string {
	msg := fmt.Sprintf("send: %s: %s", e.Stage, e.Kind.Error())
	var pr *ProviderRefusal
	if errors.As(e.Err, &pr) {
		msg = fmt.Sprintf("send: %s: %s", e.Stage, pr.Advice)
	}
	if errors.Is(e.Kind, ErrRecipientsRejected) && e.Result != nil && len(e.Result.Rejected) > 0 {
		for i, r := range e.Result.Rejected {
			sep := ", "
			if i == 0 {
				sep = ": "
			}
			msg += fmt.Sprintf("%s%s (server said: %s)", sep, r.Address, r.Reply)
		}
	} else if e.Reply.Code != 0 {
		msg += fmt.Sprintf(" (server said: %s)", e.Reply)
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

// String is the reply as one line, as a server would write it, with the
// enhanced status code when there is one ("535 5.7.139 Authentication
// unsuccessful"); a multi-line text is joined with spaces and control and
// bidi characters are dropped, so a server cannot drive the terminal or
// forge lines of output.
func (r Reply) String() string {
	s := fmt.Sprint(r.Code)
	if r.EnhancedCode != "" {
		s += " " + r.EnhancedCode
	}
	if t := oneLine(r.Text, r.EnhancedCode); t != "" {
		s += " " + t
	}
	return s
}

// oneLine joins the lines of a reply text, dropping the enhanced code that
// repeats at the start of continuation lines, and removes control and
// bidi characters.
func oneLine(text, enhanced string) string {
	lines := strings.Split(text, "\n")
	for i := range lines {
		l := strings.TrimSpace(lines[i])
		if i > 0 && enhanced != "" {
			l = strings.TrimSpace(strings.TrimPrefix(l, enhanced))
		}
		lines[i] = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == unicode.ReplacementChar {
				return -1
			}
			return r
		}, l)
	}
	return strings.Join(strings.Fields(strings.Join(lines, " ")), " ")
}

// The advice of ProviderRefusal, in plain words, naming the fix.
const (
	adviceMicrosoft            = "Microsoft 365 no longer accepts passwords for sending: sign in with `securesend account add --auth microsoft`"
	adviceMicrosoftSMTPAuthOff = "Microsoft 365 has sending from mail programs (Authenticated SMTP) turned off for this mailbox or organisation: " +
		"ask your Microsoft 365 administrator to turn it on for this mailbox, then sign in with `securesend account add --auth microsoft`"
	adviceGoogleAppPassword = "Google does not accept your Google password for sending: create an app password " +
		"(https://myaccount.google.com/apppasswords) and use it instead, or sign in with `securesend account add --auth google`"
	adviceGoogleBadCredentials = "Google did not accept the user name and password: check them; if the account uses 2-Step Verification, " +
		"Google needs an app password (https://myaccount.google.com/apppasswords) instead of your Google password, or sign in with `securesend account add --auth google`"
)

// ProviderRefusal is Error.Err when a large mail provider refused a
// password sign-in with a reply whose fix is known: Microsoft 365 has
// turned off passwords (basic authentication) for SMTP, or Google wants an
// app password. Error.Kind stays ErrAuth, and Error.Reply keeps the
// server's reply code, enhanced status code and text.
type ProviderRefusal struct {
	// Provider is "Microsoft 365" or "Google".
	Provider string
	// Advice says what to do, naming the command.
	Advice string
}

func (p *ProviderRefusal) Error() string { return p.Advice }

// Is makes errors.Is(p, ErrAuth) true.
func (p *ProviderRefusal) Is(target error) bool { return target == ErrAuth }

// providerRefusals are the known replies, most specific first. Each needs
// its enhanced code and, where the code is one that other servers use as
// well, the provider's own words.
var providerRefusals = []struct {
	enhanced string // the enhanced status code
	text     string // lower case, must appear in the text; "" for any
	provider string
	advice   string
}{
	// 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant/Mailbox.
	{"5.7.139", "smtpclientauthentication is disabled", "Microsoft 365", adviceMicrosoftSMTPAuthOff},
	// 535 5.7.139 Authentication unsuccessful, basic authentication is disabled.
	// (and the other 5.7.139 texts: security defaults, user locked by policy)
	{"5.7.139", "authentication unsuccessful", "Microsoft 365", adviceMicrosoft},
	// 550 5.7.30 Basic authentication is not supported for Client Submission
	{"5.7.30", "basic authentication", "Microsoft 365", adviceMicrosoft},
	// 534 5.7.9 Application-specific password required. Learn more at https://support.google.com/mail/?p=InvalidSecondFactor
	{"5.7.9", "application-specific password required", "Google", adviceGoogleAppPassword},
	// 535 5.7.8 Username and Password not accepted. Learn more at https://support.google.com/mail/?p=BadCredentials
	{"5.7.8", "username and password not accepted", "Google", adviceGoogleBadCredentials},
}

// ProviderRefusalFor returns the ProviderRefusal that explains r, a
// server's permanent (5xx) refusal of a password sign-in, or nil when r is
// not one of the known provider replies. Submit applies it to sign-ins with
// a password (PLAIN, LOGIN) only; other code that signs in with a password
// (an account test) can call it too.
func ProviderRefusalFor(r Reply) *ProviderRefusal {
	if r.Code/100 != 5 || r.EnhancedCode == "" {
		return nil
	}
	text := strings.ToLower(oneLine(r.Text, r.EnhancedCode))
	for _, p := range providerRefusals {
		if r.EnhancedCode == p.enhanced && strings.Contains(text, p.text) {
			return &ProviderRefusal{Provider: p.provider, Advice: p.advice}
		}
	}
	return nil
}
