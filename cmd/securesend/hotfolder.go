package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/hotfolder"
)

func hotfolderCommand() command {
	return command{
		name:    "hotfolder",
		summary: "send scans saved into a folder automatically to a set recipient",
		run:     runHotfolder,
	}
}

const hotfolderUsage = `Usage: securesend hotfolder --dir DIR --to ADDRESS --account NAME [flags]
       securesend hotfolder --dir DIR --to ADDRESS --server HOST:PORT --from ADDRESS [flags]

Watches DIR (e.g. the folder a scanner saves to) and sends every PDF, TIFF,
JPEG or PNG that appears there to the recipient, one message per file, the
way 'securesend send' does: signed, encrypted when possible or required,
checked against your organisation's policy, written to the outbox first.
A file is taken once it has not changed for --settle. Sent files are moved
to DIR/sent; files that cannot be sent (empty, damaged, refused, larger
than --max-size, or still changing after --settle-limit with --once) are
moved to DIR/failed with NAME.reason.txt saying why. Nothing is deleted. Hidden
and temporary files and subfolders are left alone.
With --once it sends what is in DIR and exits: 0 when nothing failed,
1 otherwise (a file the server could not take yet stays queued in the
outbox for 'securesend outbox run' and is not a failure). Without --once
it runs until interrupted, retrying such messages itself. With
--password-stdin the password is read once, for every file. If DIR/sent or
DIR/failed cannot be used safely (a link, a file, another user's), nothing
is moved and it stops with exit 1.

Flags:
`

// hotfolderDocTypes are the document types (the message's Subject).
var hotfolderDocTypes = desk.DocumentTypes

func runHotfolder(ctx context.Context, e *env, args []string) int {
	var (
		f        sendFlags
		dir      string
		docType  string
		once     bool
		interval time.Duration
		settle   time.Duration
		maxMB    int64
		limit    time.Duration
	)
	fs := newFlags(e, "hotfolder")
	fs.Usage = usageOf(fs, hotfolderUsage)
	fs.StringVar(&dir, "dir", "", "the hot `folder` to watch (required)")
	fs.Var(&f.to, "to", "recipient `address` of every file (required); repeat for several")
	fs.StringVar(&f.encrypt, "encrypt", "auto", "always, auto or never")
	fs.StringVar(&docType, "doc-type", "Other", "document type, the message's subject: "+strings.Join(hotfolderDocTypes, ", "))
	fs.StringVar(&f.note, "note", "", "short covering note `text` sent with every file")
	fs.BoolVar(&once, "once", false, "send what is in the folder now, then exit")
	fs.DurationVar(&interval, "interval", 10*time.Second, "how often to look in the folder (`duration`)")
	fs.DurationVar(&settle, "settle", 5*time.Second, "how long a file must stay unchanged before it is sent (`duration`)")
	fs.Int64Var(&maxMB, "max-size", 0, "largest file taken, in `MB` (default: your organisation's document limit, else "+strconv.Itoa(hotfolder.DefaultMaxSize>>20)+")")
	fs.DurationVar(&limit, "settle-limit", hotfolder.DefaultSettleLimit, "with --once: how long to wait for a file that keeps changing before moving it to failed/ (`duration`)")
	fs.StringVar(&f.from, "from", "", "sender `address` (default with --account: the account's)")
	f.defineConn(fs, "send with the stored account `name` (see 'securesend account add'): its server, sign-in and address")
	if code := parseCode(fs, args); code >= 0 {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(e.stderr, "securesend hotfolder: "+format+" (see 'securesend hotfolder --help')\n", a...)
		return 2
	}
	switch {
	case fs.NArg() != 0:
		return usageErr("unexpected argument %q", fs.Arg(0))
	case dir == "":
		return usageErr("missing --dir")
	case len(f.to) == 0:
		return usageErr("missing --to")
	case (f.account == "") == (f.server == ""):
		return usageErr("give --account or --server")
	case f.connProblem() != "":
		return usageErr("%s", f.connProblem())
	case f.account == "" && f.from == "":
		return usageErr("--server needs --from")
	case interval <= 0 || settle < 0:
		return usageErr("--interval must be positive and --settle not negative")
	case limit <= 0:
		return usageErr("--settle-limit must be positive")
	case flagSet(fs, "max-size") && (maxMB <= 0 || maxMB > maxHotfolderMB):
		return usageErr("--max-size must be a number of MB from 1 to %d, not %d", maxHotfolderMB, maxMB)
	}
	em, err := send.ParseEncryptMode(f.encrypt)
	if err != nil {
		return usageErr("--encrypt must be always, auto or never, not %q", f.encrypt)
	}
	var ok bool
	if f.subject, f.docType, ok = desk.DocumentType(docType); !ok {
		return usageErr("--doc-type must be one of %s, not %q", strings.Join(hotfolderDocTypes, ", "), docType)
	}
	if _, err := parseAddrs("--to", f.to); err != nil {
		return usageErr("%v", err)
	}
	d, err := openDesk(e)
	if err != nil {
		return errorf(e, "hotfolder: %v", err)
	}
	f.docs = []string{"-"} // each file's, in the handler; From: the account's when not given
	m, err := f.message()
	if err != nil {
		return usageErr("%v", err)
	}
	m.Documents = nil
	maxSize, err := d.HotFolderMaxSize(maxMB)
	var over *desk.OverPolicyLimitError
	if errors.As(err, &over) {
		return usageErr("--max-size %d is over your organisation's document limit of %d MB", over.GivenMB, over.PolicyMB)
	} else if err != nil {
		return errorf(e, "hotfolder: %v", err)
	}
	// The policy gate checks the server before the password is read (once:
	// every file is queued with it), and every job again at delivery.
	v, err := f.via(e.stdin)
	if err != nil {
		return usageErr("%v", err)
	}
	h := &hotfolderReport{e: e}
	err = d.HotFolder(ctx, desk.HotFolderConfig{Dir: dir, Draft: desk.Draft{Message: m, Via: v, Encrypt: em}, MaxSize: maxSize,
		Settle: settle, SettleLimit: limit, Interval: interval, Once: once, Report: h.file, Delivered: h.delivered,
		Watching: func() {
			fmt.Fprintf(e.stdout, "Watching %s; files are sent to %s. Stop with Ctrl-C.\n", displayName(dir), keyText(f.to.String()))
		},
		Warn: func(err error) { fmt.Fprintf(e.stderr, "securesend: %s\n", hotfolderErrorText(err)) },
	})
	switch {
	case err != nil: // the outbox or DIR cannot be used, or sent/ or failed/ not safely
		return errorf(e, "%s", hotfolderErrorText(err))
	case once && h.failures > 0:
		return 1
	}
	return 0 // done, or interrupted
}

