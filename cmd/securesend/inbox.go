package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/securesend/securesend/account"
	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/crypto/keychain"
	"github.com/securesend/securesend/crypto/pgp"
	"github.com/securesend/securesend/internal/doccheck"
	"github.com/securesend/securesend/internal/home"
	"github.com/securesend/securesend/internal/privtemp"
	"github.com/securesend/securesend/internal/termsafe"
	"github.com/securesend/securesend/receive"
)

func inboxCommand() command {
	return command{
		name:    "inbox",
		summary: "fetch, list, show and open received documents with their verdicts",
		run:     runInbox,
	}
}

const inboxUsage = `Usage: securesend inbox SUBCOMMAND [flags]

Subcommands:
  fetch [--account NAME]          download new mail over enforced TLS and verify it
                                  (server mail is never deleted or marked read)
  list                            list received items with verdicts and duplicate warnings
  show ID                         show an item: verdict banner, sender, documents, warnings
  open ID [--doc N] [--out DIR]   decrypt a document and open it in the system viewer,
                                  or write it to DIR
  archive ID [--to MAILBOX]       move the server copy to MAILBOX (default Archive);
                                  the only command that changes server mail

Received messages and documents are stored encrypted; the key is in the OS keychain.
`

func runInbox(ctx context.Context, e *env, args []string) int {
	return subcommands(e, "inbox", inboxUsage, args, map[string]func([]string) int{
		"fetch":   func(a []string) int { return inboxFetch(ctx, e, a) },
		"list":    func(a []string) int { return inboxList(e, a) },
		"show":    func(a []string) int { return inboxShow(e, a) },
		"open":    func(a []string) int { return inboxOpen(ctx, e, a) },
		"archive": func(a []string) int { return inboxArchive(ctx, e, a) },
	})
}

// openInbox opens the inbox store of the home with its at-rest key from
// the keychain.
func openInbox(e *env) (*receive.Store, home.Home, *keychain.Keychain, error) {
	h, kc, err := openHome(e)
	if err != nil {
		return nil, h, nil, err
	}
	key, err := kc.Key("inbox")
	if err != nil {
		return nil, h, nil, err
	}
	st, err := receive.OpenStore(h.Path("inbox"), key, nil)
	if err != nil {
		return nil, h, nil, err
	}
	return st, h, kc, nil
}

// inboxVerifier is receive.Verify with the home's key store ("keys") and
// the user's own secret key, when there is one, for decryption.
func inboxVerifier(h home.Home, kc *keychain.Keychain) (receive.VerifyFunc, error) {
	dir, err := h.Sub("keys")
	if err != nil {
		return nil, err
	}
	ks, err := pgp.OpenStore(dir, kc, nil)
	if err != nil {
		return nil, err
	}
	var secret []*pgp.Key
	k, err := ks.SecretKey("")
	switch {
	case err == nil:
		secret = []*pgp.Key{k}
	case errors.Is(err, pgp.ErrNoSecretKey):
		// No own key yet: encrypted mail will be "cannot decrypt".
	default:
		return nil, err
	}
	return func(ctx context.Context, raw io.Reader, sink receive.DocumentSink) (*receive.Report, error) {
		return receive.Verify(ctx, raw, receive.VerifyOptions{Store: ks, Secret: secret, Sink: sink})
	}, nil
}

// pickAccount returns the named account, or the only account with an IMAP
// server when name is empty.
func pickAccount(s *account.Store, name string) (*account.Account, error) {
	if name != "" {
		return s.Get(name)
	}
	accts, err := s.List()
	if err != nil {
		return nil, err
	}
	var withIMAP []account.Account
	for _, a := range accts {
		if a.IMAP.Address != "" {
			withIMAP = append(withIMAP, a)
		}
	}
	switch len(withIMAP) {
	case 0:
		return nil, errors.New("no account with an IMAP server; add one with 'securesend account add --imap HOST:PORT'")
	case 1:
		return &withIMAP[0], nil
	}
	return nil, errors.New("several accounts have an IMAP server; choose one with --account NAME")
}

