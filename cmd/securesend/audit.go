package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/desk"
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
its hash and authenticated with a key (HMAC-SHA-256) that is kept only in
this computer's OS keychain, with the last entry; nobody can add, change or
remove entries without that keychain.

Subcommands:
  verify                                check every entry with the keychain key; names the first broken entry (exit 1)
  verify --export FILE                  check a copy of the log or a JSON export without the key (auditors; see below)
  export --csv|--json [--since DATE]    write the entries (from DATE, e.g. 2026-01-02) to standard output

Without the key (verify --export) only the chain can be checked: that the
entries are unchanged relative to each other and in order. It cannot tell
whether securesend wrote them, nor whether entries are missing at the end.
For that, run 'securesend audit verify' on the computer that keeps the log
and compare the last hash it prints with the one for the copy.
`

func runAudit(ctx context.Context, e *env, args []string) int {
	return subcommands(e, "audit", auditUsage, args, map[string]func([]string) int{
		"verify": func(a []string) int { return auditVerify(e, a) },
		"export": func(a []string) int { return auditExport(e, a) },
	})
}

func auditVerify(e *env, args []string) int {
	fs := newFlags(e, "audit verify")
	file := fs.String("export", "", "check this `file` (a copy of audit.log, or 'audit export --json' output) without the keychain")
	if code := parseCode(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(e.stderr, "securesend audit verify: takes no arguments (a file goes after --export)")
		return 2
	}
	if *file != "" {
		return auditVerifyFile(e, *file)
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
	printLines(e.stdout, desk.AuditLines(sum))
	return 0
}

// auditVerifyFile checks a copy or a JSON export without the keychain and
// says exactly what that does and does not prove.
func auditVerifyFile(e *env, path string) int {
	f, err := os.Open(path)
	if err != nil {
		return errorf(e, "audit verify: %v", err)
	}
	defer f.Close()
	sum, err := audit.VerifyFile(f)
	var be *audit.BrokenError
	if errors.As(err, &be) {
		fmt.Fprintf(e.stderr, "securesend: %s: %v\n", path, be)
		fmt.Fprintln(e.stderr, "This copy is not what securesend wrote: entries were changed, removed, reordered or added.")
		return 1
	}
	if err != nil {
		return errorf(e, "audit verify: %s: %v", path, outboxTrim(err, "audit: "))
	}
	printLines(e.stdout, desk.AuditFileLines(path, sum))
	return 0
}

func auditExport(e *env, args []string) int {
	var (
		asCSV, asJSON bool
		since         string
	)
	fs := newFlags(e, "audit export")
	fs.BoolVar(&asCSV, "csv", false, "write CSV (one row per entry, one column per field)")
	fs.BoolVar(&asJSON, "json", false, "write a JSON array of entries")
	fs.StringVar(&since, "since", "", "only entries from this `date` (2026-01-02, local time) or time (RFC 3339)")
	if code := parseCode(fs, args); code >= 0 {
		return code
	}
	if asCSV == asJSON || fs.NArg() != 0 {
		fmt.Fprintln(e.stderr, "securesend audit export: give exactly one of --csv or --json")
		return 2
	}
	var from time.Time
	if since != "" {
		var err error
		if from, err = audit.ParseSince(since, time.Local); err != nil {
			fmt.Fprintf(e.stderr, "securesend audit export: --since %v\n", err)
			return 2
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

// openAudit opens the home's audit log (desk.Desk.Audit).
func openAudit(e *env) (*audit.Log, error) {
	d, err := openDesk(e)
	if err != nil {
		return nil, err
	}
	return d.Audit()
}
