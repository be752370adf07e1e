// Package receive verifies received securesend mail and reports one verdict.
//
// Verify parses an RFC 5322 message (PGP/MIME per RFC 3156, or plain mail),
// decrypts it with the user's key when it is encrypted, checks the signature
// against the local key store, and returns a Report whose Verdict is exactly
// one of Verified, UnknownSigner, NotSigned, NotAddressed, BadSignature,
// CannotDecrypt or SenderMismatch. docs/verification.md is the safety case:
// every condition, its verdict, colour and what the pharmacist can do.
//
// Promises:
//   - Verified only when the message decrypts (if encrypted), the signature
//     is good and passes the same key checks as go-crypto's own (revoked or
//     expired key, subkey or user ID, critical notations, signature
//     expiry), the signer's key is pinned and bound (by the user, not by
//     the key's own claims) to the From address shown, no other key is
//     pinned for that address, the signed recipients (if the signature
//     names any) include one of the user's addresses, and the signature
//     covers every part that is shown (the note and every document).
//     Anything outside the signed entity makes the message not Verified.
//   - Release after the verdict: the note is held in memory and the
//     documents are staged, encrypted under a key that exists only in
//     memory, in a private directory removed before Verify returns. Only a
//     Releasable verdict (anything but CannotDecrypt and BadSignature)
//     releases them to the DocumentSink and the Report; otherwise the
//     Report is Withheld: no note, no documents, only the outer header
//     fields. DirSink never shows a partial file under its final name.
//   - Header fields shown come from the signed part when it declares
//     protected header fields (RFC 9788 "hp", or the legacy
//     protected-headers="v1"); outer values that differ are listed as
//     Unprotected, never merged. Report.Signed says which fields a good
//     signature covers; a field in an unsigned container is never signed.
//   - The signed manifest (docs/manifest.md) must match: a message whose
//     signed part carries a manifest is BadSignature (withheld) unless
//     there is exactly one, inside the signed content, valid, naming the
//     message's Message-ID and signed To and Cc, and listing exactly its
//     documents (name, type, size, SHA-256, in order). A manifest that
//     passes is Report.Manifest; it is never a document nor the note. A
//     signed message without one is judged as before, with a remark.
//   - HTML is never rendered: text/html parts are reported as
//     "HTML part not displayed" and never returned as text.
//   - Document names are sanitized (SanitizeName: no path components, no
//     control or bidi characters, no Windows device names) before the
//     sink sees them; contents are streamed, never held whole in memory.
//   - Both RFC 3156 forms are read: multipart/signed, multipart/encrypted
//     with a signed OpenPGP message inside (section 6.2, what securesend
//     and "gpg --sign --encrypt" write) or with a multipart/signed entity
//     inside (section 6.1).
//   - Hostile input (truncated messages, garbage armor, tampered
//     ciphertext, compression bombs and nested compression, oversized
//     headers, deeply nested MIME) never panics and is never Verified: the
//     plaintext of a message is bounded by max(64 MiB, 32 times its
//     ciphertext), at most 1 GiB; every header section read is bounded to
//     1 MiB. Error returns are for I/O failures only, every cryptographic
//     outcome is a Verdict.
package receive
