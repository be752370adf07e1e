package audit

// SealForTest returns e as a sealed log line (with its newline) with a
// plain SHA-256 hash and no MAC, as an older securesend wrote it, and as an
// attacker who knows the format but not the key can.
func SealForTest(e Entry) string {
	if err := e.seal(); err != nil {
		panic(err)
	}
	b, _ := e.line()
	return string(b)
}

// HeadNameForTest is the keychain entry holding l's head.
func HeadNameForTest(l *Log) string { return l.headName }

// KeyNameForTest is the keychain entry holding l's HMAC key.
func KeyNameForTest(l *Log) string { return l.keyName }

// SealKeyedForTest returns e as a log line keyed with key, for tests that
// need an entry securesend would write without going through Append.
func SealKeyedForTest(e Entry, key []byte) string {
	if err := e.sealKeyed(key); err != nil {
		panic(err)
	}
	b, _ := e.line()
	return string(b)
}
