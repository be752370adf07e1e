package imapbound

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// serve wraps the client end of a pipe in a Conn and has the server end
// write script once the client's command arrived.
func serve(t *testing.T, lim Limits, script string) *Conn {
	t.Helper()
	client, server := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	go func() {
		io.WriteString(server, "* OK hi\r\n") //nolint:errcheck // the test reads
		buf := make([]byte, 64)
		if _, err := server.Read(buf); err != nil { // the command
			return
		}
		io.WriteString(server, script) //nolint:errcheck // the test reads
	}()
	return New(client, lim)
}

// TestAttackUntaggedBudget: untagged responses other than FETCH, each
// under the line limit, count against MaxUntagged until a command
// completes; FETCH responses (handed to the caller one at a time) do not.
func TestAttackUntaggedBudget(t *testing.T) {
	flood := strings.Repeat("* SEARCH 1 3 5 7 9 11 13 15 17 19\r\n", 200) // 7,000 bytes
	fetches := strings.Repeat("* 1 FETCH (UID 1 BODY[] {10}\r\n0123456789)\r\n", 500)
	for _, tc := range []struct {
		name, script string
		want         error
	}{
		{"search flood", flood + "A1 OK done\r\n", ErrUntaggedFlood},
		{"exists flood", strings.Repeat("* 1 EXISTS\r\n", 1000) + "A1 OK done\r\n", ErrUntaggedFlood},
		{"fetches", fetches + "A1 OK done\r\n", nil},
		{"reset by completion", flood[:3500] + "A0 OK done\r\n" + flood[:3500] + "A1 OK done\r\n", nil},
		{"continuation lines", strings.Repeat("+ more\r\n", 1000) + "A1 OK done\r\n", ErrUntaggedFlood},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := serve(t, Limits{MaxUntagged: 5000, Timeout: 5 * time.Second}, tc.script)
			buf := make([]byte, 64)
			if _, err := c.Read(buf); err != nil { // the greeting
				t.Fatal(err)
			}
			if _, err := io.WriteString(c, "A1 NOOP\r\n"); err != nil {
				t.Fatal(err)
			}
			var err error
			total := 0
			for {
				var n int
				n, err = c.Read(buf)
				total += n
				if err != nil || !c.awaiting() {
					break
				}
			}
			if tc.want == nil {
				if err != nil || c.awaiting() {
					t.Fatalf("err %v after %d bytes, awaiting %v", err, total, c.awaiting())
				}
				return
			}
			if !errors.Is(err, tc.want) || !errors.Is(c.Err(), tc.want) {
				t.Fatalf("err = %v (Err %v), want %v", err, c.Err(), tc.want)
			}
		})
	}
}
