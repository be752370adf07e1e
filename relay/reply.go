package relay

import (
	"errors"
	"fmt"
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

// errAborted answers a message the device stopped sending (go-smtp
// does not send it: the transaction is over).
var errAborted = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
	Message: "The message was not received in full; nothing was sent, send it again"}

// errTooBig answers a message over the size limit of max bytes, declared
// with SIZE or found while receiving it (DATA or BDAT).
func errTooBig(max int64) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
		Message: fmt.Sprintf("The message is over this relay's size limit of %s; scan fewer pages or at a lower resolution", sizeText(max))}
}

// sizeText is a size in bytes as a device's screen shows it.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

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

// isTooLarge reports whether err is the "message too big" of
// limitReader (or go-smtp's).
func isTooLarge(err error) bool {
	return errors.Is(err, smtp.ErrDataTooLarge)
}
