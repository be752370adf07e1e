// Package account keeps the user's mailboxes: for each, the submission
// server (SMTP), the retrieval server (IMAP), how TLS is set up for each,
// an optional private CA, the user name and the way to sign in (password or
// OAuth 2.0 with Microsoft 365, Google or another identity provider).
//
// It is its own package because both sending (package send) and receiving
// (package receive) use the same account, and it belongs to neither.
//
// Promises:
//   - Settings live in accounts.json in the securesend home (mode 0600);
//     secrets (passwords, OAuth refresh tokens, client secrets) live only in
//     the OS keychain. No secret is written to a file or appears in an error.
//   - When the keychain is unavailable or locked, every operation that needs
//     a secret fails with an error wrapping keychain.ErrUnavailable; there is
//     no plaintext fallback. Removing an account removes its keychain
//     entries first and keeps the account if that fails.
//   - Connections use TLS 1.2 or later with a verified certificate (system
//     roots plus the account's CA file): implicit TLS, or STARTTLS that must
//     succeed before any credential is sent.
package account
