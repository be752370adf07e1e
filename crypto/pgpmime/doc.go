// Package pgpmime is securesend's RFC 3156 (OpenPGP/MIME) layer: it writes
// multipart/signed and multipart/encrypted entities around a MIME entity
// produced by a callback, streaming, and splits received multipart bodies
// into their exact raw parts so a detached signature can be checked over
// the very bytes that are displayed.
//
// Writing: the signed entity is canonicalized to CRLF line endings before
// it is hashed and written (RFC 3156 section 5), and signed with a detached
// binary signature, micalg=pgp-sha256. Encryption is the combined form of
// RFC 3156 section 6.2: one OpenPGP message that is signed and encrypted
// (what "gpg --sign --encrypt" produces), inside the standard
// multipart/encrypted structure, so one pass over the data does both.
// Header protection: ProtectHeaders copies the real header fields into
// the inner entity and marks it hp="clear" or hp="cipher" (RFC 9788) and
// protected-headers="v1" (the earlier scheme).
//
// Reading: RawReader yields each part of a multipart body byte for byte
// (the CRLF before a boundary delimiter belongs to the delimiter, RFC 2046
// 5.1.1), and reports a missing close delimiter as truncation.
// ArmorReader and Base64Reader decode ASCII armor and MIME base64 in large
// chunks without per-line allocation.
//
// Armor is written with CRLF line endings and with the CRC-24 line (RFC
// 9580 section 6.1 makes it optional, but GnuPG 2.2 misreads an unpadded
// block without it), and read ignoring it.
package pgpmime
