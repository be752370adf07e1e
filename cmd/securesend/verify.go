package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/securesend/securesend/desk"
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
`

func verifyCommand() command {
	return command{name: "verify", summary: "verify a received message and list (or extract) its documents", usage: verifyUsage,
		args: oneArg("need exactly one MESSAGE file ('-' for standard input)"), flags: verifyDefine}
}

func verifyDefine(fs *flag.FlagSet) runFunc {
	extract := fs.String("extract", "", "write the documents of a verified message into `DIR` (created if needed; existing files are never overwritten)")
	extractUnverified := fs.Bool("extract-unverified", false, "with --extract, also extract documents of a message that is not verified (never of one that failed its integrity or signature check)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	saveKey := fs.String("save-key", "", "when signed by a key you do not have but the message carries, write that public key to `FILE` (to import with 'keys import --pin --email ADDRESS FILE' after comparing its fingerprint)")
	return func(ctx context.Context, c *call) error {
		if *extractUnverified && *extract == "" {
			return usagef("--extract-unverified needs --extract DIR")
		}
		in, err := openInput(c.env, c.arg())
		if err != nil {
			return err
		}
		defer in.Close()
		v, err := c.desk.Verify(ctx, in, desk.VerifyOptions{Extract: *extract, ExtractUnverified: *extractUnverified})
		if err != nil {
			return err
		}
		if *saveKey != "" {
			if _, err := v.SaveSignerKey(*saveKey); err != nil {
				return fmt.Errorf("--save-key: %w", err)
			}
		}
		shown := v.Shown()
		if *asJSON {
			if err := writeJSON(c.stdout, shown); err != nil {
				return err
			}
		} else {
			printLines(c.stdout, desk.VerifyLines(shown))
		}
		if v.Refused != "" {
			fmt.Fprintf(c.stderr, "securesend verify: %s\n", v.Refused)
			return exitCode(1)
		}
		if v.Report.Verdict != receive.Verified {
			return exitCode(1)
		}
		return nil
	}
}
