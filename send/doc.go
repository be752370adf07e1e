// Package send composes a secure message of scanned documents and submits it
// over TLS-enforced SMTP.
//
// Promises:
//   - Mail leaves only over TLS 1.2 or later (1.3 if asked) with a verified
//     certificate: implicit TLS (port 465, the default, RFC 8314) or STARTTLS
//     (RFC 3207). If STARTTLS is not offered or fails, or the negotiated
//     version is below the minimum, Submit stops before AUTH and before any
//     content is sent. There is no plaintext fallback and no "connect anyway".
//   - AUTH happens only inside TLS. REQUIRETLS (RFC 8689) is requested when the
//     server offers it; Options.RequireTLS makes its absence an error.
//   - Documents are streamed from disk; a 200 MB scan is never held in memory.
//     Send declares an upper bound of the size (SIZE, RFC 1870), so a server
//     with a lower limit refuses before the upload.
//   - Errors are typed (see Error and the Err* kinds) and carry the server's
//     text, never a password or token. Bad input is refused before any
//     connection with an error wrapping ErrInvalidMessage.
//
// It refuses: plaintext servers, TLS below 1.2, untrusted or mismatched
// certificates, header values containing CR or LF.
package send
