package desk

import (
	"fmt"
	"time"

	"github.com/securesend/securesend/audit"
	"github.com/securesend/securesend/internal/termsafe"
)

// AuditLines say what 'audit verify' proved of the home's log, from the
// summary of audit.Log.Verify: how many entries, the last one matching the
// keychain, and which part is authenticated with the audit key.
func AuditLines(sum audit.Summary) []string {
	if sum.Entries == 0 {
		return []string{"Audit log OK: no entries yet."}
	}
	out := []string{fmt.Sprintf("Audit log OK: %d entries, the last (#%d, %s) matches the keychain; hash %s",
		sum.Entries, sum.Last.Seq, sum.Last.Time.Local().Format(time.RFC1123), sum.Last.Hash)}
	switch {
	case sum.Legacy == 0:
		out = append(out, "Every entry is authenticated with this computer's audit key.")
	case sum.KeyedFrom == 0:
		out = append(out, fmt.Sprintf("All %d entries were written before the log was keyed: their hash chain is intact and ends where the keychain says, but nothing shows who wrote them. The next entry starts the keyed part.", sum.Legacy))
	default:
		out = append(out, fmt.Sprintf("Entries 1 to %d were written before the log was keyed (hash chain only); entries %d to %d are authenticated with this computer's audit key, and entry %d pins the earlier chain: those entries have not changed since, but nothing shows who wrote them.",
			sum.Legacy, sum.KeyedFrom, sum.Last.Seq, sum.KeyedFrom))
	}
	return out
}

// AuditFileLines say what 'audit verify --export' proved of a copy of a
// log or an export (path) checked without the key (audit.VerifyFile), and
// exactly what that does not prove. path is shown made safe for a
// terminal (termsafe).
func AuditFileLines(path string, sum audit.FileSummary) []string {
	path = termsafe.String(path)
	if sum.Entries == 0 {
		return []string{path + " holds no entries."}
	}
	chain := fmt.Sprintf("Chain OK: entries %d to %d (%d) of %s each match their hash, follow each other in order and link to the one before", sum.First.Seq, sum.Last.Seq, sum.Entries, path)
	if sum.First.Seq > 1 {
		chain += fmt.Sprintf(" (entry %d's link to the entries before it is not in the file)", sum.First.Seq)
	}
	return []string{chain + ".",
		fmt.Sprintf("Last entry: #%d, %s, hash %s", sum.Last.Seq, sum.Last.Time.Local().Format(time.RFC1123), sum.Last.Hash),
		fmt.Sprintf("%d entries carry a MAC, %d were written before the log was keyed.", sum.Keyed, sum.Legacy),
		"Checked without the audit key, so NOT proven: that securesend wrote these entries (anyone who knows the format can build a consistent chain with made-up MACs), that no entries are missing after the last one, or that this is the log's current state.",
		"To prove those, run 'securesend audit verify' on the computer that keeps the log: it checks every MAC with the key in its keychain; its last hash must match the one above.",
	}
}
