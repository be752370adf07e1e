package send

import (
	"context"
	"errors"
	"io"
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
// wrapping ErrInvalidMessage; everything else is as for Submit.
func Send(ctx context.Context, opts Options, m *Message) (*Result, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	msg := *m
	if msg.MessageID == "" {
		id, err := NewMessageID(domainOf(msg.From.Address))
		if err != nil {
			id, err = NewMessageID("")
			if err != nil {
				return nil, err
			}
		}
		msg.MessageID = id
	}
	if msg.Date.IsZero() {
		if opts.Now != nil {
			msg.Date = opts.Now()
		}
	}
	env := Envelope{From: msg.From.Address, Size: sizeBound(&msg)}
	for _, a := range msg.To {
		env.To = append(env.To, a.Address)
	}
	for _, a := range msg.Cc {
		env.To = append(env.To, a.Address)
	}

	pr, pw := io.Pipe()
	var (
		infos []DocumentInfo
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		var err error
		infos, err = Compose(pw, &msg)
		pw.CloseWithError(err) // nil: the reader sees io.EOF
	}()
	res, err := Submit(ctx, opts, env, pr)
	pr.CloseWithError(errSubmitEnded)
	<-done

	fill := func(r *Result) {
		if r != nil {
			r.MessageID = msg.MessageID
			r.Documents = infos
		}
	}
	fill(res)
	var se *Error
	if errors.As(err, &se) && se.Result != res {
		fill(se.Result)
	}
	return res, err
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
