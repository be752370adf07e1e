// Package outbox is securesend's durable, encrypted outbox: every message is
// written to disk as a job before any network I/O, delivered (and retried)
// from there, and kept until the user removes it, so that quitting the app,
// a crash or a pulled network cable never loses a document.
//
// It is its own package below send, rather than part of send, because send
// is the pure protocol layer (compose, submit over TLS, no state), while the
// outbox owns state on disk, locking, retry policy, the keychain key and the
// audit trail; send stays testable without any of that, and the outbox
// takes the submission as a function (SubmitFunc), so it can be driven by
// send.Submit, by a stored account, or by a fault-injecting test double.
//
// Promises:
//   - Enqueue stores the composed message and the job's metadata encrypted
//     at rest (crypto/atrest, key from the OS keychain) under random file
//     names, crash-safely: temporary file, fsync, atomic rename, fsync of
//     the directory (as Postfix's queue does). Nothing about the patient or
//     the recipients is visible in the directory.
//   - Delivery reads the stored message once, decrypting it while it is
//     uploaded. A message altered or damaged on disk is never completed
//     on the server: damage in its first chunk is found before any network
//     I/O; later damage makes the body reader fail, and send.Submit then
//     drops the connection without the final ".", so the server discards
//     it. Either way the job fails as damaged and is not retried.
//   - States: queued → sending → sent | deferred (temporary failure: 4xx,
//     network down; retried with exponential backoff) | failed (permanent:
//     5xx, TLS or sign-in refused, or not delivered within MaxAge) |
//     cancelled; possibly-sent when delivery was interrupted after its
//     commit point, so the server may have accepted the message.
//   - Exactly once as far as SMTP allows: a job is marked sending durably
//     before submission, and its commit point is recorded durably too
//     (Record.Committed, fsync'd): the moment after the whole message was
//     written and right before the end of data (the final "." of DATA or
//     an empty "BDAT 0 LAST"), through BeforeCommit, which the SubmitFunc
//     passes as send.Options.BeforeCommit. Only the end of data makes a
//     server take a message; before it, a dropped connection makes the
//     server discard what it got. So a job found in sending with no
//     process holding its lock (a crash) goes back to queued and is
//     retried by itself (audited as send.interrupted) when it died before
//     its commit point, and becomes possibly-sent only when it died after
//     it, before the server's reply was recorded; a possibly-sent job is
//     resent only after ConfirmResend, or automatically when
//     Options.AutoResend (policy) says so. A resend always uses the same
//     stored bytes and so the same Message-ID, so receivers show it as a
//     duplicate, never as a new document, and an acknowledgement of that
//     Message-ID settles whether the first copy arrived.
//   - One process at a time delivers a given job (an exclusive lock on its
//     message file); metadata changes are serialised by a lock on the
//     directory, so the GUI, "securesend send" and "outbox run --watch" can
//     share one outbox.
//   - With an audit log, every enqueue, attempt and outcome is recorded:
//     addresses, Message-ID, document hashes, server reply, never content.
//
// It refuses: removing a job that is still to be delivered (cancel it
// first), resending a possibly-sent job without confirmation, and reading a
// store encrypted with another key (ErrWrongKey).
package outbox
