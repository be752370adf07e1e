package audit_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/securesend/securesend/audit"
)

// BenchmarkAppend measures one Append on the real keychain (run under
// scripts/with-keyring.sh): every entry reads the key and the head from
// the keychain and moves the head.
func BenchmarkAppend(b *testing.B) { benchAppend(b, false) }

// BenchmarkAppendHeld measures Append inside a Hold, as the inbox watch
// appends during a round: the keychain is read once and the head moved
// every MaxUnanchored entries and at release.
func BenchmarkAppendHeld(b *testing.B) { benchAppend(b, true) }

func benchAppend(b *testing.B, held bool) {
	kc := newKeychain(b)
	l, err := audit.Open(b.TempDir()+"/audit.log", kc, audit.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { kc.Delete(audit.HeadNameForTest(l)); kc.Delete(audit.KeyNameForTest(l)) })
	if _, err := l.Append(audit.Event{Kind: audit.SendAttempt}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if held {
		release := l.Hold()
		defer func() {
			if err := release(); err != nil {
				b.Fatal(err)
			}
		}()
	}
	for i := range b.N {
		_, err := l.Append(audit.Event{Kind: audit.ReceiveVerified, Fields: audit.Fields{
			"from":       "alice@clinic.example",
			"message_id": fmt.Sprintf("m%d@clinic.example", i),
			"sha256":     strings.Repeat("ab", 32),
		}})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendRound measures a Hold with one Append in it and its
// release: a watch round that takes in one message.
func BenchmarkAppendRound(b *testing.B) {
	kc := newKeychain(b)
	l, err := audit.Open(b.TempDir()+"/audit.log", kc, audit.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { kc.Delete(audit.HeadNameForTest(l)); kc.Delete(audit.KeyNameForTest(l)) })
	if _, err := l.Append(audit.Event{Kind: audit.SendAttempt}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		release := l.Hold()
		_, err := l.Append(audit.Event{Kind: audit.ReceiveVerified, Fields: audit.Fields{
			"from":       "alice@clinic.example",
			"message_id": fmt.Sprintf("m%d@clinic.example", i),
		}})
		if err != nil {
			b.Fatal(err)
		}
		if err := release(); err != nil {
			b.Fatal(err)
		}
	}
}
