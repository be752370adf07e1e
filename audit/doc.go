// Package audit keeps securesend's tamper-evident audit log: an append-only
// file of JSON lines, one per event (send attempts and outcomes, verdicts on
// received mail, key imports and pins, account and policy changes).
//
// Each entry carries the SHA-256 hash of the previous one, so editing or
// deleting a line breaks the chain at that line. Each entry is also
// authenticated with HMAC-SHA-256 under a 32-byte key that lives only in
// the OS keychain ("audit-hmac:HASH", created by the first Append); the MAC
// covers the entry, its hash and the previous entry's hash. So nobody can
// append, edit or replace entries, even knowing the format, without the
// keychain. The chain's head (sequence number and hash of the last entry,
// and that it is keyed) is also kept in the keychain, so deleting lines at
// the end, rewriting the whole file, or removing the MACs to pass the log
// off as one written before keying (the hash does not cover the MAC) is
// detected too. Verify names the first broken entry.
//
// Promises:
//   - Entries hold addresses, message ids, hashes, fingerprints, verdicts,
//     server replies and times: only the field names listed by FieldNames
//     are accepted, so document names, subjects, notes and secrets cannot be
//     logged by mistake. The key never appears in the file.
//   - Append is safe for concurrent use by goroutines and by processes
//     (an exclusive lock on the file), and each entry is fsynced before
//     Append returns.
//   - Append writes, fsyncs and moves the head one entry at a time (the
//     audit.keyed or audit.break entry it adds, then the event), so a
//     process killed between writing an entry and moving the keychain
//     head leaves the file at most one entry ahead of the head. Inside a
//     Hold (one round of the inbox watch) the head moves only every
//     MaxUnanchored entries and at the release, so the file may be up to
//     MaxUnanchored entries ahead. Entries ahead of the head are accepted
//     (by Verify and Append) only when each links to the one before, back
//     to the entry the head names, and its MAC authenticates. Anything
//     else at the end is reported, and Append does not chain onto it.
//     What the head does not cover yet is the one part of the log whose
//     removal from the end would go unnoticed: at most one entry, or
//     MaxUnanchored while held.
//   - If Append finds that the file no longer ends where the keychain head
//     says (lines were removed, rewritten or made up), it first records a
//     "audit.break" entry describing the gap, so the damage stays visible
//     in the chain even after further entries are added.
//   - Logs written before entries were keyed (no "mac") keep verifying:
//     their entries count as legacy, and the first Append marks the start
//     of the keyed part with an "audit.keyed" entry whose MAC pins the
//     legacy chain as it was then. After a keyed entry, an unkeyed one is
//     refused.
//   - VerifyFile checks a copy or a JSON export without the key: chain
//     integrity, not authenticity (see its documentation).
//
// It refuses: unknown field names, events without a kind.
package audit
