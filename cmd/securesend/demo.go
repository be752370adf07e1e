package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/securesend/securesend/assets"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

func demoCommand() command {
	return command{
		name:    "demo",
		summary: "run the loopback demo mail system (nothing leaves this computer)",
		run:     runDemo,
	}
}

func runDemo(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	sendSample := fs.Bool("send-sample", false, "send the sample documents from the clinician to the pharmacy, show the confirmation and the verdict on receipt, then stop")
	usage := func(w io.Writer) {
		fmt.Fprintln(w, "Usage: securesend demo [--send-sample]")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Starts a mail system on 127.0.0.1 with a demo clinician and a demo pharmacy")
		fmt.Fprintln(w, "(SMTP submission with TLS, IMAP with TLS, a certificate authority made for this")
		fmt.Fprintln(w, "run, one-time passwords) and serves until Ctrl-C. Nothing is relayed anywhere.")
		fmt.Fprintln(w)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			usage(e.stdout)
			return 0
		}
		usage(e.stderr)
		return 2
	}
	if fs.NArg() > 0 {
		usage(e.stderr)
		return 2
	}
	sys, err := demomail.Start(ctx)
	if err != nil {
		return errorf(e, "demo: %v", err)
	}
	defer sys.Close()
	tmp, err := os.MkdirTemp("", "securesend-demo-")
	if err != nil {
		return errorf(e, "demo: %v", err)
	}
	defer os.RemoveAll(tmp)
	caFile := filepath.Join(tmp, "demo-ca.pem")
	if err := os.WriteFile(caFile, sys.CAPEM, 0o600); err != nil {
		return errorf(e, "demo: %v", err)
	}

	if *sendSample {
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
	return 0
}

// demoSendSample sends the samples signed and encrypted from the demo
// clinician to the demo pharmacy (desk.SendDemoSample), prints the
// transmission confirmation, then the verdict of what the pharmacy
// fetched.
func demoSendSample(ctx context.Context, e *env, sys *demomail.System, tmp string) int {
	samples, err := assets.WriteSamples(filepath.Join(tmp, "samples"))
	if err != nil {
		return errorf(e, "demo: %v", err)
	}
	got, err := desk.SendDemoSample(ctx, sys, tmp, samples)
	if got != nil && got.Result != nil {
		printSummary(e.stdout, got.Result, got.DeliverErr)
	}
	if err != nil {
		return errorf(e, "demo: %s", strings.TrimPrefix(plainError(err), "demo: "))
	}
	if got.DeliverErr != nil {
		return errorf(e, "%s", termsafe.String(plainError(got.DeliverErr)))
	}
	for _, r := range got.Received {
		printLines(e.stdout, desk.ReceivedLines(demomail.Pharmacy, r))
		if r.Report.Verdict != receive.Verified {
			return 1
		}
	}
	return 0
}
