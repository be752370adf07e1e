package desk

import (
	"fmt"

	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

// FetchLines are what 'inbox fetch' prints of a fetch: a line for each
// new item, the counts, a renumbered mailbox, the messages that could
// not be received and the acknowledgements it queued.
func FetchLines(res *Fetched) []string {
	var out []string
	for i := range res.New {
		out = append(out, itemLine(&res.New[i]))
	}
	out = append(out, fmt.Sprintf("%d new, %d already stored (%s over %s).", len(res.New), res.Known, termsafe.String(res.Account.IMAP.Address), res.TLSVersion))
	if res.UIDValidityChanged {
		out = append(out, fmt.Sprintf("Warning: the server renumbered the mailbox (UIDVALIDITY %d, was %d); the mail that arrived since the day before the last fetch was checked again. If this happens at every fetch, tell the mail provider.", res.UIDValidity, res.PreviousUIDValidity))
	}
	out = append(out, FailureLines(res.Failed)...)
	if n := len(res.Acknowledgements); n > 0 {
		out = append(out, fmt.Sprintf("%d signed acknowledgement(s) of received and verified messages queued to their senders.", n))
	}
	return out
}

// FailureLines list the messages that could not be fetched, verified or
// stored (none for none). Error texts can hold what a server sent:
// FailureLine makes them safe for the terminal.
func FailureLines(failures []receive.Failure) []string {
	if len(failures) == 0 {
		return nil
	}
	out := []string{fmt.Sprintf("%d message(s) could not be received:", len(failures))}
	for _, f := range failures {
		out = append(out, "  "+FailureLine(f))
	}
	return out
}

// ReceivedLines are what 'demo --send-sample' prints of a message the
// demo pharmacy (to) received: its verdict and reason, then each
// document the report shows, with its SHA-256.
func ReceivedLines(to string, r Received) []string {
	rep := r.Report
	out := []string{"", fmt.Sprintf("Received by %s: %s — %s", to, rep.Verdict, termsafe.String(rep.Reason))}
	for _, d := range rep.Documents {
		out = append(out, fmt.Sprintf("  %s  %s", d.SHA256, termsafe.String(d.Name)))
	}
	return out
}
