// Package oauth signs a user in to Microsoft 365, Google or another OAuth 2.0
// identity provider in the system browser, so that the organisation's
// multi-factor authentication applies, and keeps the resulting access tokens
// fresh for XOAUTH2/OAUTHBEARER on SMTP and IMAP.
//
// Promises:
//   - Login uses the authorization code flow with PKCE (RFC 7636, S256) and a
//     random state, with a one-shot redirect listener on 127.0.0.1 at a
//     random port (RFC 8252 section 7.3). A callback with the wrong state is
//     refused and ends the sign-in; nothing is exchanged.
//   - The refresh token is handed to a RefreshStore (the OS keychain in
//     securesend) and nowhere else; access tokens live only in memory.
//   - An expired or revoked refresh token yields ErrSignInAgain; a user who
//     declines consent yields ErrDenied; an unreachable or failing token
//     endpoint yields ErrUnreachable or ErrProvider.
//   - Token and authorization endpoints must be https, except on loopback
//     addresses (tests, local identity providers).
//   - Errors carry the provider's error code and description, never a code,
//     token or client secret.
package oauth
