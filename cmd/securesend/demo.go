package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/securesend/securesend/assets"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/receive"
)

func demoCommand() command {
	return command{name: "demo", summary: "run the loopback demo mail system (nothing leaves this computer)", usage: demoUsage, noDesk: true, flags: demoDefine}
}

const demoUsage = `Usage: securesend demo [--send-sample]

Starts a mail system on 127.0.0.1 with a demo clinician and a demo pharmacy
(SMTP submission with TLS, IMAP with TLS, a certificate authority made for this
run, one-time passwords) and serves until Ctrl-C. Nothing is relayed anywhere.
`

func demoDefine(fs *flag.FlagSet) runFunc {
	sendSample := fs.Bool("send-sample", false, "send the sample documents from the clinician to the pharmacy, show the confirmation and the verdict on receipt, then stop")
	return func(ctx context.Context, c *call) error { return runDemo(ctx, c.env, *sendSample) }
}

func runDemo(ctx context.Context, e *env, sendSample bool) error {
	sys, err := demomail.Start(ctx)
	if err != nil {
		return err
	}
	defer sys.Close()
	tmp, err := os.MkdirTemp("", "securesend-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	caFile := filepath.Join(tmp, "demo-ca.pem")
	if err := os.WriteFile(caFile, sys.CAPEM, 0o600); err != nil {
		return err
	}

	if sendSample {
		return demoSendSample(ctx, e, sys, tmp)
	}

	printLines(e.stdout, desk.DemoSystemLines(sys, caFile))
	<-ctx.Done()
	fmt.Fprintln(e.stdout, "demo mail system stopped")
	return nil
}

// demoSendSample sends the samples signed and encrypted from the demo
// clinician to the demo pharmacy (desk.SendDemoSample), prints the
// transmission confirmation, then the verdict of what the pharmacy
// fetched.
func demoSendSample(ctx context.Context, e *env, sys *demomail.System, tmp string) error {
	samples, err := assets.WriteSamples(filepath.Join(tmp, "samples"))
	if err != nil {
		return err
	}
	got, err := desk.SendDemoSample(ctx, sys, tmp, samples)
	if got != nil && got.Result != nil {
		printLines(e.stdout, desk.TransmissionLines(got.Result, got.DeliverErr))
	}
	if err != nil {
		return errors.New(desk.PlainError(err))
	}
	if got.DeliverErr != nil {
		return bare(errors.New(desk.PlainError(got.DeliverErr)))
	}
	for _, r := range got.Received {
		printLines(e.stdout, desk.ReceivedLines(demomail.Pharmacy, r))
		if r.Report.Verdict != receive.Verified {
			return exitCode(1)
		}
	}
	return nil
}
