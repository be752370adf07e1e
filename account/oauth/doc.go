// Package oauth signs a user in to Microsoft 365, Google or another OAuth 2.0
// identity provider in the system browser, so that the organisation's
// multi-factor authentication applies, and keeps the resulting access tokens
// fresh for XOAUTH2/OAUTHBEARER on SMTP and IMAP.
//
// Promises:
//   - Login uses the authorization code flow with PKCE (RFC 7636, S256) and a
//     random state, with a redirect listener on 127.0.0.1 at a random port
//     (RFC 8252 section 7.3) that lives for one sign-in. A request without
//     the right state (a stray or forged redirect) gets 400 and the sign-in
//     keeps waiting for the real one; nothing is exchanged for it.
//   - The listener answers only requests whose Host is 127.0.0.1:PORT or
//     localhost:PORT; any other (a web page that made its own name
//     resolve to this computer, DNS rebinding) gets 400 and changes
//     nothing.
//   - The browser is given a one-time local start page, not the provider's
//     URL, so the state and PKCE challenge never appear on a command line;
//     a second request for that page stops the sign-in (ErrIntercepted).
//     Residual risk: another local user who reads the browser's command
//     line and fetches the start page first gets the provider's URL; the
//     user's browser then stops the sign-in, unless the attacker completed
//     a whole sign-in with an account of their own before the browser
//     asked for the page. The identity check (Identities, always set by
//     securesend) then refuses that account.
//   - Token endpoint answers are read up to 1 MiB (golang.org/x/oauth2);
//     a larger one fails the exchange or refresh.
//   - With LoginOptions.Identities, the ID token must name the account's
//     user, or the sign-in fails with ErrWrongUser and returns no token.
//     Only claims the provider vouches for count: email when
//     email_verified is true (Google), and preferred_username or upn only
//     when the token endpoint is Microsoft Entra ID's (login.microsoftonline
//     .com and its national clouds). Microsoft's email claim, which comes
//     without email_verified and can be set to any address by a user or
//     tenant admin ("nOAuth"), never counts; nor does another provider's
//     preferred_username, which is free text.
//   - A RefreshStore that is also a RefreshLocker is refreshed under its
//     lock (load, refresh, save), so processes sharing it never spend one
//     rotating refresh token twice; an invalid_grant after another process
//     rotated the token is retried once with the new one.
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
