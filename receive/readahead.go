package receive

import "io"

// aheadReader reads its source in a goroutine, up to depth chunks ahead of
// the caller, so that producing the data (reading and de-armoring the
// message, decrypting it) and consuming it (parsing, hashing) run on two
// cores instead of one after the other. Memory is bounded by
// (depth+1) chunks. Close must be called once the caller is done (usually
// after reading to EOF); it stops the goroutine and waits for it, so the
// source and whatever it shares may be used again afterwards.
type aheadReader struct {
	ch     chan aheadChunk
	free   chan []byte
	done   chan struct{}
	exited chan struct{}
	cur    []byte // unread part of the current chunk
	buf    []byte // the current chunk's buffer, to return to free
	err    error  // the error after the current chunk
	closed bool
}

type aheadChunk struct {
	data []byte
	err  error
}

// readAhead starts reading r in chunks of size bytes, depth chunks ahead.
func readAhead(r io.Reader, size, depth int) *aheadReader {
	a := &aheadReader{
		ch:     make(chan aheadChunk, depth),
		free:   make(chan []byte, depth+1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	for range depth + 1 {
		a.free <- make([]byte, size)
	}
	go a.run(r)
	return a
}

func (a *aheadReader) run(r io.Reader) {
	defer close(a.exited)
	for {
		var buf []byte
		select {
		case buf = <-a.free:
		case <-a.done:
			return
		}
		// Fill buf, passing the source's error on as it is: not
		// io.ReadFull, which would report a source's io.EOF after a
		// partial chunk as io.ErrUnexpectedEOF (and turning that back
		// into io.EOF would also hide a source's own truncation error).
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var k int
			k, err = r.Read(buf[n:])
			n += k
		}
		select {
		case a.ch <- aheadChunk{buf[:n], err}:
		case <-a.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (a *aheadReader) Read(p []byte) (int, error) {
	for len(a.cur) == 0 {
		if a.buf != nil {
			a.free <- a.buf[:cap(a.buf)] // never blocks: free holds every buffer
			a.buf = nil
		}
		if a.err != nil {
			return 0, a.err
		}
		c := <-a.ch
		a.cur, a.buf, a.err = c.data, c.data, c.err
	}
	n := copy(p, a.cur)
	a.cur = a.cur[n:]
	return n, nil
}

// Close stops reading ahead and waits until the goroutine has ended.
func (a *aheadReader) Close() error {
	if !a.closed {
		a.closed = true
		close(a.done)
		<-a.exited
	}
	return nil
}
