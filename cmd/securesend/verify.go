package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

const verifyUsage = `Usage: securesend verify [--extract DIR [--extract-unverified]] [--json] MESSAGE.eml

Checks a received message: decrypts it (with your key) if it is encrypted,
checks its signature against your key store, and prints one verdict:
verified, unknown-signer, not-signed, not-addressed-to-you, bad-signature,
cannot-decrypt or sender-mismatch, with the documents' names, sizes and
SHA-256. Header fields that the signature does not cover are labelled
"(not protected by the signature)".

--extract DIR writes the documents of a verified message into DIR. They
appear there under their final names only once the verdict is known.
Documents of a message that is not verified are extracted only with
--extract-unverified, and never those of a message that failed its
integrity or signature check (cannot-decrypt, bad-signature).

Exit status: 0 only when the message is verified (and, with --extract,
its documents were written); 1 for every other verdict, a refused
extraction or an error; 2 for usage errors.

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
	receive.NotAddressed:   "NOT VERIFIED - not addressed to you",
	receive.BadSignature:   "NOT VERIFIED - BAD SIGNATURE",
	receive.CannotDecrypt:  "NOT VERIFIED - cannot decrypt",
	receive.SenderMismatch: "NOT VERIFIED - sender mismatch",
}

func runVerify(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "verify")
	fs.Usage = usageOf(fs, verifyUsage)
	extract := fs.String("extract", "", "write the documents of a verified message into `DIR` (created if needed; existing files are never overwritten)")
	extractUnverified := fs.Bool("extract-unverified", false, "with --extract, also extract documents of a message that is not verified (never of one that failed its integrity or signature check)")
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
	if *extractUnverified && *extract == "" {
		fmt.Fprintln(e.stderr, "securesend verify: --extract-unverified needs --extract DIR")
		return 2
	}
	d, err := openDesk(e)
	if err != nil {
		return errorf(e, "%v", err)
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
	v, err := d.Verify(ctx, in, desk.VerifyOptions{Extract: *extract, ExtractUnverified: *extractUnverified})
	if err != nil {
		return errorf(e, "verify: %v", err)
	}
	rep := v.Report
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
	refused := v.Refused
	shown := v.Shown()
	if *asJSON {
		if err := writeJSON(e.stdout, shown); err != nil {
			return errorf(e, "verify: %v", err)
		}
	} else {
		printReport(e, shown)
	}
	if refused != "" {
		fmt.Fprintf(e.stderr, "securesend verify: %s\n", refused)
		return 1
	}
	if rep.Verdict != receive.Verified {
		return 1
	}
	return 0
}

// printJSON writes v to stdout as writeJSON does; it returns 0, or 1 with
// the error printed.
func printJSON(e *env, v any) int {
	if err := writeJSON(e.stdout, v); err != nil {
		return errorf(e, "%v", err)
	}
	return 0
}

// writeJSON writes v as indented JSON with the characters that could
// reorder or hide text on a terminal escaped (termsafe.JSON).
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(termsafe.JSON(buf.Bytes()))
	return err
}

// unprotected labels a header field the signature does not cover.
const unprotected = "(not protected by the signature)"

// printField prints one header field, made safe, labelled when the
// signature does not cover it.
func printField(w io.Writer, label, value string, signed bool) {
	line := fmt.Sprintf("%-12s %s", label+":", termsafe.String(value))
	if !signed {
		line += "  " + unprotected
	}
	fmt.Fprintln(w, line)
}

// printHeaders prints the message's header fields beside the verdict:
// each one labelled unless the signature covers it, the outer values
// the signature does not cover, and the impostor warning and remarks.
// For a withheld report only the sender and Message-ID, both labelled,
// and the outer fields are printed.
func printHeaders(w io.Writer, r *receive.Report, messageID string) {
	if r.Impostor {
		fmt.Fprintln(w, "IMPOSTOR WARNING: the signing key claims an address that belongs to a different pinned key. Do not act on this message.")
	}
	held := desk.Withheld(r)
	printField(w, "From", r.From, r.Signed.From && !held)
	if !held {
		if len(r.To) > 0 {
			printField(w, "To", strings.Join(r.To, ", "), r.Signed.To)
		}
		if len(r.Cc) > 0 {
			printField(w, "Cc", strings.Join(r.Cc, ", "), r.Signed.Cc)
		}
		printField(w, "Subject", r.Subject, r.Signed.Subject)
		if !r.Date.IsZero() {
			printField(w, "Date", r.Date.Format("Mon, 02 Jan 2006 15:04:05 -0700"), r.Signed.Date)
		}
	}
	if messageID != "" {
		printField(w, "Message-ID", messageID, r.Signed.MessageID && !held)
	}
	for _, f := range desk.ManifestFields(r) { // signed, and made safe
		fmt.Fprintf(w, "%-12s %s\n", f.Label+":", f.Value)
	}
	if len(r.Unprotected) > 0 {
		fmt.Fprintln(w, "Outside the signature (not protected, may have been changed by anyone):")
		for _, f := range r.Unprotected {
			fmt.Fprintf(w, "  %s: %s\n", termsafe.String(f.Name), termsafe.String(f.Value))
		}
	}
	for _, m := range r.Remarks {
		fmt.Fprintf(w, "Remark:      %s\n", termsafe.String(m))
	}
}

func printReport(e *env, r *receive.Report) {
	w := e.stdout
	bar := strings.Repeat("=", 72)
	fmt.Fprintln(w, bar)
	title, ok := verdictTitles[r.Verdict]
	if !ok {
		title = "NOT VERIFIED"
	}
	fmt.Fprintf(w, "%s (%s)\n", title, termsafe.String(string(r.Verdict)))
	fmt.Fprintln(w, termsafe.String(r.Reason))
	fmt.Fprintln(w, bar)
	printHeaders(w, r, r.MessageID)
	fmt.Fprintf(w, "%-12s %s\n", "Encrypted:", yesNo(r.Encrypted))
	if r.SignerFingerprint != "" {
		fmt.Fprintf(w, "%-12s %s\n", "Signer key:", pgp.Fingerprint(termsafe.String(r.SignerFingerprint)).Grouped())
	}
	if r.SignerUserID != "" {
		fmt.Fprintf(w, "%-12s %s\n", "Signer:", termsafe.String(r.SignerUserID))
	}
	if r.SignerKey != "" {
		fmt.Fprintln(w, "The message carries the signer's key: save it with --save-key FILE and,")
		fmt.Fprintln(w, "after comparing the fingerprint with the sender, run")
		fmt.Fprintln(w, "'securesend keys import --pin --email ADDRESS FILE' for the address you confirmed.")
	}
	printContent(w, r, "extracted")
}

// printContent prints what a report shows of the inside of the message:
// its note, what was left out and its documents (and where they were
// saved), or for a withheld report that nothing is shown or, with verb,
// opened or extracted.
func printContent(w io.Writer, r *receive.Report, verb string) {
	if desk.Withheld(r) {
		fmt.Fprintf(w, "Documents:   withheld: the message failed its integrity or signature check, so nothing from inside it is shown or %s.\n", verb)
		return
	}
	if r.Note != "" {
		fmt.Fprintln(w, "Note:")
		for _, line := range termsafe.Lines(r.Note) {
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
	for _, o := range r.Omitted {
		fmt.Fprintf(w, "Not shown:   %s\n", termsafe.String(o))
	}
	fmt.Fprintf(w, "Documents:   %d\n", len(r.Documents))
	for i, d := range r.Documents { // numbered as 'inbox open --doc N' counts
		fmt.Fprintf(w, "  %d. %s  %d bytes  %s  sha256:%s\n", i+1, termsafe.String(d.Name), d.Size, termsafe.String(d.ContentType), termsafe.String(d.SHA256))
		if d.Path != "" {
			fmt.Fprintf(w, "     saved to %s\n", termsafe.String(d.Path))
		}
	}
}
