package send

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"
)

// TestSubmitCommitPoint: Options.BeforeCommit comes after every byte of
// the message reached the server and before the end of data (the final
// "." of DATA, "BDAT 0 LAST"), exactly once; when it fails, the end of
// data never goes out, so the server discards the message, and Submit
// fails at stage "data" (retry safe) wrapping the hook's error.
func TestSubmitCommitPoint(t *testing.T) {
	hookErr := errors.New("disk full")
	for _, tc := range []struct {
		name    string
		exts    string
		size    int
		hookErr error
	}{
		{"DATA", "PIPELINING SIZE_100000000", 300_000, nil},
		{"DATA, the commit point fails", "PIPELINING", 300_000, hookErr},
		{"DATA, message not ending in CRLF", "", 5000, nil},
		{"BDAT", "CHUNKING PIPELINING", bdatChunk + 5000, nil},
		{"BDAT, no PIPELINING", "CHUNKING", 2 * bdatChunk, nil},
		{"BDAT, the commit point fails", "CHUNKING PIPELINING", bdatChunk + 5000, hookErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &hostile{implicit: true, tlsEHLO: tc.exts}
			addr := h.start(t)
			msg := attackBody(tc.size)
			if tc.name == "DATA, message not ending in CRLF" {
				msg = bytes.TrimRight(msg, "\r\n")
			}
			want := bytes.TrimRight(msg, "\r\n")
			calls := 0
			opts := Options{Server: addr, RootCAs: testCA().Pool(), Timeout: 5 * time.Second}
			opts.BeforeCommit = func() error {
				calls++
				// Every byte was written before: the server receives it
				// all without anything more from the client.
				deadline := time.Now().Add(5 * time.Second)
				for {
					h.mu.Lock()
					got, done := bytes.TrimRight(h.body.Bytes(), "\r\n"), h.gotDot || h.gotLast
					h.mu.Unlock()
					if done {
						t.Error("the end of data went out before the commit point")
						break
					}
					if bytes.Equal(got, want) {
						break
					}
					if time.Now().After(deadline) {
						t.Errorf("at the commit point the server has %d of the %d bytes of the message", len(got), len(want))
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				return tc.hookErr
			}
			res, err := Submit(context.Background(), opts, attackEnvelope, bytes.NewReader(msg))
			if calls != 1 {
				t.Errorf("commit point reached %d times, want once", calls)
			}
			h.idle()
			h.mu.Lock()
			done := h.gotDot || h.gotLast
			h.mu.Unlock()
			if tc.hookErr != nil {
				var se *Error
				if !errors.Is(err, ErrTemporary) || !errors.Is(err, tc.hookErr) || !errors.As(err, &se) || se.Stage != "data" {
					t.Fatalf("Submit = %v, want a temporary failure at stage data wrapping %v", err, tc.hookErr)
				}
				if done {
					t.Error("the end of data was sent although the commit point failed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !done || res.Size != int64(len(msg)) {
				t.Errorf("end of data received %v, size %d; want true, %d", done, res.Size, len(msg))
			}
		})
	}
}
