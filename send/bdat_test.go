package send

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBDATWithoutPipelining: a server that offers CHUNKING but not
// PIPELINING gets each BDAT chunk only after it replied to the one before
// (RFC 3030 section 4.2 allows pipelining BDAT only with PIPELINING), and
// the chunks put together are the message, byte for byte.
func TestBDATWithoutPipelining(t *testing.T) {
	leaf, err := testCA().Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var (
		mu       sync.Mutex
		got      bytes.Buffer
		chunks   int
		early    bool // the client sent before the reply to its last chunk
		protoErr error
	)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(c)
		fail := func(format string, args ...any) {
			mu.Lock()
			protoErr = fmt.Errorf(format, args...)
			mu.Unlock()
		}
		io.WriteString(c, "220 mx.test ESMTP\r\n")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			cmd := strings.TrimRight(line, "\r\n")
			switch f := strings.Fields(cmd); {
			case strings.HasPrefix(cmd, "EHLO"):
				io.WriteString(c, "250-mx.test\r\n250-CHUNKING\r\n250 SIZE 100000000\r\n")
			case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
				io.WriteString(c, "250 2.0.0 OK\r\n")
			case len(f) >= 2 && f[0] == "BDAT":
				n, err := strconv.Atoi(f[1])
				if err != nil {
					fail("bad BDAT %q", cmd)
					return
				}
				chunk := make([]byte, n)
				if _, err := io.ReadFull(r, chunk); err != nil {
					fail("chunk: %v", err)
					return
				}
				// Before replying: nothing more may have come.
				c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
				if _, err := r.Peek(1); err == nil {
					mu.Lock()
					early = true
					mu.Unlock()
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				mu.Lock()
				got.Write(chunk)
				chunks++
				mu.Unlock()
				if len(f) == 3 && f[2] == "LAST" {
					io.WriteString(c, "250 2.0.0 Ok: queued as ABC123\r\n")
				} else {
					io.WriteString(c, "250 2.0.0 chunk OK\r\n")
				}
			case cmd == "QUIT":
				io.WriteString(c, "221 2.0.0 Bye\r\n")
				return
			default:
				fail("unexpected %q", cmd)
				io.WriteString(c, "500 5.5.1 unexpected\r\n")
			}
		}
	}()
	msg := chunkingMessage("a@test", "b@test", "nopipe@test", 2*bdatChunk+12345)
	opts := Options{Server: l.Addr().String(), RootCAs: testCA().Pool(), Timeout: 10 * time.Second}
	res, err := Submit(context.Background(), opts, Envelope{From: "a@test", To: []string{"b@test"}}, bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if protoErr != nil {
		t.Fatal(protoErr)
	}
	if early {
		t.Error("the client sent the next chunk before the reply to the last one, without PIPELINING")
	}
	// Three chunks of the message and the empty BDAT 0 LAST.
	if chunks != 4 || !bytes.Equal(got.Bytes(), msg) || res.QueueID != "ABC123" || res.Size != int64(len(msg)) {
		t.Errorf("%d chunks, %d bytes (want 4, %d, equal), queue ID %q, size %d", chunks, got.Len(), len(msg), res.QueueID, res.Size)
	}
}
