package desk

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"path/filepath"

	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/send"
)

// SampleSend is what SendDemoSample came to.
type SampleSend struct {
	// Result is the delivery's transmission result, nil when the
	// delivery got none.
	Result *send.Result
	// DeliverErr is the delivery's error, nil when the message was sent;
	// nothing was fetched then.
	DeliverErr error
	// Received are the messages in the demo pharmacy's inbox after the
	// fetch, with their verdicts.
	Received []Received
}

// ErrDemoNothingReceived is SendDemoSample's error when the message was
// sent but the demo pharmacy's fetch found nothing.
var ErrDemoNothingReceived = errors.New("demo: the pharmacy received nothing")

// SendDemoSample is 'securesend demo --send-sample': over the running
// demo mail system sys, the demo clinician's Desk (in dir/clinician)
// sends docs to the demo pharmacy (signed and encrypted, through the
// policy gate and the outbox like any send) and delivers the job; the
// demo pharmacy's Desk (in dir/pharmacy) fetches its inbox over IMAP and
// verifies what came. A delivery that failed is SampleSend.DeliverErr
// (with the result, when there is one); any other failure is the error.
func SendDemoSample(ctx context.Context, sys *demomail.System, dir string, docs []string) (*SampleSend, error) {
	clin, ok := sys.Identity(demomail.Clinician)
	if !ok {
		return nil, fmt.Errorf("demo: no demo clinician")
	}
	m := &send.Message{
		From:    mail.Address{Name: clin.Name, Address: clin.Address},
		To:      []mail.Address{{Name: "Demo Pharmacy", Address: demomail.Pharmacy}},
		Subject: "Prescription",
		Note:    "Patient NHI: ZZZ0016\n\nSample documents sent by 'securesend demo --send-sample'.",
	}
	for _, p := range docs {
		m.Documents = append(m.Documents, send.Document{Path: p})
	}
	clinic, err := OpenDemoAs(sys, demomail.Clinician, filepath.Join(dir, "clinician"), DemoOptions{})
	if err != nil {
		return nil, err
	}
	pharmacy, err := OpenDemoAs(sys, demomail.Pharmacy, filepath.Join(dir, "pharmacy"), DemoOptions{})
	if err != nil {
		return nil, err
	}
	ob, err := clinic.Outbox(OutboxOptions{Via: Via{Account: DemoAccount}})
	if err != nil {
		return nil, err
	}
	id, err := ob.Send(ctx, Draft{Message: m, Via: ob.Via()})
	if err != nil {
		return nil, err
	}
	out := &SampleSend{}
	rec, err := ob.Deliver(ctx, id, nil)
	if rec != nil {
		out.Result = rec.Result
	}
	if err != nil {
		out.DeliverErr = err
		return out, nil
	}
	if _, err := pharmacy.Fetch(ctx, FetchOptions{Account: DemoAccountName(demomail.Pharmacy)}); err != nil {
		return out, fmt.Errorf("demo: %w", err)
	}
	if out.Received, err = pharmacy.ReceivedAll(); err != nil {
		return out, fmt.Errorf("demo: %w", err)
	}
	if len(out.Received) == 0 {
		return out, ErrDemoNothingReceived
	}
	return out, nil
}
