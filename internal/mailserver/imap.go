package mailserver

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// FetchAll logs in to Dovecot over IMAPS as addr (one of Users), verifying the
// server's certificate against the test CA, and returns the raw RFC 5322
// bytes of every message in its INBOX, oldest first.
func (s *Server) FetchAll(ctx context.Context, addr string) ([][]byte, error) {
	pool, err := s.caPool()
	if err != nil {
		return nil, err
	}
	c, err := imapclient.DialTLS(Addr(s.IMAPS), &imapclient.Options{
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: Host, MinVersion: tls.VersionTLS12},
	})
	if err != nil {
		return nil, fmt.Errorf("mailserver: imaps: %w", err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(addr, s.Password).Wait(); err != nil {
		return nil, fmt.Errorf("mailserver: imap login %s: %w", addr, err)
	}
	mbox, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("mailserver: imap select: %w", err)
	}
	if mbox.NumMessages == 0 {
		c.Logout().Wait()
		return nil, nil
	}
	section := &imap.FetchItemBodySection{Peek: true}
	var all imap.SeqSet
	all.AddRange(1, mbox.NumMessages)
	bufs, err := c.Fetch(all, &imap.FetchOptions{
		BodySection: []*imap.FetchItemBodySection{section},
	}).Collect()
	if err != nil {
		return nil, fmt.Errorf("mailserver: imap fetch: %w", err)
	}
	msgs := make([][]byte, 0, len(bufs))
	for _, b := range bufs {
		msgs = append(msgs, b.FindBodySection(section))
	}
	c.Logout().Wait()
	return msgs, nil
}

// WaitForMessages polls addr's INBOX until it holds at least n messages and
// returns them, or fails when ctx ends. It asks Postfix to flush its queue
// on each round so deferred mail does not wait for the next queue run.
func (s *Server) WaitForMessages(ctx context.Context, addr string, n int) ([][]byte, error) {
	for {
		msgs, err := s.FetchAll(ctx, addr)
		if err == nil && len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("%d of %d messages arrived", len(msgs), n)
			}
			return nil, fmt.Errorf("mailserver: waiting for mail to %s: %w: %w", addr, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
		s.Flush(ctx)
	}
}
