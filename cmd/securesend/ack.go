package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/securesend/securesend/ack"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/send/outbox"
)

const inboxAckUsage = `Usage: securesend inbox ack ID --accept [--reason TEXT]
       securesend inbox ack ID --reject REASON
       securesend inbox ack ID --received

Send the verified sender of item ID a signed, encrypted acknowledgement:
accepted, or rejected with the reason (one line). --received sends the
"received and verified" acknowledgement by hand (when your organisation's
policy does not send it automatically). Only a verified message is ever
acknowledged, each kind once, and only to the address that signed it.
The acknowledgement is queued in the outbox and sent at once; if that
fails, 'securesend outbox run' sends it later.
`

// inboxAck is `securesend inbox ack`.
func inboxAck(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "inbox ack")
	fs.Usage = func() { fmt.Fprint(e.stderr, inboxAckUsage) }
	accept := fs.Bool("accept", false, "accept the message")
	reject := fs.String("reject", "", "reject the message, with this reason")
	received := fs.Bool("received", false, "send the received-and-verified acknowledgement")
	reason := fs.String("reason", "", "a note with --accept")
	id, code := parseOneArg(e, fs, args)
	if code >= 0 {
		return code
	}
	if id == "" {
		return errorf(e, "inbox ack: give the item ID (see 'securesend inbox list')")
	}
	id = strings.TrimPrefix(id, "#")
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
		return errorf(e, "inbox ack: give exactly one of --accept, --reject REASON or --received")
	case kind != ack.Accepted && *reason != "":
		return errorf(e, "inbox ack: --reason goes with --accept (a rejection's reason is --reject's value)")
	case kind == ack.Rejected:
		*reason = *reject
	}
	d, err := openDesk(e)
	if err != nil {
		return errorf(e, "inbox ack: %v", err)
	}
	job, err := d.AcknowledgeJob(ctx, id, kind, *reason)
	if err != nil {
		if errors.Is(err, ack.ErrInvalid) {
			return errorf(e, "inbox ack: the reason cannot be sent: %v", err)
		}
		return errorf(e, "inbox ack: %v", err)
	}
	fmt.Fprintf(e.stdout, "Acknowledgement (%s) of #%s queued as job %s.\n", kind, id, desk.ShortID(job))
	ob, err := d.Outbox(desk.OutboxOptions{})
	if err != nil {
		return errorf(e, "inbox ack: it stays queued: %v", err)
	}
	rec, err := ob.Deliver(ctx, job, nil)
	if err != nil || rec.State != outbox.Sent {
		why := ""
		if err != nil {
			why = ": " + termsafe.String(err.Error())
		} else if rec.LastError != "" {
			why = ": " + termsafe.String(rec.LastError)
		}
		fmt.Fprintf(e.stdout, "It is not sent yet%s; 'securesend outbox run' sends it.\n", why)
		return 0
	}
	fmt.Fprintln(e.stdout, "Sent.")
	return 0
}
