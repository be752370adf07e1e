package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/receive"
)

const verifyUsage = `Usage: securesend verify [--extract DIR] [--json] MESSAGE.eml

Checks a received message: decrypts it (with your key) if it is encrypted,
checks its signature against your key store, and prints one verdict:
verified, unknown-signer, not-signed, bad-signature, cannot-decrypt or
sender-mismatch, with the documents' names, sizes and SHA-256.

Exit status: 0 only when the message is verified; 1 for every other
verdict or error; 2 for usage errors.

Flags:
`

func verifyCommand() command {
	return command{
		name:    "verify",
		summary: "verify a received message and list (or extract) its documents",
		run:     runVerify,
	}
}

// verdictTitles are the banner words for each verdict.
var verdictTitles = map[receive.Verdict]string{
	receive.Verified:       "VERIFIED",
	receive.UnknownSigner:  "NOT VERIFIED - signed by an unknown key",
	receive.NotSigned:      "NOT VERIFIED - not signed",
	receive.BadSignature:   "NOT VERIFIED - BAD SIGNATURE",
	receive.CannotDecrypt:  "NOT VERIFIED - cannot decrypt",
	receive.SenderMismatch: "NOT VERIFIED - sender mismatch",
}

func runVerify(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), verifyUsage)
		fs.PrintDefaults()
	}
	extract := fs.String("extract", "", "write the documents into `DIR` (created if needed; existing files are never overwritten)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	saveKey := fs.String("save-key", "", "when signed by a key you do not have but the message carries, write that public key to `FILE` (to import with 'keys import --pin --email ADDRESS FILE' after comparing its fingerprint)")
	pos, code := parseFlags(e, fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(e.stderr, "securesend verify: need exactly one MESSAGE file ('-' for standard input)")
		return 2
	}
	store, err := openKeyStore(e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	if _, err := receivePolicy(e, store); err != nil {
		return errorf(e, "verify: %v", err)
	}
	opts := receive.VerifyOptions{Store: store}
	if es, err := store.List(); err == nil {
		for _, ent := range es {
			if !ent.Secret {
				continue
			}
			k, err := store.SecretKey(ent.Fingerprint)
			if err != nil {
				fmt.Fprintf(e.stderr, "securesend: warning: your key %s cannot be unlocked, so encrypted messages cannot be read: %v\n", ent.Fingerprint.Grouped(), err)
				continue
			}
			opts.Secret = append(opts.Secret, k)
		}
	} else if !errors.Is(err, pgp.ErrNoSecretKey) {
		return errorf(e, "%v", err)
	}
	if *extract != "" {
		if err := os.MkdirAll(*extract, 0o700); err != nil {
			return errorf(e, "verify: %v", err)
		}
		opts.Sink = receive.DirSink(*extract)
	}
	in := e.stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return errorf(e, "verify: %v", err)
		}
		defer f.Close()
		in = f
	}
	rep, err := receive.Verify(ctx, in, opts)
	if err != nil {
		return errorf(e, "verify: %v", err)
	}
	if *saveKey != "" && rep.SignerKey != "" {
		f, err := os.OpenFile(*saveKey, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = f.WriteString(rep.SignerKey)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return errorf(e, "verify: --save-key: %v", err)
		}
	}
	if err := auditRecord(e, audit.ReceiveVerified, audit.Fields{
		"from": rep.From, "message_id": rep.MessageID, "verdict": string(rep.Verdict), "fingerprint": rep.SignerFingerprint,
	}); err != nil {
		fmt.Fprintf(e.stderr, "securesend: warning: the audit log could not record the verification: %v\n", err)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return errorf(e, "verify: %v", err)
		}
	} else {
		printReport(e, rep)
	}
	if rep.Verdict != receive.Verified {
		return 1
	}
	return 0
}

func printReport(e *env, r *receive.Report) {
	w := e.stdout
	bar := strings.Repeat("=", 72)
	fmt.Fprintln(w, bar)
	fmt.Fprintf(w, "%s (%s)\n", verdictTitles[r.Verdict], r.Verdict)
	fmt.Fprintln(w, r.Reason)
	fmt.Fprintln(w, bar)
	fmt.Fprintf(w, "From:        %s\n", r.From)
	fmt.Fprintf(w, "Subject:     %s\n", r.Subject)
	if !r.Date.IsZero() {
		fmt.Fprintf(w, "Date:        %s\n", r.Date.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	}
	if r.MessageID != "" {
		fmt.Fprintf(w, "Message-ID:  %s\n", r.MessageID)
	}
	fmt.Fprintf(w, "Encrypted:   %v\n", yesNo(r.Encrypted))
	if r.SignerFingerprint != "" {
		fmt.Fprintf(w, "Signer key:  %s\n", pgp.Fingerprint(r.SignerFingerprint).Grouped())
	}
	if r.SignerUserID != "" {
		fmt.Fprintf(w, "Signer:      %s\n", r.SignerUserID)
	}
	if r.SignerKey != "" {
		fmt.Fprintln(w, "The message carries the signer's key: save it with --save-key FILE and,")
		fmt.Fprintln(w, "after comparing the fingerprint with the sender, run 'securesend keys import --pin --email ADDRESS FILE'.")
	}
	if r.Note != "" {
		fmt.Fprintln(w, "Note:")
		for _, line := range strings.Split(r.Note, "\n") {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	for _, o := range r.Omitted {
		fmt.Fprintf(w, "Not shown:   %s\n", o)
	}
	fmt.Fprintf(w, "Documents:   %d\n", len(r.Documents))
	for _, d := range r.Documents {
		fmt.Fprintf(w, "  %s  %d bytes  %s  sha256:%s\n", d.Name, d.Size, d.ContentType, d.SHA256)
		if d.Path != "" {
			fmt.Fprintf(w, "    saved to %s\n", d.Path)
		}
	}
}
