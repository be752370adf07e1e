package send

import (
	"context"
	"errors"
	"os"
	"strings"
)

// errSubmitEnded stops the composer when Submit returns before reading
// the whole message.
var errSubmitEnded = errors.New("send: submission ended before the message was read")

// Send validates m, gives it a Message-ID if it has none (keep the one in
// the Result for retries), composes it and streams it into Submit through a
// pipe, so no document is ever held in memory whole. The envelope
// recipients are To and Cc. The Result (also attached to an *Error where
// there is one) carries the Message-ID and each document's size and SHA-256.
//
// Invalid messages are refused before any connection with an error
// wrapping ErrInvalidMessage; everything else is as for Submit. Send is
// SendProtected without OpenPGP protection.
func Send(ctx context.Context, opts Options, m *Message) (*Result, error) {
	return SendProtected(ctx, opts, m, Protection{})
}

// domainOf returns the domain of an address.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return ""
}

// sizeBound is an upper bound of the composed size of m, for SIZE: the
// documents' base64 size with line breaks, the note quoted-printable at
// worst, and generous room for the header fields and part headers. It is
// 0 (undeclared) if a document cannot be examined.
func sizeBound(m *Message) int64 {
	const headerRoom, partRoom = 4096, 2048
	n := int64(headerRoom + 3*len(m.Subject) + 3*len(m.Note) + 2*len(m.Note)/76 + partRoom)
	n += manifestSizeBound(m)
	for _, d := range m.Documents {
		fi, err := os.Stat(d.Path)
		if err != nil {
			return 0
		}
		b64 := (fi.Size() + 2) / 3 * 4
		n += b64 + (b64/base64Line+1)*2 + partRoom + 6*int64(len(documentName(&d)))
	}
	return n
}
