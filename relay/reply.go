package relay

import (
	"errors"
	"strings"

	"github.com/emersion/go-smtp"
)

// maxReplyText bounds the free text of a reply: MFD screens are small.
const maxReplyText = 200

// The relay's refusals, as devices show them.
var (
	errNeedTLS = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Must issue a STARTTLS command first"}
	errNeedAuth = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Authentication required: sign in with this device's name and password"}
	errAuthFailed = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
		Message: "Authentication failed: wrong device name or password"}
	errAuthUnavailable = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
		Message: "Temporary authentication failure; try again later"}
	errOutboxUnavailable = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "The secure outbox cannot take the message now; nothing was sent, try again later"}
	errTooManyMessages = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
		Message: "Too many messages from this device in the last minute; try again shortly"}
)

func errUnknownRecipient(addr string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: replyText("<" + addr + ">: not in the directory and not a pinned recipient; ask your administrator")}
}

func errNoDoc(reason string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: replyText(reason)}
}

func errRefused(reason string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: replyText("Refused, nothing was sent: " + reason)}
}

func queued(job string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0},
		Message: replyText("Queued securely as job " + job + "; it will be signed, encrypted and delivered")}
}

// alreadyQueued answers a message sent again: 250, so the device stops
// trying, and nothing queued.
func alreadyQueued(job string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0},
		Message: replyText("Already queued securely as job " + job + "; not queued again")}
}

// replyText is s fit for an SMTP reply line: printable ASCII only (others
// become '?'), one line, bounded.
func replyText(s string) string {
	s = strings.Map(asciiOnly, s)
	if len(s) > maxReplyText {
		s = s[:maxReplyText-3] + "..."
	}
	return s
}

func asciiOnly(r rune) rune {
	if r < 0x20 || r > 0x7e {
		return '?'
	}
	return r
}

// safeReason is an error's text for a reply or the log: one line of
// printable ASCII, bounded.
func safeReason(err error) string {
	if err == nil {
		return ""
	}
	return replyText(err.Error())
}

// isTooLarge reports whether err is go-smtp's "message too big".
func isTooLarge(err error) bool {
	return errors.Is(err, smtp.ErrDataTooLarge)
}
