package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"

	"github.com/securesend/securesend/assets"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/demomail"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
	"github.com/securesend/securesend/send"
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
// clinician to the demo pharmacy, prints the transmission confirmation,
// then fetches the pharmacy's inbox over IMAP and prints the verdict.
func demoSendSample(ctx context.Context, e *env, sys *demomail.System, tmp string) int {
	samples, err := assets.WriteSamples(filepath.Join(tmp, "samples"))
	if err != nil {
		return errorf(e, "demo: %v", err)
	}
	clin, _ := sys.Identity(demomail.Clinician)
	m := &send.Message{
		From:    mail.Address{Name: clin.Name, Address: clin.Address},
		To:      []mail.Address{{Name: "Demo Pharmacy", Address: demomail.Pharmacy}},
		Subject: "Prescription",
		Note:    "Patient NHI: ZZZ0016\n\nSample documents sent by 'securesend demo --send-sample'.",
	}
	for _, p := range samples {
		m.Documents = append(m.Documents, send.Document{Path: p})
	}
	// The demo clinician's desk sends, the demo pharmacy's receives: the
	// same journeys as a real account's.
	clinic, err := desk.OpenDemoAs(sys, demomail.Clinician, filepath.Join(tmp, "clinician"), desk.DemoOptions{})
	if err != nil {
		return errorf(e, "demo: %v", err)
	}
	pharmacy, err := desk.OpenDemoAs(sys, demomail.Pharmacy, filepath.Join(tmp, "pharmacy"), desk.DemoOptions{})
	if err != nil {
		return errorf(e, "demo: %v", err)
	}
	ob, err := clinic.Outbox(desk.OutboxOptions{Via: desk.Via{Account: desk.DemoAccount}})
	if err != nil {
		return errorf(e, "demo: %v", err)
	}
	id, err := ob.Send(ctx, desk.Draft{Message: m, Via: ob.Via()})
	if err != nil {
		return errorf(e, "demo: %s", plainError(err))
	}
	rec, err := ob.Deliver(ctx, id, nil)
	if rec != nil && rec.Result != nil {
		printSummary(e.stdout, rec.Result, err)
	}
	if err != nil {
		return errorf(e, "%s", plainError(err))
	}
	if _, err := pharmacy.Fetch(ctx, desk.FetchOptions{Account: desk.DemoAccountName(demomail.Pharmacy)}); err != nil {
		return errorf(e, "demo: %v", err)
	}
	got, err := pharmacy.ReceivedAll()
	if err != nil {
		return errorf(e, "demo: %v", err)
	}
	for _, r := range got {
		rep := r.Report
		fmt.Fprintf(e.stdout, "\nReceived by %s: %s — %s\n", demomail.Pharmacy, rep.Verdict, termsafe.String(rep.Reason))
		for _, d := range rep.Documents {
			fmt.Fprintf(e.stdout, "  %s  %s\n", d.SHA256, termsafe.String(d.Name))
		}
		if rep.Verdict != receive.Verified {
			return 1
		}
	}
	if len(got) == 0 {
		return errorf(e, "demo: the pharmacy received nothing")
	}
	return 0
}
