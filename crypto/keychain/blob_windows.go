//go:build windows

package keychain

// maxBlob is CRED_MAX_CREDENTIAL_BLOB_SIZE: Windows' Credential Manager
// (and go-keyring before it) refuses a credential of more than 2560 bytes.
const maxBlob = 2560
