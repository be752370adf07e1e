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

	w := e.stdout
	fmt.Fprintln(w, "securesend demo mail system (loopback only; stops with Ctrl-C)")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  SMTP, implicit TLS:  %s\n", sys.SMTPAddr)
	fmt.Fprintf(w, "  SMTP, STARTTLS:      %s\n", sys.StartTLSAddr)
	fmt.Fprintf(w, "  IMAP, implicit TLS:  %s\n", sys.IMAPAddr)
	fmt.Fprintf(w, "  CA certificate:      %s\n", caFile)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Accounts (user name = address; the passwords are for this run only):")
	for _, a := range sys.Accounts {
		fmt.Fprintf(w, "  %-22s %s\n", a.Address, a.Password)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Try it, for example:")
	cl := sys.Accounts[0]
	fmt.Fprintf(w, "  securesend send --server %s --ca-file %s --user %s --password-stdin \\\n", sys.SMTPAddr, caFile, cl.Address)
	fmt.Fprintf(w, "      --from %s --to %s FILE.pdf\n", cl.Address, demomail.Pharmacy)
	fmt.Fprintln(w, "then type the clinician's password and press Enter.")
	fmt.Fprintln(w, "(see 'securesend send --help' for the exact flags)")
	<-ctx.Done()
	fmt.Fprintln(w, "demo mail system stopped")
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
