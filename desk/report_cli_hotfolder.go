package desk

import (
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/securesend/securesend/send/hotfolder"
	"github.com/securesend/securesend/send/outbox"
)

// HotFolderFileLines are what 'securesend hotfolder' prints for what the
// hot folder did with one file (none for an outcome it does not report),
// and whether that counts as a failure of the run. The reason (which may
// quote the file or a server) is made safe for a terminal.
func HotFolderFileLines(ev hotfolder.Event) (lines []string, failed bool) {
	lines, failed = hotFolderFileLines(ev)
	return safeLines(lines), failed
}

func hotFolderFileLines(ev hotfolder.Event) (lines []string, failed bool) {
	name := DisplayName(ev.Name)
	switch ev.Outcome {
	case hotfolder.Failed:
		return []string{name + ": FAILED: " + ev.Reason + "; moved to " + DisplayName(filepath.Join(hotfolder.FailedDir, filepath.Base(ev.Dest)))}, true
	case hotfolder.Retry:
		return []string{name + ": not sent yet, will try again: " + ev.Reason}, true
	case hotfolder.Queued, hotfolder.AlreadyQueued:
		return []string{name + ": queued as job " + ShortID(ev.JobID) + "; moved to " + DisplayName(filepath.Join(hotfolder.SentDir, filepath.Base(ev.Dest)))}, false
	}
	return nil, false
}

// HotFolderDeliveryLines are what 'securesend hotfolder' prints for one
// delivery attempt of a file's job (Run's report), with what happens next
// to a job that was not sent (NextStep), and whether it counts as a
// failure of the run. What the server said is made safe for a terminal.
func HotFolderDeliveryLines(ev RunEvent) (lines []string, failed bool) {
	lines, failed = hotFolderDeliveryLines(ev)
	return safeLines(lines), failed
}

func hotFolderDeliveryLines(ev RunEvent) (lines []string, failed bool) {
	name, id, rec := DisplayName(ev.Label), ShortID(ev.JobID), ev.Record
	switch ev.Outcome {
	case RunLost:
		return []string{name + ": job " + id + ": " + strings.TrimPrefix(ev.Err.Error(), "outbox: ")}, false
	case RunAlreadySent:
		return []string{name + ": was already sent (job " + id + ")"}, false
	case RunHandedOver:
		return nextStep(nil, rec), false
	case RunSent:
		return []string{name + ": sent to " + strings.Join(rec.Envelope.To, ", ") + " (job " + id + ")"}, false
	case RunDeferred:
		return []string{name + ": queued, not sent yet: " + PlainError(ev.Err) + "; retried from " + rec.NextAttempt.Local().Format("15:04 Mon 2 Jan")}, false
	}
	reason := "not sent"
	if ev.Err != nil {
		reason = PlainError(ev.Err)
	}
	return nextStep([]string{name + ": FAILED to send (job " + id + "): " + reason}, rec), true
}

// nextStep is lines with NextStep(rec) after them when there is one.
func nextStep(lines []string, rec *outbox.Record) []string {
	if s := NextStep(rec); s != "" {
		lines = append(lines, s)
	}
	return lines
}

// DisplayName is a file name as printed: quoted, with escapes, when it
// has characters that would act on the terminal (a newline, an escape
// sequence, a bidi override) instead of showing.
func DisplayName(name string) string {
	if strings.IndexFunc(name, func(r rune) bool {
		return r == utf8.RuneError || !unicode.IsPrint(r) || unicode.Is(unicode.Bidi_Control, r)
	}) < 0 {
		return name
	}
	return strconv.Quote(name)
}
