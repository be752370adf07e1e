package audit

// SealForTest returns e as a sealed log line (with its newline), for tests
// that forge entries the way an attacker who knows the format would.
func SealForTest(e Entry) string {
	if err := e.seal(); err != nil {
		panic(err)
	}
	b, _ := e.line()
	return string(b)
}

// HeadNameForTest is the keychain entry holding l's head.
func HeadNameForTest(l *Log) string { return l.headName }
