package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/send/outbox"
)

func cancelCommand() command {
	return command{name: "cancel", summary: "cancel a message you sent: the pharmacy sees it marked cancelled", usage: cancelUsage,
		args: argRule{max: -1}, flags: cancelDefine}
}

const cancelUsage = `Usage: securesend cancel MESSAGE-ID --reason TEXT [flags]

Sends a signed (and, as the policy requires and always when the original
was, encrypted) cancellation of a message you sent from this securesend
to all of its recipients, through the account it went out with. The
recipient's securesend marks the original "Cancelled by the sender", with
the reason, whichever of the two arrives first; it accepts the
cancellation only when it is signed by the key that signed the original.
To correct a message instead, send the new one with
'securesend send --replaces MESSAGE-ID ...'.

The Message-ID is in 'securesend outbox list --json' (message_id).
`

func cancelDefine(fs *flag.FlagSet) runFunc {
	reason := fs.String("reason", "", "why the message is cancelled (required); the pharmacist sees it in red")
	acct := fs.String("account", "", "send with the stored account `name` when the original was sent with --server")
	queueOnly := fs.Bool("queue-only", false, "only write the cancellation to the outbox; 'securesend outbox run' delivers it")
	return func(ctx context.Context, c *call) error {
		if len(c.args) != 1 {
			return errors.New("give the Message-ID of one message you sent (see 'securesend outbox list --json')")
		}
		ob, err := c.desk.Outbox(desk.OutboxOptions{Via: desk.Via{Account: *acct}})
		if err != nil {
			return err
		}
		job, err := ob.SendCancellation(ctx, c.arg(), *reason)
		if printPolicyRefusal(c.stderr, err) {
			return exitCode(1)
		}
		if err != nil {
			return errors.New(desk.PlainError(err))
		}
		orig := strings.Trim(strings.TrimSpace(c.arg()), "<>")
		if *queueOnly {
			fmt.Fprintf(c.stdout, "The cancellation of %s is queued as job %s; 'securesend outbox run' delivers it.\n", orig, job)
			return nil
		}
		rec, err := ob.Deliver(ctx, job, nil)
		if err != nil || rec == nil || rec.State != outbox.Sent {
			if rec != nil {
				outboxExplain(c.stderr, rec)
			}
			if err == nil {
				err = fmt.Errorf("the job is %s", rec.State)
			}
			return fmt.Errorf("the cancellation of %s (job %s) was not sent: %s", orig, job, desk.PlainError(err))
		}
		fmt.Fprintf(c.stdout, "Cancellation of %s sent as %s (job %s). Phone the pharmacy if the prescription may already be dispensed.\n", orig, rec.MessageID, job)
		return nil
	}
}