// maxHotfolderMB bounds --max-size (64 GB): beyond it the size in bytes
// would be meaningless for a scan.
const maxHotfolderMB = 64 << 10

// hotfolderErrorText is a hot folder error as printed: a
// *hotfolder.SubfolderError as it is (its message names the folder and
// what to do), an outbox error with its "outbox: ", others with one
// "hotfolder: ", all made safe for the terminal (the folder's path may
// hold any character).
func hotfolderErrorText(err error) string {
	var se *hotfolder.SubfolderError
	if errors.As(err, &se) {
		return keyText(se.Error())
	}
	return "hotfolder: " + keyText(strings.TrimPrefix(err.Error(), "hotfolder: "))
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// hotfolderReport prints what one 'securesend hotfolder' (desk.HotFolder)
// does with each file, and counts the failures.
type hotfolderReport struct {
	e        *env
	failures int
}

// file prints one line per file.
func (h *hotfolderReport) file(ev hotfolder.Event) {
	w := h.e.stdout
	name := displayName(ev.Name)
	switch ev.Outcome {
	case hotfolder.Failed:
		h.failures++
		fmt.Fprintf(w, "%s: FAILED: %s; moved to %s\n", name, ev.Reason, displayName(filepath.Join(hotfolder.FailedDir, filepath.Base(ev.Dest))))
	case hotfolder.Retry:
		h.failures++
		fmt.Fprintf(w, "%s: not sent yet, will try again: %s\n", name, ev.Reason)
	case hotfolder.Queued, hotfolder.AlreadyQueued:
		fmt.Fprintf(w, "%s: queued as job %s; moved to %s\n", name, desk.ShortID(ev.JobID), displayName(filepath.Join(hotfolder.SentDir, filepath.Base(ev.Dest))))
	}
}

// delivered prints the outcome of one delivery attempt.
func (h *hotfolderReport) delivered(ev desk.RunEvent) {
	w, name, id, rec := h.e.stdout, displayName(ev.Label), desk.ShortID(ev.JobID), ev.Record
	switch ev.Outcome {
	case desk.RunLost:
		fmt.Fprintf(w, "%s: job %s: %s\n", name, id, outboxTrim(ev.Err, "outbox: "))
	case desk.RunAlreadySent:
		fmt.Fprintf(w, "%s: was already sent (job %s)\n", name, id)
	case desk.RunHandedOver:
		outboxExplain(w, rec)
	case desk.RunSent:
		fmt.Fprintf(w, "%s: sent to %s (job %s)\n", name, strings.Join(rec.Envelope.To, ", "), id)
	case desk.RunDeferred:
		fmt.Fprintf(w, "%s: queued, not sent yet: %s; retried from %s\n", name, plainError(ev.Err), rec.NextAttempt.Local().Format("15:04 Mon 2 Jan"))
	default:
		h.failures++
		reason := "not sent"
		if ev.Err != nil {
			reason = plainError(ev.Err)
		}
		fmt.Fprintf(w, "%s: FAILED to send (job %s): %s\n", name, id, reason)
		outboxExplain(w, rec)
	}
}

// displayName is a file name from the hot folder as printed: quoted, with
// escapes, when it has characters that would act on the terminal (a
// newline, an escape sequence, a bidi override) instead of showing.
func displayName(name string) string {
	if strings.IndexFunc(name, func(r rune) bool {
		return r == utf8.RuneError || !unicode.IsPrint(r) || unicode.Is(unicode.Bidi_Control, r)
	}) < 0 {
		return name
	}
	return strconv.Quote(name)
}
