package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/privtemp"
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

// extractable reports whether the documents of a message with report r
// may be written to an extraction folder, and if not, why.
func extractable(r *receive.Report, unverified bool) (ok bool, why string) {
	switch {
	case withheld(r):
		return false, fmt.Sprintf("nothing extracted: the documents are withheld because the message failed its integrity or signature check (%s)", r.Verdict)
	case r.Verdict == receive.Verified && !r.Impostor:
		return true, ""
	case !unverified:
		return false, fmt.Sprintf("nothing extracted: the message is not verified (%s); to extract its documents anyway, add --extract-unverified", r.Verdict)
	}
	switch r.Verdict {
	case receive.Verified, receive.NotSigned, receive.UnknownSigner, receive.NotAddressed, receive.SenderMismatch:
		return true, ""
	}
	return false, fmt.Sprintf("nothing extracted: documents of a %s message are never extracted", r.Verdict)
}

// withheld reports whether nothing from inside the message may be shown
// or released: it failed its integrity or signature check.
func withheld(r *receive.Report) bool { return r.Withheld || !r.Verdict.Releasable() }

// redactWithheld returns r itself, or, for a withheld report, a copy
// without anything that came from inside the message (note, subject,
// recipients, document list), for printing and JSON.
func redactWithheld(r *receive.Report) *receive.Report {
	if !withheld(r) {
		return r
	}
	c := *r
	c.Withheld = true
	c.Note, c.Subject, c.SubjectSigned = "", "", false
	c.To, c.Cc, c.Date = nil, nil, time.Time{}
	c.Documents = []receive.Document{}
	c.Omitted = nil
	c.Signed = receive.SignedFields{}
	return &c
}

// ownAddresses are the user's own addresses (own keys and mail accounts),
// for the check that a signed message was addressed to this recipient.
func ownAddresses(e *env, ks *pgp.Store) []string {
	h, kc, err := openHome(e)
	if err != nil {
		return homeAddresses(h, nil, ks)
	}
	return homeAddresses(h, kc, ks)
}

// homeAddresses are the user's own addresses in home h: those of the own
// (secret) keys in ks and of the accounts (none when kc is nil), lower
// case, each once.
func homeAddresses(h home.Home, kc *keychain.Keychain, ks *pgp.Store) []string {
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		a = strings.ToLower(strings.TrimSpace(a))
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	if es, err := ks.List(); err == nil {
		for _, ent := range es {
			if ent.Secret {
				for _, m := range ent.Emails {
					add(m)
				}
			}
		}
	}
	if kc != nil {
		if accts, err := account.NewStore(h, kc).List(); err == nil {
			for _, a := range accts {
				add(a.Email)
			}
		}
	}
	return out
}

func runVerify(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), verifyUsage)
		fs.PrintDefaults()
	}
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
	store, err := openKeyStore(e)
	if err != nil {
		return errorf(e, "%v", err)
	}
	if _, err := receivePolicy(e, store); err != nil {
		return errorf(e, "verify: %v", err)
	}
	opts := receive.VerifyOptions{Store: store}
	opts.Recipients = ownAddresses(e, store)
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
	var stage *extractStage
	if *extract != "" {
		if stage, err = newExtractStage(e, *extract); err != nil {
			return errorf(e, "verify: %v", err)
		}
		defer stage.discard()
		opts.Sink = stage.sink
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
	refused := ""
	if stage != nil {
		if ok, why := extractable(rep, *extractUnverified); !ok {
			refused = why
			for i := range rep.Documents {
				rep.Documents[i].Path = "" // staged only, and removed
			}
		} else if err := stage.publish(rep); err != nil {
			return errorf(e, "verify: %v", err)
		}
	}
	shown := redactWithheld(rep)
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

// extractStage holds the documents of a message being verified in this
// process's private temp folder (privtemp: 0700, removed after a crash by
// a later start) and publishes them into the extraction folder only once
// the verdict allows it: each is copied there under a hidden temporary
// name and then given its final name, so a program watching the folder
// never sees an unverified or half-written document under its final
// name.
type extractStage struct {
	dir   string
	tmp   *privtemp.Dir
	files []string // staged paths, in the sink's order
}

func newExtractStage(e *env, dir string) (*extractStage, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	tmp, err := privtemp.New("")
	if tmp == nil {
		return nil, err
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "securesend: warning: %v\n", err)
	}
	return &extractStage{dir: dir, tmp: tmp}, nil
}

// sink is the receive.DocumentSink: it stages the document.
func (s *extractStage) sink(_, _ string, r io.Reader) (string, error) {
	p, err := s.tmp.Write("part", r)
	if err != nil {
		return "", err
	}
	s.files = append(s.files, p)
	return p, nil
}

// publish copies each staged document of rep to its sanitized name in the
// extraction folder, never overwriting ("name (2).ext" when taken), and
// sets the documents' Path. The staged files are matched to the report's
// documents by the Path the sink returned, or else by order.
func (s *extractStage) publish(rep *receive.Report) error {
	staged := map[string]bool{}
	for _, f := range s.files {
		staged[f] = true
	}
	next := 0
	for i := range rep.Documents {
		d := &rep.Documents[i]
		src := d.Path
		if !staged[src] {
			if next >= len(s.files) {
				return fmt.Errorf("extract %s: the document was not staged", termsafe.String(d.Name))
			}
			src = s.files[next]
		}
		next++
		final, err := s.publishOne(src, receive.SanitizeName(d.Name))
		if err != nil {
			return fmt.Errorf("extract %s: %w", termsafe.String(d.Name), err)
		}
		d.Path = final
	}
	return nil
}

// publishOne copies src into a hidden temporary file in the extraction
// folder, flushes it to disk and gives it its final name.
func (s *extractStage) publishOne(src, name string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(s.dir, ".securesend-partial-")
	if err != nil {
		return "", err
	}
	tmp := out.Name()
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	final, err := placeNoClobber(tmp, s.dir, name)
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return final, nil
}

// discard removes the staged documents.
func (s *extractStage) discard() { s.tmp.Close() }

// placeNoClobber gives src the name name in dir, or "name (2).ext" and so
// on when taken, atomically and never replacing an existing file: a hard
// link under the final name then removal of the temporary one, or, where
// the file system has no hard links, a rename after checking the name is
// free.
func placeNoClobber(src, dir, name string) (string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; i < 10000; i++ {
		candidate := name
		if i > 1 {
			candidate = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		dst := filepath.Join(dir, candidate)
		err := os.Link(src, dst)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			if _, lerr := os.Lstat(dst); lerr == nil {
				continue
			}
			if err := os.Rename(src, dst); err != nil {
				return "", err
			}
			return dst, nil
		}
		os.Remove(src)
		return dst, nil
	}
	return "", errors.New("too many files with that name")
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
	held := withheld(r)
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
	if withheld(r) {
		fmt.Fprintln(w, "Documents:   withheld: the message failed its integrity or signature check, so nothing from inside it is shown or extracted.")
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
	for _, d := range r.Documents {
		fmt.Fprintf(w, "  %s  %d bytes  %s  sha256:%s\n", termsafe.String(d.Name), d.Size, termsafe.String(d.ContentType), termsafe.String(d.SHA256))
		if d.Path != "" {
			fmt.Fprintf(w, "    saved to %s\n", termsafe.String(d.Path))
		}
	}
}
