// Package audit keeps securesend's tamper-evident audit log: an append-only
// file of JSON lines, one per event (send attempts and outcomes, verdicts on
// received mail, key imports and pins, account and policy changes).
//
// Each entry carries the SHA-256 hash of the previous one, so editing or
// deleting a line breaks the chain at that line. The chain's head (sequence
// number and hash of the last entry) is also kept in the OS keychain, so
// deleting lines at the end, or rewriting the whole file with recomputed
// hashes, is detected too. Verify names the first broken entry.
//
// Promises:
//   - Entries hold addresses, message ids, hashes, fingerprints, verdicts,
//     server replies and times: only the field names listed by FieldNames
//     are accepted, so document names, subjects, notes and secrets cannot be
//     logged by mistake.
//   - Append is safe for concurrent use by goroutines and by processes
//     (an exclusive lock on the file), and each entry is fsynced before
//     Append returns.
//   - A process killed between writing an entry and moving the keychain
//     head leaves the file one entry ahead of the head; that one entry is
//     accepted (by Verify and Append) when it links to the head. Anything
//     else at the end is reported.
//   - If Append finds that the file no longer ends where the keychain head
//     says (lines were removed or rewritten), it first records a
//     "audit.break" entry describing the gap, so the damage stays visible
//     in the chain even after further entries are added.
//
// It refuses: unknown field names, events without a kind.
package audit
