package audit

import (
	"bytes"
	"testing"
	"time"
)

// FuzzParseLine: no line makes the parser panic, and every line it accepts
// is exactly what securesend would write for that entry.
func FuzzParseLine(f *testing.F) {
	e := Entry{Seq: 1, Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Kind: SendSent, Fields: Fields{"to": "a@b.example"}, PrevHash: genesis}
	e.seal()
	good, _ := e.line()
	f.Add(bytes.TrimSuffix(good, []byte("\n")))
	f.Add([]byte(`{"seq":1}`))
	f.Add([]byte(`{}`))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseLine(b)
		if err != nil {
			return
		}
		again, err := got.line()
		if err != nil || !bytes.Equal(again, append(bytes.Clone(b), '\n')) {
			t.Fatalf("accepted %q, which re-encodes as %q", b, again)
		}
	})
}
