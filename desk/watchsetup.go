package desk

import (
	"context"
	"errors"
	"runtime"
	"time"

	"github.com/securesend/securesend/send/hotfolder"
)

// HotFolderConfig is how a hot folder runs (securesend hotfolder).
type HotFolderConfig struct {
	// Dir is the folder watched, e.g. the one a scanner saves to.
	Dir string
	// Draft is every file's message without its document: the
	// recipients, subject, type and note, how it is sent (Via; the
	// outbox delivers with it) and whether it is encrypted.
	Draft Draft
	// MaxSize is the largest file taken, in bytes (HotFolderMaxSize).
	MaxSize int64
	// Settle, SettleLimit and Interval are hotfolder.Config's: how long
	// a file must stay unchanged, how long Once waits for one that keeps
	// changing, and how often the folder is looked at.
	Settle, SettleLimit, Interval time.Duration
	// Once sends what is in Dir now and returns; otherwise the folder is
	// watched until ctx ends, and deferred jobs are retried as they
	// become due.
	Once bool
	// Watching, when set, is called once the folder is watched (not with
	// Once).
	Watching func()
	// Report, when set, is told every file's outcome; a queued file is
	// then delivered.
	Report func(hotfolder.Event)
	// Delivered, when set, is told every delivery attempt; its Label is
	// the file's name.
	Delivered func(RunEvent)
	// Warn, when set, is told what went wrong in a round without
	// stopping the watch (an unreadable folder, say).
	Warn func(error)
}

// HotFolder sends every file saved into cfg.Dir to cfg.Draft's
// recipients, one message a file, through the Send journey
// (HotFolderHandler: the policy gate, protection, the outbox, the audit
// log), and delivers each as soon as it is queued. With cfg.Once it
// returns when the files there now are done; otherwise when ctx ends
// (nil), or with the *hotfolder.SubfolderError of a sent/ or failed/
// folder that cannot be used safely.
func (d *Desk) HotFolder(ctx context.Context, cfg HotFolderConfig) error {
	ob, err := d.Outbox(OutboxOptions{Via: cfg.Draft.Via})
	if err != nil {
		return err
	}
	run := ob.NewRun(cfg.Delivered)
	report := func(ctx context.Context, ev hotfolder.Event) {
		if cfg.Report != nil {
			cfg.Report(ev)
		}
		if ev.Outcome == hotfolder.Queued || ev.Outcome == hotfolder.AlreadyQueued {
			run.Deliver(ctx, ev.JobID, ev.Name)
		}
	}
	w, err := hotfolder.New(hotfolder.Config{Dir: cfg.Dir, Handle: ob.HotFolderHandler(cfg.Draft), Report: report,
		Settle: cfg.Settle, SettleLimit: cfg.SettleLimit, MaxSize: cfg.MaxSize, Interval: cfg.Interval})
	if err != nil {
		return err
	}
	if cfg.Once {
		_, err := w.Drain(ctx)
		return err
	}
	if cfg.Watching != nil {
		cfg.Watching()
	}
	return run.WatchHotFolder(ctx, w, cfg.Warn)
}

// ErrPrintNeedsCUPS refuses printing where there is no CUPS (Windows).
var ErrPrintNeedsCUPS = errors.New("printing needs CUPS (Linux, macOS); on Windows drop the documents into the printing software's hot folder instead")

// CUPSPrinter is the watch's Printer for the CUPS queue name (lp -d
// name): the name checked (CheckPrinterName), and ErrPrintNeedsCUPS on
// Windows.
func CUPSPrinter(name string) (*LP, error) {
	return cupsPrinter(runtime.GOOS, name)
}

func cupsPrinter(goos, name string) (*LP, error) {
	if goos == "windows" {
		return nil, ErrPrintNeedsCUPS
	}
	if err := CheckPrinterName(name); err != nil {
		return nil, err
	}
	return &LP{Printer: name}, nil
}