func inboxFetch(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("inbox fetch", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	name := fs.String("account", "", "account to fetch (default: the only account with an IMAP server)")
	mailbox := fs.String("mailbox", "INBOX", "IMAP mailbox")
	asJSON := fs.Bool("json", false, "print the new items as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	accts, err := accountStore(e)
	if err != nil {
		return errorf(e, "inbox fetch: %v", err)
	}
	a, err := pickAccount(accts, *name)
	if err != nil {
		return errorf(e, "inbox fetch: %v", err)
	}
	st, h, kc, err := openInbox(e)
	if err != nil {
		return errorf(e, "inbox fetch: %v", err)
	}
	ks, err := openKeyStore(e)
	if err != nil {
		return errorf(e, "inbox fetch: %v", err)
	}
	pol, err := receivePolicy(e, ks) // pins the directory's keys
	if err != nil {
		return errorf(e, "inbox fetch: %v", err)
	}
	verify, err := inboxVerifier(h, kc)
	if err != nil {
		return errorf(e, "inbox fetch: %v", err)
	}
	iopts, err := imapOptions(pol, a)
	if err != nil {
		return errorf(e, "inbox fetch: %v", err)
	}
	conn, err := a.DialIMAP(ctx, accts.Secrets(), iopts)
	if err != nil {
		return errorf(e, "inbox fetch: %s: %v", a.Name, err)
	}
	defer conn.Close()
	in := &receive.Inbox{Store: st, Verify: verify}
	res, err := in.Fetch(ctx, conn.Client, receive.FetchOptions{Account: a.Name, Mailbox: *mailbox})
	if res != nil {
		auditReceived(e, a.Name, res.New)
	}
	if res != nil && *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res) //nolint:errcheck // stdout
	} else if res != nil {
		for _, it := range res.New {
			printItemLine(e.stdout, &it)
		}
		fmt.Fprintf(e.stdout, "%d new, %d already stored (%s over %s).\n", len(res.New), res.Known, a.IMAP.Address, conn.TLS.Version)
		if res.UIDValidityChanged {
			fmt.Fprintln(e.stdout, "The server renumbered the mailbox (UIDVALIDITY changed); it was checked again from the start.")
		}
	}
	if err != nil {
		return errorf(e, "inbox fetch: %v", err)
	}
	return 0
}

// auditReceived appends a receive.verified event per new item: sender,
// Message-ID, document hashes, verdict and signer; no content.
func auditReceived(e *env, acct string, items []receive.Item) {
	if len(items) == 0 {
		return
	}
	l, err := openAudit(e)
	for i := 0; err == nil && i < len(items); i++ {
		it := &items[i]
		var hashes []string
		for _, d := range it.Documents {
			hashes = append(hashes, d.SHA256)
		}
		f := audit.Fields{
			"account": acct, "from": it.From, "message_id": it.MessageID,
			"sha256": strings.Join(hashes, " "), "verdict": string(it.Verdict),
			"fingerprint": it.SignerFingerprint,
		}
		if d := duplicateNote(it); d != "" {
			f["state"] = d
		}
		_, err = l.Append(audit.Event{Kind: audit.ReceiveVerified, Time: it.Received, Fields: f})
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "securesend: warning: the audit log could not record the received mail: %v\n", err)
	}
}

// verdictLabel is the short label of a verdict for lists.
func verdictLabel(v receive.Verdict) string {
	switch v {
	case receive.Verified:
		return "VERIFIED"
	case receive.UnknownSigner:
		return "UNKNOWN SIGNER"
	case receive.NotSigned:
		return "NOT SIGNED"
	case receive.BadSignature:
		return "BAD SIGNATURE"
	case receive.CannotDecrypt:
		return "CANNOT DECRYPT"
	case receive.SenderMismatch:
		return "SENDER MISMATCH"
	case receive.NotAddressed:
		return "NOT ADDRESSED TO YOU"
	}
	return termsafe.String(strings.ToUpper(string(v)))
}

func duplicateNote(it *receive.Item) string {
	if len(it.Duplicates) == 0 {
		return ""
	}
	var of []string
	seen := map[string]bool{}
	for _, d := range it.Duplicates {
		if !seen[d.Of] {
			seen[d.Of] = true
			of = append(of, "#"+d.Of)
		}
	}
	return "DUPLICATE of " + strings.Join(of, ", ")
}

