package demomail

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Fetched is one message read from a demo mailbox.
type Fetched struct {
	UID      uint32
	Received time.Time
	// Raw is the whole RFC 5322 message as stored.
	Raw []byte
}

// Fetch signs in to the demo IMAP server as the account with the given
// address, over TLS verified against the demo CA, and returns every message
// in its INBOX, oldest first. It is the demo's stand-in for the real inbox
// until the app reads the account through the receive package.
func (s *System) Fetch(ctx context.Context, address string) ([]Fetched, error) {
	a, ok := s.Account(address)
	if !ok {
		return nil, fmt.Errorf("demomail: no demo account %q", address)
	}
	host, _, err := net.SplitHostPort(s.IMAPAddr)
	if err != nil {
		return nil, fmt.Errorf("demomail: %w", err)
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	raw, err := d.DialContext(ctx, "tcp", s.IMAPAddr)
	if err != nil {
		return nil, fmt.Errorf("demomail: imap: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	} else {
		_ = raw.SetDeadline(time.Now().Add(time.Minute))
	}
	conn := tls.Client(raw, &tls.Config{RootCAs: s.RootCAs(), ServerName: host, MinVersion: tls.VersionTLS12})
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("demomail: imap tls: %w", err)
	}
	c := imapclient.New(conn, nil)
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	if err := c.Login(a.Address, a.Password).Wait(); err != nil {
		return nil, fmt.Errorf("demomail: imap login: %w", err)
	}
	sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("demomail: imap select: %w", err)
	}
	var out []Fetched
	if sel.NumMessages > 0 {
		section := &imap.FetchItemBodySection{Peek: true}
		var all imap.SeqSet
		all.AddRange(1, 0) // 1:*
		msgs, err := c.Fetch(all, &imap.FetchOptions{
			UID: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{section},
		}).Collect()
		if err != nil {
			return nil, fmt.Errorf("demomail: imap fetch: %w", err)
		}
		for _, m := range msgs {
			out = append(out, Fetched{UID: uint32(m.UID), Received: m.InternalDate, Raw: m.FindBodySection(section)})
		}
	}
	_ = c.Logout().Wait()
	return out, nil
}
