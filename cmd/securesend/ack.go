package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/send/outbox"
)

const inboxAckUsage = `Usage: securesend inbox ack ID --accept | --reject REASON | --received

Send the verified sender of item ID a signed, encrypted acknowledgement:
accepted (--reason TEXT adds a note), or rejected with the reason (one line). --received sends the
"received and verified" acknowledgement by hand (when your organisation's
policy does not send it automatically). Only a verified message is ever
acknowledged, each kind once, and only to the address that signed it.
The acknowledgement is queued in the outbox and sent at once; if that
fails, 'securesend outbox run' sends it later.
`

// inboxAck is `securesend inbox ack`.
func inboxAck(fs *flag.FlagSet) runFunc {
	accept := fs.Bool("accept", false, "accept the message")
	reject := fs.String("reject", "", "reject the message, with this reason")
	received := fs.Bool("received", false, "send the received-and-verified acknowledgement")
	reason := fs.String("reason", "", "a note with --accept")
	return func(ctx context.Context, c *call) error {
		id := c.item()
		var kind ack.Kind
		n := 0
		if *accept {
			kind, n = ack.Accepted, n+1
		}
		if *reject != "" {
			kind, n = ack.Rejected, n+1
		}
		if *received {
			kind, n = ack.Received, n+1
		}
		switch {
		case n != 1:
			return errors.New("give exactly one of --accept, --reject REASON or --received")
		case kind != ack.Accepted && *reason != "":
			return errors.New("--reason goes with --accept (a rejection's reason is --reject's value)")
		case kind == ack.Rejected:
			*reason = *reject
		}
		job, err := c.desk.AcknowledgeJob(ctx, id, kind, *reason)
		if errors.Is(err, ack.ErrInvalid) {
			return fmt.Errorf("the reason cannot be sent: %w", err)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "Acknowledgement (%s) of #%s queued as job %s.\n", kind, id, desk.ShortID(job))
		ob, err := c.desk.Outbox(desk.OutboxOptions{})
		if err != nil {
			return fmt.Errorf("it stays queued: %w", err)
		}
		rec, err := ob.Deliver(ctx, job, nil)
		if err != nil || rec.State != outbox.Sent {
			why := ""
			if err != nil {
				why = ": " + termsafe.String(err.Error())
			} else if rec.LastError != "" {
				why = ": " + termsafe.String(rec.LastError)
			}
			fmt.Fprintf(c.stdout, "It is not sent yet%s; 'securesend outbox run' sends it.\n", why)
			return nil
		}
		fmt.Fprintln(c.stdout, "Sent.")
		return nil
	}
}
