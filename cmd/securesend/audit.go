package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/desk"
)

func auditCommand() command {
	return command{name: "audit", summary: "verify and export the tamper-evident audit log", usage: auditUsage, subs: []command{
		{name: "verify", summary: "check the log (--export FILE: a copy, without the key)",
			usage: "Usage: securesend audit verify [--export FILE]\n\n" + auditVerifyUsage, flags: auditVerify},
		{name: "export", summary: "write the entries to standard output",
			usage: "Usage: securesend audit export --csv|--json [--since DATE]\n", flags: auditExport},
	}}
}

const auditUsage = `The audit log records every send attempt and outcome, every verification
of received mail, key imports and pins, account and policy changes:
addresses, hashes, fingerprints, verdicts and times, never document
content, subjects or secrets. Each entry is chained to the previous one by
its hash and authenticated with a key (HMAC-SHA-256) that is kept only in
this computer's OS keychain, with the last entry; nobody can add, change or
remove entries without that keychain.
`

const auditVerifyUsage = `Checks every entry with the keychain key and names the first broken entry
(exit 1). With --export FILE it checks a copy of the log or a JSON export
without the key (for auditors): then only the chain can be checked, that
the entries are unchanged relative to each other and in order. It cannot
tell whether securesend wrote them, nor whether entries are missing at the
end. For that, run 'securesend audit verify' on the computer that keeps the
log and compare the last hash it prints with the one for the copy.
`

func auditVerify(fs *flag.FlagSet) runFunc {
	file := fs.String("export", "", "check this `file` (a copy of audit.log, or 'audit export --json' output) without the keychain")
	return func(_ context.Context, c *call) error {
		if *file != "" {
			return auditVerifyFile(c, *file)
		}
		log, err := c.desk.Audit()
		if err != nil {
			return err
		}
		sum, err := log.Verify()
		var be *audit.BrokenError
		if errors.As(err, &be) {
			fmt.Fprintf(c.stderr, "securesend: %v\n", be)
			fmt.Fprintf(c.stderr, "The audit log %s has been altered or damaged; keep a copy and tell your privacy officer.\n", log.Path())
			return exitCode(1)
		}
		if err != nil {
			return err
		}
		printLines(c.stdout, desk.AuditLines(sum))
		return nil
	}
}

// auditVerifyFile checks a copy or a JSON export without the keychain and
// says exactly what that does and does not prove.
func auditVerifyFile(c *call, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sum, err := audit.VerifyFile(f)
	var be *audit.BrokenError
	if errors.As(err, &be) {
		fmt.Fprintf(c.stderr, "securesend: %s: %v\n", path, be)
		fmt.Fprintln(c.stderr, "This copy is not what securesend wrote: entries were changed, removed, reordered or added.")
		return exitCode(1)
	}
	if err != nil {
		return fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "audit: "))
	}
	printLines(c.stdout, desk.AuditFileLines(path, sum))
	return nil
}

func auditExport(fs *flag.FlagSet) runFunc {
	asCSV := fs.Bool("csv", false, "write CSV (one row per entry, one column per field)")
	asJSON := fs.Bool("json", false, "write a JSON array of entries")
	since := fs.String("since", "", "only entries from this `date` (2026-01-02, local time) or time (RFC 3339)")
	return func(_ context.Context, c *call) error {
		if *asCSV == *asJSON {
			return usagef("give exactly one of --csv or --json")
		}
		var from time.Time
		if *since != "" {
			var err error
			if from, err = audit.ParseSince(*since, time.Local); err != nil {
				return usagef("--since %v", err)
			}
		}
		format := audit.JSON
		if *asCSV {
			format = audit.CSV
		}
		log, err := c.desk.Audit()
		if err != nil {
			return err
		}
		return log.Export(c.stdout, format, from)
	}
}
