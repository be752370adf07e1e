// Package receive verifies received securesend mail and reports one verdict.
//
// Verify parses an RFC 5322 message (PGP/MIME per RFC 3156, or plain mail),
// decrypts it with the user's key when it is encrypted, checks the signature
// against the local key store, and returns a Report whose Verdict is exactly
// one of Verified, UnknownSigner, NotSigned, BadSignature, CannotDecrypt or
// SenderMismatch.
//
// Promises:
//   - Verified only when the message decrypts (if encrypted), the signature
//     is good, the signer's key is pinned, a user ID of that key carries the
//     From address, and the signature covers every part that is shown
//     (the note and every document). Anything outside the signed entity
//     makes the message not Verified.
//   - HTML is never rendered: text/html parts are reported as
//     "HTML part not displayed" and never returned as text.
//   - Document contents are streamed to a caller-provided DocumentSink
//     (DirSink writes them to a directory, never overwriting), never held
//     whole in memory; their names are sanitized (SanitizeName: no path
//     components, no control or bidi characters) before the sink sees them.
//   - Report.SubjectSigned says whether the Subject shown was covered by
//     the signature (protected headers) or is the unprotected outer one.
//   - Both RFC 3156 forms are read: multipart/signed, multipart/encrypted
//     with a signed OpenPGP message inside (section 6.2, what securesend
//     and "gpg --sign --encrypt" write) or with a multipart/signed entity
//     inside (section 6.1).
//   - Hostile input (truncated messages, garbage armor, tampered
//     ciphertext, compression bombs, deeply nested MIME) never panics and
//     is never Verified: error returns are for I/O failures only, every
//     cryptographic outcome is a Verdict.
package receive
