package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/securesend/securesend/desk"
	"github.com/securesend/securesend/send"
	"github.com/securesend/securesend/send/hotfolder"
)

func hotfolderCommand() command {
	return command{name: "hotfolder", summary: "send scans saved into a folder automatically to a set recipient", usage: hotfolderUsage, flags: hotfolderDefine}
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
`

func hotfolderDefine(fs *flag.FlagSet) runFunc {
	var f sendFlags
	dir := fs.String("dir", "", "the hot `folder` to watch (required)")
	fs.Var(&f.to, "to", "recipient `address` of every file (required); repeat for several")
	fs.StringVar(&f.encrypt, "encrypt", "auto", "always, auto or never")
	docType := fs.String("doc-type", "Other", "document type, the message's subject: "+strings.Join(desk.DocumentTypes, ", "))
	fs.StringVar(&f.note, "note", "", "short covering note `text` sent with every file")
	once := fs.Bool("once", false, "send what is in the folder now, then exit")
	interval := fs.Duration("interval", 10*time.Second, "how often to look in the folder (`duration`)")
	settle := fs.Duration("settle", 5*time.Second, "how long a file must stay unchanged before it is sent (`duration`)")
	maxMB := fs.Int64("max-size", 0, "largest file taken, in `MB` (default: your organisation's document limit, else "+strconv.Itoa(hotfolder.DefaultMaxSize>>20)+")")
	limit := fs.Duration("settle-limit", hotfolder.DefaultSettleLimit, "with --once: how long to wait for a file that keeps changing before moving it to failed/ (`duration`)")
	fs.StringVar(&f.from, "from", "", "sender `address` (default with --account: the account's)")
	f.defineConn(fs, "send with the stored account `name` (see 'securesend account add'): its server, sign-in and address")
	return func(ctx context.Context, c *call) error {
		switch {
		case *dir == "":
			return usagef("missing --dir")
		case len(f.to) == 0:
			return usagef("missing --to")
		case (f.account == "") == (f.server == ""):
			return usagef("give --account or --server")
		case f.connProblem() != "":
			return usagef("%s", f.connProblem())
		case f.account == "" && f.from == "":
			return usagef("--server needs --from")
		case *interval <= 0 || *settle < 0:
			return usagef("--interval must be positive and --settle not negative")
		case *limit <= 0:
			return usagef("--settle-limit must be positive")
		case c.given("max-size") && (*maxMB <= 0 || *maxMB > maxHotfolderMB):
			return usagef("--max-size must be a number of MB from 1 to %d, not %d", maxHotfolderMB, *maxMB)
		}
		em, err := send.ParseEncryptMode(f.encrypt)
		if err != nil {
			return usagef("--encrypt must be always, auto or never, not %q", f.encrypt)
		}
		var ok bool
		if f.subject, f.docType, ok = desk.DocumentType(*docType); !ok {
			return usagef("--doc-type must be one of %s, not %q", strings.Join(desk.DocumentTypes, ", "), *docType)
		}
		m, err := f.message() // From: the account's when not given
		if err != nil {
			return usagef("%v", err)
		}
		maxSize, err := c.desk.HotFolderMaxSize(*maxMB)
		var over *desk.OverPolicyLimitError
		if errors.As(err, &over) {
			return usagef("--max-size %d is over your organisation's document limit of %d MB", over.GivenMB, over.PolicyMB)
		} else if err != nil {
			return err
		}
		// The policy gate checks the server before the password is read (once:
		// every file is queued with it), and every job again at delivery.
		v, err := f.via(c.stdin)
		if err != nil {
			return usagef("%v", err)
		}
		h := &hotfolderReport{e: c.env}
		err = c.desk.HotFolder(ctx, desk.HotFolderConfig{Dir: *dir, Draft: desk.Draft{Message: m, Via: v, Encrypt: em}, MaxSize: maxSize,
			Settle: *settle, SettleLimit: *limit, Interval: *interval, Once: *once, Report: h.file, Delivered: h.delivered,
			Watching: func() {
				fmt.Fprintf(c.stdout, "Watching %s; files are sent to %s. Stop with Ctrl-C.\n", desk.DisplayName(*dir), desk.KeyText(f.to.String()))
			},
			Warn: func(err error) { fmt.Fprintf(c.stderr, "securesend: %s\n", hotfolderErrorText(err)) },
		})
		switch {
		case err != nil: // the outbox or DIR cannot be used, or sent/ or failed/ not safely
			return bare(errors.New(hotfolderErrorText(err)))
		case *once && h.failures > 0:
			return exitCode(1)
		}
		return nil // done, or interrupted
	}
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
		return desk.KeyText(se.Error())
	}
	return "hotfolder: " + desk.KeyText(strings.TrimPrefix(err.Error(), "hotfolder: "))
}

// hotfolderReport prints what one 'securesend hotfolder' (desk.HotFolder)
// does with each file and each delivery, and counts the failures.
type hotfolderReport struct {
	e        *env
	mu       sync.Mutex
	failures int
}

// print prints lines and counts a failure.
func (h *hotfolderReport) print(lines []string, failed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	printLines(h.e.stdout, lines)
	if failed {
		h.failures++
	}
}

func (h *hotfolderReport) file(ev hotfolder.Event)    { h.print(desk.HotFolderFileLines(ev)) }
func (h *hotfolderReport) delivered(ev desk.RunEvent) { h.print(desk.HotFolderDeliveryLines(ev)) }