func printItemLine(w io.Writer, it *receive.Item) {
	line := fmt.Sprintf("#%s  %-15s  %s  %d document(s)", it.ID, verdictLabel(it.Verdict), termsafe.String(it.From), len(it.Documents))
	if d := duplicateNote(it); d != "" {
		line += "  " + d
	}
	fmt.Fprintln(w, line)
}

func inboxList(e *env, args []string) int {
	fs := flag.NewFlagSet("inbox list", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	st, _, _, err := openInbox(e)
	if err != nil {
		return errorf(e, "inbox list: %v", err)
	}
	items, err := st.List()
	if err != nil {
		return errorf(e, "inbox list: %v", err)
	}
	if *asJSON {
		if err := writeJSON(e.stdout, items); err != nil {
			return errorf(e, "inbox list: %v", err)
		}
		return 0
	}
	if len(items) == 0 {
		fmt.Fprintln(e.stdout, "The inbox is empty. Fetch with 'securesend inbox fetch'.")
		return 0
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tVERDICT\tFROM\tDOCS\tWARNING")
	for i := range items {
		it := &items[i]
		warn := duplicateNote(it)
		if it.Archived != "" {
			warn = strings.TrimSpace(warn + " (archived to " + termsafe.String(it.Archived) + ")")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", it.ID, it.Received.Local().Format("2006-01-02 15:04"), verdictLabel(it.Verdict), termsafe.String(it.From), len(it.Documents), warn)
	}
	tw.Flush()
	return 0
}

// banner is the line that cannot be mistaken. Everything in it that came
// from the message or a key is made safe for the terminal.
func banner(rep *receive.Report) string {
	switch {
	case rep.Impostor:
		return "WARNING, IMPOSTOR: " + termsafe.String(rep.Reason)
	case rep.Verdict == receive.Verified:
		who := rep.SignerUserID
		if who == "" {
			who = rep.From
		}
		return fmt.Sprintf("VERIFIED: signed by %s (key %s), not altered", termsafe.String(who), termsafe.String(rep.SignerFingerprint))
	case rep.Verdict == receive.UnknownSigner:
		return fmt.Sprintf("CAUTION, SIGNED BY AN UNKNOWN KEY %s: compare its fingerprint with the sender before trusting it", termsafe.String(rep.SignerFingerprint))
	case rep.Verdict.Colour() == "amber":
		return "CAUTION, " + verdictLabel(rep.Verdict) + ": " + termsafe.String(rep.Reason)
	}
	return "WARNING, " + verdictLabel(rep.Verdict) + ": " + termsafe.String(rep.Reason)
}

func inboxShow(e *env, args []string) int {
	fs := flag.NewFlagSet("inbox show", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	asJSON := fs.Bool("json", false, "print the item and its report as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		return errorf(e, "inbox show: give the item ID (see 'securesend inbox list')")
	}
	id := strings.TrimPrefix(fs.Arg(0), "#")
	st, _, _, err := openInbox(e)
	if err != nil {
		return errorf(e, "inbox show: %v", err)
	}
	it, err := st.Get(id)
	if err != nil {
		return errorf(e, "inbox show: %v", err)
	}
	rep, err := st.Report(id)
	if err != nil {
		return errorf(e, "inbox show: %v", err)
	}
	if *asJSON {
		if err := writeJSON(e.stdout, struct {
			Item   *receive.Item   `json:"item"`
			Report *receive.Report `json:"report"`
		}{it, redactWithheld(rep)}); err != nil {
			return errorf(e, "inbox show: %v", err)
		}
		return 0
	}
	rep = redactWithheld(rep)
	w := e.stdout
	fmt.Fprintf(w, "%s\n\n", banner(rep))
	fmt.Fprintf(w, "Item:        #%s, received %s\n", it.ID, it.Received.Local().Format(time.RFC1123))
	printHeaders(w, rep, it.MessageID)
	fmt.Fprintf(w, "Encrypted:   %s\n", yesNo(rep.Encrypted))
	if withheld(rep) {
		fmt.Fprintln(w, "\nDocuments:   withheld: the message failed its integrity or signature check, so nothing from inside it is shown or opened.")
	} else {
		if rep.Note != "" {
			fmt.Fprintf(w, "\nNote:\n  %s\n", strings.Join(termsafe.Lines(strings.TrimSpace(rep.Note)), "\n  "))
		}
		fmt.Fprintln(w, "\nDocuments:")
		for i, d := range rep.Documents {
			fmt.Fprintf(w, "  %d. %s (%s, %d bytes)\n     SHA-256 %s\n", i+1, termsafe.String(d.Name), termsafe.String(d.ContentType), d.Size, termsafe.String(d.SHA256))
		}
	}
	for _, d := range it.Duplicates {
		earlier, err := st.Get(d.Of)
		when := ""
		if err == nil {
			when = fmt.Sprintf(", received %s from %s", earlier.Received.Local().Format("2006-01-02 15:04"), termsafe.String(earlier.From))
		}
		switch d.Kind {
		case "message-id":
			fmt.Fprintf(w, "\nDUPLICATE: this message (same Message-ID) arrived before as item #%s%s.\n", d.Of, when)
		default:
			fmt.Fprintf(w, "\nDUPLICATE: a document with SHA-256 %s arrived before in item #%s%s. Do not dispense twice.\n", termsafe.String(d.SHA256), d.Of, when)
		}
	}
	return 0
}

func inboxOpen(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("inbox open", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	doc := fs.Int("doc", 1, "document number (see 'securesend inbox show')")
	out := fs.String("out", "", "write the document into this directory instead of opening it")
	yes := fs.Bool("yes-unverified", false, "open or write a document of a message that is not verified without asking (read its warning first)")
	// Flags may follow the ID.
	id, ok := parseOneArg(fs, args)
	if !ok {
		return 2
	}
	if id == "" {
		return errorf(e, "inbox open: give the item ID (see 'securesend inbox list')")
	}
	id = strings.TrimPrefix(id, "#")
	st, _, _, err := openInbox(e)
	if err != nil {
		return errorf(e, "inbox open: %v", err)
	}
	it, err := st.Get(id)
	if err != nil {
		return errorf(e, "inbox open: %v", err)
	}
	rep, err := st.Report(id)
	if err != nil {
		return errorf(e, "inbox open: %v", err)
	}
	fmt.Fprintln(e.stderr, banner(rep))
	if withheld(rep) {
		return errorf(e, "inbox open: item #%s failed its integrity or signature check (%s): its documents are withheld and cannot be opened or saved", id, rep.Verdict)
	}
	n := *doc - 1
	if n < 0 || n >= len(rep.Documents) {
		return errorf(e, "inbox open: item #%s has %d document(s)", id, len(rep.Documents))
	}
	if d := duplicateNote(it); d != "" {
		fmt.Fprintf(e.stderr, "%s: see 'securesend inbox show %s'\n", d, id)
	}
	if rep.Verdict != receive.Verified || rep.Impostor {
		if err := confirmUnverified(e, id, rep, *yes); err != nil {
			return errorf(e, "inbox open: %v", err)
		}
	}
	name := receive.SanitizeName(rep.Documents[n].Name)
	head, err := sniffDocument(st, id, n)
	if err != nil {
		return errorf(e, "inbox open: %v", err)
	}
	kind, openable := doccheck.Openable(name, head)
	if *out != "" {
		path := filepath.Join(*out, name)
		if err := writeDocument(st, id, n, path); err != nil {
			return errorf(e, "inbox open: %v", err)
		}
		if !openable {
			fmt.Fprintf(e.stderr, "securesend: warning: %s is not a PDF, TIFF, JPEG or PNG whose content matches its name; do not open it unless you expected this file from this sender.\n", termsafe.String(name))
		}
		fmt.Fprintln(e.stdout, termsafe.String(path))
		return 0
	}
	if !openable {
		return errorf(e, "inbox open: %s is not a PDF, TIFF, JPEG or PNG whose content matches its name, so it is not opened with another program; save it with --out DIR and check it first", termsafe.String(name))
	}
	tmp, err := privtemp.New("")
	if tmp == nil {
		return errorf(e, "inbox open: %v", err)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "securesend: warning: old decrypted copies could not all be removed: %v\n", err)
	}
	path, err := writeTemp(st, id, n, tmp, name)
	if err != nil {
		tmp.Close()
		return errorf(e, "inbox open: %v", err)
	}
	if err := openViewer(ctx, path); err != nil {
		tmp.Close()
		return errorf(e, "inbox open: No %s viewer found (%v) - use --out DIR to save the document instead", kind, err)
	}
	// The viewer reads the file after this command ends: the decrypted
	// copy stays in this process's private folder, which the next start
	// of securesend removes once it is an hour old.
	fmt.Fprintln(e.stdout, termsafe.String(path))
	return 0
}

// confirmUnverified asks before a document of a message that is not
// verified is opened or written: --yes-unverified, or y at a prompt that
// shows the warning when standard input is a terminal. Otherwise it
// refuses.
func confirmUnverified(e *env, id string, rep *receive.Report, yes bool) error {
	if yes {
		return nil
	}
	if !isTerminal(e.stdin) {
		return fmt.Errorf("item #%s is not verified (%s), so its documents are opened only after a confirmation: read the warning above, then add --yes-unverified", id, rep.Verdict)
	}
	fmt.Fprintf(e.stderr, "This document comes from a message that is NOT VERIFIED (%s):\n  %s\nOpen it anyway? [y/N] ", rep.Verdict, termsafe.String(rep.Reason))
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("not opened: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return errors.New("not opened")
}

func inboxArchive(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("inbox archive", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	to := fs.String("to", "Archive", "server mailbox to move the message to")
	id, ok := parseOneArg(fs, args)
	if !ok {
		return 2
	}
	if id == "" {
		return errorf(e, "inbox archive: give the item ID (see 'securesend inbox list')")
	}
	id = strings.TrimPrefix(id, "#")
	st, _, _, err := openInbox(e)
	if err != nil {
		return errorf(e, "inbox archive: %v", err)
	}
	it, err := st.Get(id)
	if err != nil {
		return errorf(e, "inbox archive: %v", err)
	}
	accts, err := accountStore(e)
	if err != nil {
		return errorf(e, "inbox archive: %v", err)
	}
	a, err := accts.Get(it.Source.Account)
	if err != nil {
		return errorf(e, "inbox archive: %v", err)
	}
	pol, err := receivePolicy(e, nil)
	if err != nil {
		return errorf(e, "inbox archive: %v", err)
	}
	iopts, err := imapOptions(pol, a)
	if err != nil {
		return errorf(e, "inbox archive: %v", err)
	}
	conn, err := a.DialIMAP(ctx, accts.Secrets(), iopts)
	if err != nil {
		return errorf(e, "inbox archive: %s: %v", a.Name, err)
	}
	defer conn.Close()
	in := &receive.Inbox{Store: st}
	if err := in.Archive(ctx, conn.Client, id, *to); err != nil {
		return errorf(e, "inbox archive: %v", err)
	}
	fmt.Fprintf(e.stdout, "Moved item #%s to %s on %s. The local copy is kept.\n", id, *to, a.IMAP.Address)
	return 0
}

// writeDocument decrypts document n of item id to path (never overwriting),
// removing the file again if the stored copy turns out damaged.
func writeDocument(st *receive.Store, id string, n int, path string) error {
	r, err := st.OpenDocument(id, n)
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// writeTemp decrypts document n of item id into the process's private
// temp folder under name and returns its path.
func writeTemp(st *receive.Store, id string, n int, tmp *privtemp.Dir, name string) (string, error) {
	r, err := st.OpenDocument(id, n)
	if err != nil {
		return "", err
	}
	defer r.Close()
	return tmp.Write(name, r)
}

// sniffDocument returns the first bytes of document n of item id, for
// doccheck.Openable.
func sniffDocument(st *receive.Store, id string, n int) ([]byte, error) {
	r, err := st.OpenDocument(id, n)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	head := make([]byte, doccheck.SniffLen)
	k, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, err
	}
	return head[:k], nil
}

// viewerGrace is how long openViewer waits for the opener to fail (no
// program for the type) before taking it as started.
const viewerGrace = 2 * time.Second

// openViewer opens path in the system's viewer for its type. An opener
// that is missing, or that exits with an error within viewerGrace (no
// program for the type), is an error.
func openViewer(ctx context.Context, path string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", path)
	case "windows":
		return shellOpen(path) // viewer_windows.go
	default:
		cmd = exec.Command("xdg-open", path)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }() // the viewer may outlive this command
	select {
	case err := <-done:
		return err
	case <-time.After(viewerGrace):
	case <-ctx.Done():
	}
	return nil
}
