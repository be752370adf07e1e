package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/profile"
)

func auditCommand() command {
	return command{
		name:    "audit",
		summary: "verify and export the tamper-evident audit log",
		run:     runAudit,
	}
}

const auditUsage = `Usage: securesend audit SUBCOMMAND [flags]

The audit log records every send attempt and outcome, every verification
of received mail, key imports and pins, account and policy changes:
addresses, hashes, fingerprints, verdicts and times, never document
content, subjects or secrets. Each entry is chained to the previous one by
its hash, and the last one is also kept in the OS keychain.

Subcommands:
  verify                                check the whole chain; names the first broken entry (exit 1)
  export --csv|--json [--since DATE]    write the entries (from DATE, e.g. 2026-01-02) to standard output
`

// auditRecord appends one event to the home's audit log. Commands call it
// once a change has been made: key.import and key.pin (fields address,
// fingerprint, key_uid), account.change (account, setting, old, new,
// never a secret), policy.change (setting, old, new, actor),
// receive.verified (from, message_id, verdict, signer, fingerprint,
// sha256). Fields outside audit.FieldNames are refused.
func auditRecord(e *env, kind audit.Kind, fields audit.Fields) error {
	log, err := openAudit(e)
	if err != nil {
		return err
	}
	_, err = log.Append(audit.Event{Kind: kind, Fields: fields})
	return err
}

// auditProfileChange records a newly seen organisation profile serial (a
// policy change) in the audit log; a failure to record is a warning.
func auditProfileChange(e *env, l *profile.Loaded) {
	if !l.Managed() || !l.Changed {
		return
	}
	err := auditRecord(e, audit.PolicyChange, audit.Fields{
		"setting": "organisation profile serial", "old": strconv.FormatInt(l.PreviousSerial, 10),
		"new": strconv.FormatInt(l.Profile.Serial, 10), "actor": l.Fingerprint,
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "securesend: warning: the audit log could not record the new organisation profile: %v\n", err)
	}
}

func runAudit(ctx context.Context, e *env, args []string) int {
	return subcommands(e, "audit", auditUsage, args, map[string]func([]string) int{
		"verify": func(a []string) int { return auditVerify(e, a) },
		"export": func(a []string) int { return auditExport(e, a) },
	})
}

func auditVerify(e *env, args []string) int {
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(e.stderr, "securesend audit verify: takes no arguments")
		return 2
	}
	log, err := openAudit(e)
	if err != nil {
		return errorf(e, "audit: %v", outboxTrim(err, "audit: "))
	}
	sum, err := log.Verify()
	var be *audit.BrokenError
	if errors.As(err, &be) {
		fmt.Fprintf(e.stderr, "securesend: %v\n", be)
		fmt.Fprintf(e.stderr, "The audit log %s has been altered or damaged; keep a copy and tell your privacy officer.\n", log.Path())
		return 1
	}
	if err != nil {
		return errorf(e, "audit: %v", outboxTrim(err, "audit: "))
	}
	if sum.Entries == 0 {
		fmt.Fprintln(e.stdout, "Audit log OK: no entries yet.")
		return 0
	}
	fmt.Fprintf(e.stdout, "Audit log OK: %d entries, the last (#%d, %s) matches the keychain; hash %s\n",
		sum.Entries, sum.Last.Seq, sum.Last.Time.Local().Format(time.RFC1123), sum.Last.Hash)
	return 0
}

func auditExport(e *env, args []string) int {
	var (
		asCSV, asJSON bool
		since         string
	)
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.BoolVar(&asCSV, "csv", false, "write CSV (one row per entry, one column per field)")
	fs.BoolVar(&asJSON, "json", false, "write a JSON array of entries")
	fs.StringVar(&since, "since", "", "only entries from this `date` (2026-01-02, local time) or time (RFC 3339)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if asCSV == asJSON || fs.NArg() != 0 {
		fmt.Fprintln(e.stderr, "securesend audit export: give exactly one of --csv or --json")
		return 2
	}
	var from time.Time
	if since != "" {
		var err error
		if from, err = time.ParseInLocation("2006-01-02", since, time.Local); err != nil {
			if from, err = time.Parse(time.RFC3339, since); err != nil {
				fmt.Fprintf(e.stderr, "securesend audit export: --since %q is not a date like 2026-01-02 or a time like 2026-01-02T15:04:05+13:00\n", since)
				return 2
			}
		}
	}
	format := audit.JSON
	if asCSV {
		format = audit.CSV
	}
	log, err := openAudit(e)
	if err != nil {
		return errorf(e, "audit: %v", outboxTrim(err, "audit: "))
	}
	if err := log.Export(e.stdout, format, from); err != nil {
		return errorf(e, "%v", err)
	}
	return 0
}
